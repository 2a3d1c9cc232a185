// relup resume NAME|PID...: resume suspended processes; their queued messages are handled in order.
#include "cmd/node_client_util.h"
#include "command.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  return TargetsCommand(sub, "resume", "resumed");
}

RELUP_COMMAND("resume", "resume suspended processes; their queued messages are handled in order",
              Setup);

}  // namespace
}  // namespace relup::cli
