#include "builder/diagnostics.h"

#include <algorithm>

namespace relup::build {
namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string SourceLoc::to_string() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

void Diagnostics::error(SourceLoc loc, std::string message, std::string fix) {
  items_.push_back({std::move(loc), std::move(message), std::move(fix)});
}

std::string Diagnostics::format() const {
  std::string out;
  for (const auto& d : items_) {
    out += d.loc.to_string() + ": error: " + d.message + "\n";
    if (!d.fix.empty()) out += "    fix: " + d.fix + "\n";
  }
  return out;
}

std::string ClosestWord(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string best;
  size_t limit = std::max<size_t>(2, word.size() / 3);
  size_t best_distance = limit + 1;
  for (std::string_view c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string UnknownModuleFix(const std::string& name, const std::vector<std::string_view>& known,
                             const std::string& where) {
  std::string near = ClosestWord(name, known);
  if (near.empty()) return "add " + name + " to " + where + ", or fix the module name";
  return "did you mean '" + near + "'? Otherwise add " + name + " to " + where;
}

}  // namespace relup::build
