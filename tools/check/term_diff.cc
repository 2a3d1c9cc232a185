#include "check/term_diff.h"

namespace relup::check {
namespace {

// A value on one line, cut to a readable length.
std::string Short(const Term& t) {
  std::string text = t.to_yaml();
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  constexpr size_t kMax = 120;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

std::string KeyText(const Term& key) {
  return key.is_atom()     ? std::string(key.as_atom())
         : key.is_string() ? key.as_string()
                           : Short(key);
}

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

struct Differ {
  std::vector<std::string> lines;
  size_t more = 0;
  size_t max_lines;

  void add(std::string line) {
    if (lines.size() < max_lines) {
      lines.push_back(std::move(line));
    } else {
      ++more;
    }
  }

  void diff(const std::string& path, const Term& want, const Term& got) {
    if (want == got) return;
    if (want.is_map() && got.is_map()) {
      for (const auto& [key, value] : want.entries()) {
        const Term* other = got.find(key);
        if (other == nullptr) {
          add("- " + Join(path, KeyText(key)) + ": " + Short(value));
        } else {
          diff(Join(path, KeyText(key)), value, *other);
        }
      }
      for (const auto& [key, value] : got.entries()) {
        if (want.find(key) == nullptr) add("+ " + Join(path, KeyText(key)) + ": " + Short(value));
      }
      return;
    }
    bool sequences = (want.is_list() && got.is_list()) || (want.is_tuple() && got.is_tuple());
    if (sequences && want.size() == got.size()) {
      for (size_t i = 0; i < want.size(); ++i) {
        diff(path + "[" + std::to_string(i) + "]", want[i], got[i]);
      }
      return;
    }
    add("~ " + (path.empty() ? std::string("(the whole state)") : path) + ": " + Short(want) +
        " -> " + Short(got));
  }
};

}  // namespace

std::vector<std::string> DiffTerms(const Term& want, const Term& got, size_t max_lines) {
  Differ d;
  d.max_lines = max_lines;
  d.diff("", want, got);
  if (d.more > 0) d.lines.push_back("(and " + std::to_string(d.more) + " more differences)");
  return d.lines;
}

}  // namespace relup::check
