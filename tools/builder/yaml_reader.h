// Reading hand-written YAML with diagnostics instead of exceptions: every
// check adds a Diagnostic (file:line:col, what, fix) and reading goes on, so
// one pass reports every problem. Internal to the builder.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/diagnostics.h"
#include "relup/term.h"

namespace relup::build {

class YamlReader {
 public:
  YamlReader(std::string file, Diagnostics* diags) : file_(std::move(file)), diags_(diags) {}

  const std::string& file() const { return file_; }
  SourceLoc loc(const YAML::Node& node) const;
  void error(const YAML::Node& node, std::string message, std::string fix);

  // `node` is a map; reports each key not in `known` (suggesting the closest
  // known key). False (and one diagnostic) if `node` is not a map.
  bool expect_map(const YAML::Node& node, std::string_view what,
                  const std::vector<std::string_view>& known);
  // A list (reported if present but not a list). Absent: an empty list.
  std::vector<YAML::Node> list(const YAML::Node& map, std::string_view key, std::string_view what);

  // A required scalar; reports a missing key or a non-scalar value.
  std::optional<std::string> required_string(const YAML::Node& map, std::string_view key,
                                             std::string_view what, std::string_view example);
  // An optional scalar: nullopt when absent (or reported when not a scalar).
  std::optional<std::string> optional_string(const YAML::Node& map, std::string_view key);
  // An optional integer in [min, max]; `example` (such as "5000") and `unit`
  // (such as "milliseconds") make the fix of a bad value concrete.
  std::optional<int64_t> optional_int(const YAML::Node& map, std::string_view key, int64_t min,
                                      int64_t max, std::string_view example, std::string_view unit);
  // A Term; nil when absent. Reports terms that do not convert.
  Term term(const YAML::Node& map, std::string_view key);
  // Checks a name used in paths (ValidatePathName); reports at `node`.
  bool check_name(const YAML::Node& node, std::string_view what, const std::string& value);

 private:
  std::string file_;
  Diagnostics* diags_;
};

}  // namespace relup::build
