// relup: hot code upgrades for C++ services. The subcommands are in cmd/.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "command.h"

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

// "did you mean" for an unknown subcommand; empty if nothing is close.
std::string Closest(std::string_view word) {
  std::string best;
  size_t best_distance = 3;
  for (const auto& cmd : relup::cli::CommandTable()) {
    size_t d = EditDistance(word, cmd.name);
    if (d < best_distance) {
      best_distance = d;
      best = cmd.name;
    }
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace relup::cli;
  CLI::App app{"relup: hot code upgrades for C++ services", "relup"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "relup 0.1.0");

  if (argc > 1 && argv[1][0] != '-') {
    std::string_view word = argv[1];
    bool known = false;
    for (const auto& cmd : CommandTable()) known = known || cmd.name == word;
    if (!known) {
      std::fprintf(stderr, "relup: unknown command '%s'", argv[1]);
      std::string near = Closest(word);
      if (!near.empty()) std::fprintf(stderr, "; did you mean '%s'?", near.c_str());
      std::fprintf(stderr, "\nRun 'relup --help' for the list of commands.\n");
      return kExitUsage;
    }
  }

  std::vector<std::pair<CLI::App*, CommandRunner>> runners;
  for (const auto& cmd : CommandTable()) {
    CLI::App* sub = app.add_subcommand(cmd.name, cmd.help);
    runners.emplace_back(sub, cmd.setup(*sub));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  for (auto& [sub, run] : runners) {
    if (sub->parsed()) return run();
  }
  return kExitUsage;
}
