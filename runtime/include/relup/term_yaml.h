// Conversions between relup::Term and yaml-cpp nodes, for code that reads
// Terms embedded in larger YAML documents (release specs, appups).
//
// The rules are those of Term::parse (term.h): a plain scalar is resolved to
// nil, bool, int, float or :atom, else it is a string; a quoted scalar is
// always a string; a plain map key is an atom; !tuple, !atom and !!binary
// tags are understood. The node must come from yaml-cpp's parser (Load,
// LoadFile), which records whether a scalar was quoted in its Tag().
//
// relup_core uses yaml-cpp privately: a target including this header links
// yaml-cpp itself.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string_view>

#include "relup/status.h"
#include "relup/term.h"

namespace relup {

// Converts a parsed node. Errors read "<source_name>:<line>:<column>: why"
// (1-based, from node.Mark()), e.g. "demo-2.yaml:7:12: duplicate key :name".
Result<Term> TermFromYamlNode(const YAML::Node& node, std::string_view source_name);

// A node that TermFromYamlNode turns back into an equal Term. To write YAML
// text use Term::to_yaml(): yaml-cpp's emitter does not keep the quotes that
// tell the string "1" from the int 1.
YAML::Node TermToYamlNode(const Term& term);

}  // namespace relup
