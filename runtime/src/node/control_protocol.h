// The wire format of a node's control socket (DIR/node.sock).
//
// A connection carries frames in both directions. A frame is a 4-byte
// big-endian payload length followed by the payload: one Term in its YAML
// text form (Term::to_yaml / Term::parse). A payload larger than
// kMaxFrameBytes is refused.
//
// The client sends one request per exchange, a map with a `cmd` atom key:
//   {cmd: call, target: blackode, request: {add: 30000}, timeout_ms: 5000}
// and the node answers, after zero or more progress frames
//   {progress: {...}}
// with exactly one final reply:
//   {ok: VALUE}
//   {error: "message", code: "not found", ...}   (code: StatusCodeName)
// An error reply may carry more keys (e.g. an upgrade report). A connection
// may carry several exchanges, one after another.
//
// Every function here is a plain blocking call on a file descriptor; none is
// thread-safe on the same fd.
#pragma once

#include <sys/un.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "relup/status.h"
#include "relup/term.h"

namespace relup::control {

inline constexpr uint32_t kMaxFrameBytes = 64u << 20;

// Paths of a root's control files.
std::string SocketPath(const std::string& root);  // DIR/node.sock
std::string LockPath(const std::string& root);    // DIR/node.lock (holds the node's pid)
std::string LogPath(const std::string& root);     // DIR/node.log

// The address to bind or connect to for a socket path; InvalidArgument (use a
// shorter --root) when the path does not fit sun_path.
Result<sockaddr_un> SocketAddress(const std::string& socket_path);

// Frames. ReadFrame returns Unavailable("connection closed") on a clean EOF
// before a frame starts, IOError on a truncated frame or a socket error,
// InvalidArgument on an oversized length, Timeout when the socket has a
// receive timeout (SO_RCVTIMEO) and nothing arrived within it.
Status WriteFrame(int fd, std::string_view payload);
Result<std::string> ReadFrame(int fd);
// The same, asking `admit` before it allocates the announced length; its
// error is returned as is (the frame's body is then left unread). The body
// must arrive whole within body_timeout (Timeout otherwise), however slowly
// it trickles in.
Result<std::string> ReadFrame(int fd, const std::function<Status(uint32_t length)>& admit,
                              std::chrono::milliseconds body_timeout = std::chrono::seconds(60));

// A Term as one frame. The node receives requests with handles refused (a
// client cannot forge a pid or ref); a client reads the node's replies, which
// may show them (a state holding a timer ref), with kAllow.
Status SendTerm(int fd, const Term& term);
Result<Term> ReceiveTerm(int fd, ParseHandles handles = ParseHandles::kRefuse);

// Building replies.
Term OkReply(Term value);
Term ErrorReply(const Status& status);  // status must not be ok
Term ProgressFrame(Term info);

bool IsProgress(const Term& frame);
// The final reply's value, or the Status it carries (code restored from its
// name; an unknown name becomes kInternal). A frame that is neither is
// kInternal naming what arrived.
Result<Term> ReplyValue(const Term& reply);

// StatusCodeName backwards: kInternal if unknown.
StatusCode StatusCodeFromName(std::string_view name);

// The Status with this code and message (Status::Ok() for kOk; kInternal for
// a value outside the enum): Status has no public (code, message) constructor.
Status MakeStatus(StatusCode code, std::string msg);

// Request fields, with errors that name the field and the command.
Result<std::string> RequiredString(const Term& request, std::string_view key);
std::string OptionalString(const Term& request, std::string_view key, std::string fallback = {});
int64_t OptionalInt(const Term& request, std::string_view key, int64_t fallback);
bool OptionalBool(const Term& request, std::string_view key, bool fallback = false);

}  // namespace relup::control
