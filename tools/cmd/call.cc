// relup call NAME|PID TERM: a synchronous request; prints the reply.
#include "cmd/node_client_util.h"
#include "command.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string root, target, request;
    int64_t timeout_ms = 5000;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  AddRootOption(sub, args->root);
  sub.add_option("target", args->target, "registered name or pid (<0.42.0>)")->required();
  sub.add_option("request", args->request, "the request term, e.g. '{add: 30000}'")->required();
  sub.add_option("--timeout", args->timeout_ms, "milliseconds to wait for the reply");
  sub.add_flag("--json", args->json, "print the reply as JSON");
  return [args] {
    auto request = ParseTermArgument(args->request, "request");
    if (!request.ok()) return UsageError("call", request.status());
    std::chrono::milliseconds wait(args->timeout_ms);  // the node waits that long
    return WithNode("call", args->root, wait, [&](ControlClient& client) {
      Answer a = Ask("call", client,
                     MakeRequest("call", {{Term::atom("target"), Term(args->target)},
                                          {Term::atom("request"), *request},
                                          {Term::atom("timeout_ms"), Term(args->timeout_ms)}}));
      if (!a) return a.exit;
      PrintLine(args->json ? ToJson(a.value) : a.value.to_yaml());
      return int{kExitOk};
    });
  };
}

RELUP_COMMAND("call", "send a request to a process and print its reply", Setup);

}  // namespace
}  // namespace relup::cli
