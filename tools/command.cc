#include "command.h"

#include <algorithm>
#include <cstdlib>

namespace relup::cli {

std::vector<Command>& CommandTable() {
  static std::vector<Command> table;
  return table;
}

CommandRegistrar::CommandRegistrar(std::string name, std::string help, CommandSetup setup) {
  auto& table = CommandTable();
  table.push_back({std::move(name), std::move(help), std::move(setup)});
  std::sort(table.begin(), table.end(),
            [](const Command& a, const Command& b) { return a.name < b.name; });
}

void AddRootOption(CLI::App& sub, std::string& root) {
  if (const char* env = std::getenv("RELUP_ROOT")) root = env;
  sub.add_option("--root", root, "node root directory (default: $RELUP_ROOT)");
}

}  // namespace relup::cli
