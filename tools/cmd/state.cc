// relup state NAME|PID: a process's state, as the seed's :sys.get_state.
// With --resources: what the runtime keeps for it (links, monitors, timers,
// sockets, trap_exit), which lives beside the state and outlives upgrades.
#include "cmd/node_client_util.h"
#include "command.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string root, target;
    int64_t timeout_ms = 5000;
    bool json = false;
    bool resources = false;
  };
  auto args = std::make_shared<Args>();
  AddRootOption(sub, args->root);
  sub.add_option("target", args->target, "registered name or pid (<0.42.0>)")->required();
  sub.add_option("--timeout", args->timeout_ms, "milliseconds to wait for a message boundary");
  sub.add_flag("--json", args->json, "print the state as JSON");
  sub.add_flag("--resources", args->resources,
               "print what the runtime keeps for the process instead: its links, monitors, "
               "timers, sockets and trap_exit");
  return [args] {
    std::chrono::milliseconds wait(args->timeout_ms);  // the node waits that long
    const char* cmd = args->resources ? "resources" : "state";
    return WithNode("state", args->root, wait, [&](ControlClient& client) {
      Answer a = Ask("state", client,
                     MakeRequest(cmd, {{Term::atom("target"), Term(args->target)},
                                           {Term::atom("timeout_ms"), Term(args->timeout_ms)}}));
      if (!a) return a.exit;
      PrintLine(args->json ? ToJson(a.value) : a.value.to_yaml());
      return int{kExitOk};
    });
  };
}

RELUP_COMMAND("state", "print a process's state (as :sys.get_state)", Setup);

}  // namespace
}  // namespace relup::cli
