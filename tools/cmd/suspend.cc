// relup suspend NAME|PID...: suspend processes at their next message boundary (as :sys.suspend).
#include "cmd/node_client_util.h"
#include "command.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string root;
    std::vector<std::string> targets;
    int64_t timeout_ms = 5000;
  };
  auto args = std::make_shared<Args>();
  AddRootOption(sub, args->root);
  sub.add_option("targets", args->targets, "registered names or pids (<0.42.0>)")->required();
  sub.add_option("--timeout", args->timeout_ms, "milliseconds to wait for each message boundary");
  return [args] {
    return WithNode("suspend", args->root, [&](ControlClient& client) {
      std::vector<Term> targets(args->targets.begin(), args->targets.end());
      Answer a =
          Ask("suspend", client,
              MakeRequest("suspend", {{Term::atom("targets"), Term::list(std::move(targets))},
                                      {Term::atom("timeout_ms"), Term(args->timeout_ms)}}));
      if (!a) return a.exit;
      for (const std::string& t : args->targets) PrintLine("suspended " + t);
      return int{kExitOk};
    });
  };
}

RELUP_COMMAND("suspend", "suspend processes at their next message boundary (as :sys.suspend)",
              Setup);

}  // namespace
}  // namespace relup::cli
