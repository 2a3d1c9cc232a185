// Build diagnostics: every problem `relup build` finds, each naming where
// (file:line:column, 1-based), what is wrong and how to fix it. The builder
// collects them all instead of stopping at the first, so one run shows
// everything to fix. A fix is required: error() takes no default for it, so a
// new check cannot forget to say how to mend what it reports.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace relup::build {

// A place in a source file. line 0: the whole file (no position).
struct SourceLoc {
  std::string file;
  int line = 0;
  int column = 0;

  std::string to_string() const;  // "file:line:col" or "file"
};

struct Diagnostic {
  SourceLoc loc;
  std::string message;  // what is wrong
  std::string fix;      // how to fix it
};

class Diagnostics {
 public:
  void error(SourceLoc loc, std::string message, std::string fix);

  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }

  // One "file:line:col: error: message\n    fix: fix\n" block per diagnostic.
  std::string format() const;
  // Every message and fix joined, for tests that look for a phrase.
  std::string text() const { return format(); }

 private:
  std::vector<Diagnostic> items_;
};

// The candidate closest to `word` by edit distance, if it is close enough to
// be a plausible typo (distance <= max(2, size/3)); empty otherwise. Every
// "did you mean" of relup uses it: unknown keys in build inputs and unknown
// subcommands of the CLI.
std::string ClosestWord(std::string_view word, const std::vector<std::string_view>& candidates);

// The fix for a module name that is not in a release: "did you mean 'NEAR'?
// Otherwise add NAME to WHERE" when one of `known` is close, else "add NAME
// to WHERE, or fix the module name".
std::string UnknownModuleFix(const std::string& name, const std::vector<std::string_view>& known,
                             const std::string& where);

}  // namespace relup::build
