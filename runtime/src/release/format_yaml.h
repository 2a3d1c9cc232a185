// Helpers shared by the machine-written YAML formats of a release
// (release.yaml, relup.yaml): canonical writing and strict reading.
//
// Reading is strict because these files are written by relup build, never by
// hand: an unknown key, a missing one or a wrong type is Corruption
// "SOURCE:LINE:COL: what is wrong" (1-based line and column).
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "relup/status.h"
#include "relup/term.h"

namespace relup::format {

// A double-quoted YAML scalar with the escapes of Term's text form
// (detail::DoubleQuote): reads back as exactly `s` when `s` is UTF-8; a byte
// that is not UTF-8 is written as its \xNN code point.
std::string Quote(std::string_view s);

// Parses one YAML document; malformed YAML is Corruption with its location.
Result<YAML::Node> Load(std::string_view text, std::string_view source);

// Corruption "SOURCE:LINE:COL: message" at `node` (no location if it has none).
Status ErrorAt(const YAML::Node& node, std::string_view source, const std::string& message);

// `node` must be a map whose keys are all in `known`. `what` names it in
// errors ("module entry").
Status ExpectMap(const YAML::Node& node, std::string_view source, std::string_view what,
                 std::initializer_list<std::string_view> known);
// `node` must be a sequence (an absent node reads as an empty sequence if
// `optional`).
Status ExpectSequence(const YAML::Node& node, std::string_view source, std::string_view what);

// Required (or, with a fallback, optional) fields of a map.
Result<std::string> String(const YAML::Node& map, std::string_view key, std::string_view source);
Result<std::string> String(const YAML::Node& map, std::string_view key, std::string_view source,
                           std::string fallback);
Result<int64_t> Int(const YAML::Node& map, std::string_view key, std::string_view source,
                    int64_t fallback);
Result<bool> Bool(const YAML::Node& map, std::string_view key, std::string_view source,
                  bool fallback);
// A Term written in its YAML text form; absent is nil.
Result<Term> TermField(const YAML::Node& map, std::string_view key, std::string_view source);

// Checks `format: N` is present and equal to `expected`.
Status CheckFormat(const YAML::Node& root, std::string_view source, int expected);

}  // namespace relup::format
