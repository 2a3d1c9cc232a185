// Helpers shared by the commands that talk to a running node: finding the
// root, connecting, turning errors into messages and exit codes, reading Term
// arguments and printing Terms as YAML text or JSON.
//
// Only command runners call these (they print). Not thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "command.h"
#include "exit_status.h"
#include "node/control_client.h"
#include "relup/status.h"
#include "relup/term.h"

namespace relup::cli {

// --root made absolute and normalized; InvalidArgument when empty.
Result<std::string> ResolveRoot(const std::string& root);

// Prints "relup CMD: MESSAGE" to stderr and returns the exit status for it
// (kExitNoNode for an unreachable node, kExitFailure otherwise).
int ReportError(std::string_view cmd, const Status& status);
// That exit status alone: kExitNoNode for Unavailable, else kExitFailure.
int ErrorExit(const Status& status);
// The same for a bad argument: always kExitUsage.
int UsageError(std::string_view cmd, const Status& status);
// The same with the exit status, the step that failed and the outcome given.
// With JSON errors on (EnableJsonErrors) it also prints, on stdout, the
// report a node sends for a refusal (RefusedReport), with
//   "outcome": OUTCOME, "failures": [{"step": STEP, "reason": {"code", "message"}, ...}]
// OUTCOME is "refused" (nothing was sent to the node, or it refused before
// any change) or "unknown" (the request was sent and no report came back).
int ReportFailure(std::string_view cmd, const Status& status, int exit, std::string_view step,
                  std::string_view outcome = "refused");
// For --json commands (apply, downgrade): every error from then on is also
// printed as that JSON object, so a pipeline always reads one object on
// stdout, with the same keys as the node's report.
void EnableJsonErrors();

// How long a command waits for its node to send something before it gives
// up (ControlClient::set_reply_timeout): kReplyTimeout plus what the request
// itself may legitimately take (`request_may_take`, e.g. a call's own
// timeout), or no limit with kNoReplyLimit (apply and downgrade: the node
// bounds every step itself and reports progress). RELUP_REPLY_TIMEOUT
// (seconds, 0: no limit) overrides both.
inline constexpr std::chrono::milliseconds kReplyTimeout{60000};
inline constexpr std::chrono::milliseconds kNoReplyLimit{-1};
// That reply timeout (0: no limit); InvalidArgument for a bad
// RELUP_REPLY_TIMEOUT. For a command that connects without WithNode.
Result<std::chrono::milliseconds> ReplyTimeout(std::chrono::milliseconds request_may_take);

// Resolves the root, connects, sets the reply timeout for a request that may
// take `request_may_take` and runs body with the client. Errors before body
// (no root, no node, a bad RELUP_REPLY_TIMEOUT) are reported here.
int WithNode(std::string_view cmd, const std::string& root,
             std::chrono::milliseconds request_may_take,
             const std::function<int(ControlClient& client)>& body);
// The same for a request the node answers at once.
inline int WithNode(std::string_view cmd, const std::string& root,
                    const std::function<int(ControlClient& client)>& body) {
  return WithNode(cmd, root, std::chrono::milliseconds(0), body);
}

// Sends a request; on success prints nothing and returns the value, on error
// reports it. Use with WithNode:
//   auto v = Ask(cmd, client, MakeRequest("ps")); if (!v) return v.exit;
struct Answer {
  Term value;
  int exit = kExitOk;
  explicit operator bool() const { return exit == kExitOk; }
};
Answer Ask(std::string_view cmd, ControlClient& client, const Term& request,
           const ControlClient::ProgressFn& on_progress = {});

// A Term given on the command line in its YAML text form; the error names
// the argument and shows the expected form.
Result<Term> ParseTermArgument(std::string_view text, std::string_view what);

// JSON text of a Term: nil -> null, atoms and strings -> strings, tuples and
// lists -> arrays, maps -> objects (non-string keys as their YAML text),
// binaries -> base64 strings, non-finite floats -> null.
std::string ToJson(const Term& term);

// Ok if `path` is a regular file this user can read; otherwise InvalidArgument
// saying why, the file named as `what`: "tarball x.tar.gz not found",
// "... cannot be read: Permission denied", "... is not a regular file".
Status CheckReadableFile(const std::string& path, const std::string& what);

// Prints one line to stdout.
void PrintLine(std::string_view text);

// Prints rows as left-aligned columns two spaces apart (rows[0] is the header).
void PrintTable(const std::vector<std::vector<std::string>>& rows);

// The runner of a command that asks the node for `cmd` and prints the answer:
// JSON with --json (`json_help` describes it), else `print_text(answer)`.
CommandRunner QueryCommand(CLI::App& sub, std::string cmd, std::string json_help,
                           std::function<void(const Term& answer)> print_text);

// The runner of a sys operation on named processes (suspend, resume): takes
// NAME|PID... and sends {cmd, targets, timeout_ms}; prints "DONE target" for
// each. `wait_help`, if not empty, adds --timeout (ms to wait per process).
CommandRunner TargetsCommand(CLI::App& sub, std::string cmd, std::string done,
                             std::string wait_help = {});

}  // namespace relup::cli
