// relup resume NAME|PID...: resume suspended processes; their queued messages are handled in order.
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

  return [args] {
    return WithNode("resume", args->root, [&](ControlClient& client) {
      std::vector<Term> targets(args->targets.begin(), args->targets.end());
      Answer a = Ask("resume", client,
                     MakeRequest("resume", {{Term::atom("targets"), Term::list(std::move(targets))},
                                            {Term::atom("timeout_ms"), Term(args->timeout_ms)}}));
      if (!a) return a.exit;
      for (const std::string& t : args->targets) PrintLine("resumed " + t);
      return int{kExitOk};
    });
  };
}

RELUP_COMMAND("resume", "resume suspended processes; their queued messages are handled in order",
              Setup);

}  // namespace
}  // namespace relup::cli
