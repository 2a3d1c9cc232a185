#include "release/format_yaml.h"

#include "core/yaml_scalar.h"
#include "relup/term_yaml.h"

namespace relup::format {
namespace {

std::string Location(const YAML::Mark& mark, std::string_view source) {
  std::string where(source);
  if (mark.line >= 0) {
    where.append(":")
        .append(std::to_string(mark.line + 1))
        .append(":")
        .append(std::to_string(mark.column + 1));
  }
  return where;
}

}  // namespace

std::string Quote(std::string_view s) {
  return detail::DoubleQuote(s);
}

Result<YAML::Node> Load(std::string_view text, std::string_view source) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Status::Corruption(Location(e.mark, source) + ": malformed YAML: " + e.msg);
  }
}

Status ErrorAt(const YAML::Node& node, std::string_view source, const std::string& message) {
  return Status::Corruption(Location(node.Mark(), source) + ": " + message);
}

Status ExpectMap(const YAML::Node& node, std::string_view source, std::string_view what,
                 std::initializer_list<std::string_view> known) {
  if (!node.IsMap()) return ErrorAt(node, source, std::string(what) + " must be a map");
  for (const auto& entry : node) {
    std::string key = entry.first.Scalar();
    bool ok = false;
    for (std::string_view k : known) ok = ok || k == key;
    if (!ok)
      return ErrorAt(entry.first, source, "unknown key '" + key + "' in " + std::string(what));
  }
  return Status::Ok();
}

Status ExpectSequence(const YAML::Node& node, std::string_view source, std::string_view what) {
  if (!node.IsSequence()) return ErrorAt(node, source, std::string(what) + " must be a list");
  return Status::Ok();
}

Result<std::string> String(const YAML::Node& map, std::string_view key, std::string_view source) {
  YAML::Node value = map[std::string(key)];
  if (!value) return ErrorAt(map, source, "missing key '" + std::string(key) + "'");
  if (!value.IsScalar())
    return ErrorAt(value, source, std::string("'").append(key) + "' must be a string");
  return value.Scalar();
}

Result<std::string> String(const YAML::Node& map, std::string_view key, std::string_view source,
                           std::string fallback) {
  if (!map[std::string(key)]) return fallback;
  return String(map, key, source);
}

Result<int64_t> Int(const YAML::Node& map, std::string_view key, std::string_view source,
                    int64_t fallback) {
  YAML::Node value = map[std::string(key)];
  if (!value) return fallback;
  try {
    if (value.IsScalar()) return value.as<int64_t>();
  } catch (const YAML::Exception&) {
  }
  return ErrorAt(value, source, std::string("'").append(key) + "' must be an integer");
}

Result<bool> Bool(const YAML::Node& map, std::string_view key, std::string_view source,
                  bool fallback) {
  YAML::Node value = map[std::string(key)];
  if (!value) return fallback;
  try {
    if (value.IsScalar()) return value.as<bool>();
  } catch (const YAML::Exception&) {
  }
  return ErrorAt(value, source, std::string("'").append(key) + "' must be true or false");
}

Result<Term> TermField(const YAML::Node& map, std::string_view key, std::string_view source) {
  YAML::Node value = map[std::string(key)];
  if (!value) return Term();
  auto term = TermFromYamlNode(value, source);
  if (!term.ok()) return Status::Corruption(term.status().message());
  return term;
}

Status CheckFormat(const YAML::Node& root, std::string_view source, int expected) {
  RELUP_ASSIGN_OR_RETURN(int64_t format, Int(root, "format", source, -1));
  if (format == -1) return ErrorAt(root, source, "missing key 'format'");
  if (format != expected) {
    return ErrorAt(root["format"], source,
                   "format " + std::to_string(format) + " is not supported (this relup reads " +
                       std::to_string(expected) + "); rebuild the release with this relup");
  }
  return Status::Ok();
}

}  // namespace relup::format
