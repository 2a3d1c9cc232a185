// relup: hot code upgrades for C++ services. The subcommands are in cmd/.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "builder/diagnostics.h"
#include "command.h"
#include "relup/version.h"

namespace {

// "did you mean" for an unknown subcommand; empty if nothing is close.
std::string Closest(std::string_view word) {
  std::vector<std::string_view> names;
  for (const auto& cmd : relup::cli::CommandTable()) names.push_back(cmd.name);
  return relup::build::ClosestWord(word, names);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace relup::cli;
  CLI::App app{"relup: hot code upgrades for C++ services", "relup"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "relup " RELUP_VERSION);

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
