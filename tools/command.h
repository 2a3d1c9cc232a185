// The relup CLI's subcommand table.
//
// Each subcommand lives in its own file under tools/cmd/ and adds itself to
// the table with RELUP_COMMAND(name, help, setup). `setup` declares the
// subcommand's options on the CLI11 app it is given and returns the function
// that runs it; that function returns an exit status (tools/exit_status.h)
// and is the only place that prints. Library code never prints or exits.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "exit_status.h"

namespace relup::cli {

using CommandRunner = std::function<int()>;
using CommandSetup = std::function<CommandRunner(CLI::App& sub)>;

struct Command {
  std::string name;
  std::string help;
  CommandSetup setup;
};

// Every registered command, sorted by name.
std::vector<Command>& CommandTable();

struct CommandRegistrar {
  CommandRegistrar(std::string name, std::string help, CommandSetup setup);
};

// Shared by commands that talk to a node: --root DIR (default $RELUP_ROOT).
void AddRootOption(CLI::App& sub, std::string& root);

}  // namespace relup::cli

#define RELUP_COMMAND_CONCAT_INNER_(a, b) a##b
#define RELUP_COMMAND_CONCAT_(a, b) RELUP_COMMAND_CONCAT_INNER_(a, b)
#define RELUP_COMMAND(name, help, setup)                                            \
  static ::relup::cli::CommandRegistrar RELUP_COMMAND_CONCAT_(relup_command_, __LINE__)( \
      name, help, setup)
