// relup spawn MODULE ARGS [--name NAME]: starts a process on the module's
// current version; prints its pid.
#include "cmd/node_client_util.h"
#include "command.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string root, module, init_args = "~", name;
  };
  auto args = std::make_shared<Args>();
  AddRootOption(sub, args->root);
  sub.add_option("module", args->module, "module name, e.g. demo_server")->required();
  sub.add_option("args", args->init_args, "init args term, e.g. '{name: blackode, money: 30000}'");
  sub.add_option("--name", args->name, "register the process under this name");
  return [args] {
    auto init = ParseTermArgument(args->init_args, "init args");
    if (!init.ok()) return UsageError("spawn", init.status());
    return WithNode("spawn", args->root, [&](ControlClient& client) {
      Answer a = Ask("spawn", client,
                     MakeRequest("spawn", {{Term::atom("module"), Term(args->module)},
                                           {Term::atom("args"), *init},
                                           {Term::atom("name"), Term(args->name)}}));
      if (!a) return a.exit;
      const Term* pid = a.value.find("pid");
      std::string line = pid && pid->is_string() ? pid->as_string() : a.value.to_yaml();
      if (!args->name.empty()) line += " " + args->name;
      PrintLine(line);
      return int{kExitOk};
    });
  };
}

RELUP_COMMAND("spawn", "start a process of a loaded module", Setup);

}  // namespace
}  // namespace relup::cli
