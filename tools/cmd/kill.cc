// relup kill NAME|PID [REASON]: send a process an exit signal, as Erlang's
// exit(Pid, Reason). REASON defaults to :kill, which cannot be trapped (the
// process ends with :killed); another reason ends a process that does not
// trap exits (except :normal, which it ignores) and reaches one that does as
// the message {exit: nil, reason: REASON}. Links and monitors see the end.
#include "cmd/node_client_util.h"
#include "command.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string root, target, reason = ":kill";
  };
  auto args = std::make_shared<Args>();
  AddRootOption(sub, args->root);
  sub.add_option("target", args->target, "registered name or pid (<0.42.0>)")->required();
  sub.add_option("reason", args->reason,
                 "the exit reason term (default :kill; e.g. :shutdown, '{why: maintenance}')");
  return [args] {
    auto reason = ParseTermArgument(args->reason, "reason");
    if (!reason.ok()) return UsageError("kill", reason.status());
    return WithNode("kill", args->root, [&](ControlClient& client) {
      Answer a = Ask("kill", client,
                     MakeRequest("kill", {{Term::atom("target"), Term(args->target)},
                                          {Term::atom("reason"), *reason}}));
      if (!a) return a.exit;
      PrintLine("sent exit signal " + reason->to_yaml() + " to " + args->target);
      return int{kExitOk};
    });
  };
}

RELUP_COMMAND("kill", "send a process an exit signal (default :kill) as Erlang's exit/2", Setup);

}  // namespace
}  // namespace relup::cli
