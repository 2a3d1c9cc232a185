#include "builder/yaml_reader.h"

#include <set>

#include "relup/release.h"
#include "relup/term_yaml.h"

namespace relup::build {
namespace {

std::string JoinKeys(const std::vector<std::string_view>& keys) {
  std::string out;
  for (auto k : keys) out += (out.empty() ? "" : ", ") + std::string(k);
  return out;
}

// TermFromYamlNode's message starts with "FILE:LINE:COL: "; the diagnostic
// carries the location itself.
std::string WithoutLocation(const std::string& message, const std::string& file) {
  if (message.rfind(file + ":", 0) != 0) return message;
  size_t pos = file.size() + 1;
  for (int field = 0; field < 2; ++field) {
    size_t colon = message.find(':', pos);
    if (colon == std::string::npos) return message;
    pos = colon + 1;
  }
  while (pos < message.size() && message[pos] == ' ') ++pos;
  return message.substr(pos);
}

}  // namespace

SourceLoc YamlReader::loc(const YAML::Node& node) const {
  YAML::Mark mark = node.Mark();
  if (mark.line < 0) return {file_, 0, 0};
  return {file_, mark.line + 1, mark.column + 1};
}

void YamlReader::error(const YAML::Node& node, std::string message, std::string fix) {
  diags_->error(loc(node), std::move(message), std::move(fix));
}

bool YamlReader::expect_map(const YAML::Node& node, std::string_view what,
                            const std::vector<std::string_view>& known) {
  if (!node.IsMap()) {
    error(node, std::string(what) + " must be a map of keys (" + JoinKeys(known) + ")",
          "write it as `key: value` lines");
    return false;
  }
  std::set<std::string> seen;
  for (const auto& entry : node) {
    std::string key = entry.first.Scalar();
    if (!seen.insert(key).second) {
      error(entry.first, "key '" + key + "' appears twice in " + std::string(what),
            "keep one of them: YAML would silently use only the first");
      continue;
    }
    bool ok = false;
    for (auto k : known) ok = ok || k == key;
    if (ok) continue;
    std::string near = ClosestWord(key, known);
    error(entry.first, "unknown key '" + key + "' in " + std::string(what),
          near.empty() ? "remove it; known keys are: " + JoinKeys(known)
                       : "did you mean '" + near + "'? (known keys: " + JoinKeys(known) + ")");
  }
  return true;
}

std::vector<YAML::Node> YamlReader::list(const YAML::Node& map, std::string_view key,
                                         std::string_view what) {
  std::vector<YAML::Node> items;
  YAML::Node node = map[std::string(key)];
  if (!node || node.IsNull()) return items;
  if (!node.IsSequence()) {
    error(node, std::string(what) + " must be a list",
          "write each item on a line starting with '- '");
    return items;
  }
  for (const auto& item : node) items.push_back(item);
  return items;
}

std::optional<std::string> YamlReader::required_string(const YAML::Node& map, std::string_view key,
                                                       std::string_view what,
                                                       std::string_view example) {
  YAML::Node node = map[std::string(key)];
  if (!node || node.IsNull()) {
    error(map, std::string(what) + " has no '" + std::string(key) + "'",
          "add `" + std::string(key) + ": " + std::string(example) + "`");
    return std::nullopt;
  }
  if (!node.IsScalar()) {
    error(node,
          std::string("'").append(key) + "' of " + std::string(what) + " must be a single value",
          "write it as `" + std::string(key) + ": " + std::string(example) + "`");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<std::string> YamlReader::optional_string(const YAML::Node& map,
                                                       std::string_view key) {
  YAML::Node node = map[std::string(key)];
  if (!node || node.IsNull()) return std::nullopt;
  if (!node.IsScalar()) {
    error(node, std::string("'").append(key) + "' must be a single value, not a list or map",
          "write it as `" + std::string(key) + ": VALUE`");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<int64_t> YamlReader::optional_int(const YAML::Node& map, std::string_view key,
                                                int64_t min, int64_t max, std::string_view example,
                                                std::string_view unit) {
  YAML::Node node = map[std::string(key)];
  if (!node || node.IsNull()) return std::nullopt;
  int64_t value = 0;
  bool ok = node.IsScalar() && YAML::convert<int64_t>::decode(node, value);
  if (!ok || value < min || value > max) {
    error(node,
          std::string("'").append(key) + "' must be an integer from " + std::to_string(min) +
              " to " + std::to_string(max) + ", not '" +
              (node.IsScalar() ? node.Scalar() : std::string("a list or map")) + "'",
          "write a whole number of " + std::string(unit) + ", e.g. `" + std::string(key) + ": " +
              std::string(example) + "`");
    return std::nullopt;
  }
  return value;
}

Term YamlReader::term(const YAML::Node& map, std::string_view key) {
  YAML::Node node = map[std::string(key)];
  if (!node) return Term();
  auto term = TermFromYamlNode(node, file_);
  if (!term.ok()) {
    error(node,
          std::string("'").append(key) +
              "' is not a valid term: " + WithoutLocation(term.status().message(), file_),
          "see the Term YAML form in the README (maps, lists, !tuple [...], :atom)");
    return Term();
  }
  return *std::move(term);
}

bool YamlReader::check_name(const YAML::Node& node, std::string_view what,
                            const std::string& value) {
  Status valid = ValidatePathName(what, value);
  if (valid.ok()) return true;
  error(node, valid.message(), "rename it: the name is used in file paths of the release");
  return false;
}

}  // namespace relup::build
