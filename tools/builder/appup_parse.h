// The `appup:` section of a release spec (see spec.h for its shape).
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "builder/spec.h"
#include "builder/yaml_reader.h"

namespace relup::build {

// Parses `node` (the value of `appup:`) into `appup`, reporting every problem
// through `r`: unknown keys, malformed instructions, bad version patterns, an
// entry for `release_vsn` itself, a version listed twice, a module with two
// instructions in one list. An entry refused for its version is kept with
// `refused` set, and a second instruction for a module with `duplicate` set,
// so that later checks still see what they say (see spec.h).
void ParseAppup(YamlReader& r, const YAML::Node& node, const std::string& release_vsn,
                Appup* appup);

}  // namespace relup::build
