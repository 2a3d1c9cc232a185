// relup cast NAME|PID TERM: an asynchronous message (handle_cast).
#include "cmd/node_client_util.h"
#include "command.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string root, target, message;
  };
  auto args = std::make_shared<Args>();
  AddRootOption(sub, args->root);
  sub.add_option("target", args->target, "registered name or pid (<0.42.0>)")->required();
  sub.add_option("message", args->message, "the message term, e.g. '{reset: true}'")->required();
  return [args] {
    auto message = ParseTermArgument(args->message, "message");
    if (!message.ok()) return UsageError("cast", message.status());
    return WithNode("cast", args->root, [&](ControlClient& client) {
      Answer a = Ask("cast", client,
                     MakeRequest("cast", {{Term::atom("target"), Term(args->target)},
                                          {Term::atom("message"), *message}}));
      return a.exit;
    });
  };
}

RELUP_COMMAND("cast", "send an asynchronous message to a process (handle_cast)", Setup);

}  // namespace
}  // namespace relup::cli
