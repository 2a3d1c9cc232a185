// relup suspend NAME|PID...: suspend processes at their next message boundary (as :sys.suspend).
#include "cmd/node_client_util.h"
#include "command.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  return TargetsCommand(sub, "suspend", "suspended",
                        "milliseconds to wait for each message boundary");
}

RELUP_COMMAND("suspend", "suspend processes at their next message boundary (as :sys.suspend)",
              Setup);

}  // namespace
}  // namespace relup::cli
