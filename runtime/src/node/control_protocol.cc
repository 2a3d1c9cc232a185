#include "node/control_protocol.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace relup::control {
namespace {

Status WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return Status::IOError(std::string("control socket write failed: ") + std::strerror(errno));
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

// Reads exactly size bytes. *eof_at_start tells a clean close before any byte.
// A `deadline` bounds the whole read, not each read(2): a peer that trickles
// a byte at a time cannot stretch it.
Status ReadAll(
    int fd, char* data, size_t size, bool* eof_at_start,
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max()) {
  size_t done = 0;
  *eof_at_start = false;
  while (done < size) {
    if (deadline != std::chrono::steady_clock::time_point::max()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd, POLLIN, 0};
      int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        return Status::Timeout("a control frame did not arrive whole in time (" +
                               std::to_string(done) + " of " + std::to_string(size) + " bytes)");
      }
    }
    ssize_t n = ::read(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return Status::Timeout("nothing arrived on the control socket within its receive timeout");
    }
    if (n < 0)
      return Status::IOError(std::string("control socket read failed: ") + std::strerror(errno));
    if (n == 0) {
      if (done == 0) {
        *eof_at_start = true;
        return Status::Unavailable("connection closed");
      }
      return Status::IOError("control socket closed in the middle of a frame");
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

std::string SocketPath(const std::string& root) {
  return root + "/node.sock";
}
std::string LockPath(const std::string& root) {
  return root + "/node.lock";
}
std::string LogPath(const std::string& root) {
  return root + "/node.log";
}

Result<sockaddr_un> SocketAddress(const std::string& socket_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    return Status::InvalidArgument("socket path " + socket_path + " is longer than " +
                                   std::to_string(sizeof(addr.sun_path) - 1) +
                                   " bytes (a Unix socket limit): use a shorter --root");
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  return addr;
}

Status WriteFrame(int fd, std::string_view payload) {
  if (payload.size() > kMaxFrameBytes) {
    return Status::InvalidArgument("control frame of " + std::to_string(payload.size()) +
                                   " bytes exceeds the limit of " + std::to_string(kMaxFrameBytes));
  }
  uint32_t n = static_cast<uint32_t>(payload.size());
  char header[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                    static_cast<char>(n >> 8), static_cast<char>(n)};
  // One buffer, one send: a reader never sees a header without its body
  // because of an interleaved writer (there is none per fd, but it is cheap).
  std::string frame(header, 4);
  frame.append(payload);
  return WriteAll(fd, frame.data(), frame.size());
}

Result<std::string> ReadFrame(int fd) {
  return ReadFrame(fd, nullptr);
}

Result<std::string> ReadFrame(int fd, const std::function<Status(uint32_t length)>& admit,
                              std::chrono::milliseconds body_timeout) {
  unsigned char header[4];
  bool eof = false;
  RELUP_RETURN_IF_ERROR(ReadAll(fd, reinterpret_cast<char*>(header), 4, &eof));
  uint32_t n = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
               (uint32_t{header[2]} << 8) | uint32_t{header[3]};
  if (n > kMaxFrameBytes) {
    return Status::InvalidArgument("control frame announces " + std::to_string(n) +
                                   " bytes, more than the limit of " +
                                   std::to_string(kMaxFrameBytes) + " (not a relup client?)");
  }
  if (admit) RELUP_RETURN_IF_ERROR(admit(n));
  std::string payload(n, '\0');
  if (n > 0) {
    // The body has body_timeout in all, however it trickles in.
    auto deadline = std::chrono::steady_clock::now() + body_timeout;
    Status s = ReadAll(fd, payload.data(), n, &eof, deadline);
    if (!s.ok()) {
      return eof ? Status::IOError("control socket closed in the middle of a frame") : s;
    }
  }
  return payload;
}

Status SendTerm(int fd, const Term& term) {
  return WriteFrame(fd, term.to_yaml());
}

Result<Term> ReceiveTerm(int fd, ParseHandles handles) {
  RELUP_ASSIGN_OR_RETURN(std::string payload, ReadFrame(fd));
  auto term = Term::parse(payload, handles);
  if (!term.ok()) return term.status().WithContext("malformed control frame");
  return term;
}

Term OkReply(Term value) {
  return Term::map({{Term::atom("ok"), std::move(value)}});
}

Term ErrorReply(const Status& status) {
  return Term::map({{Term::atom("error"), Term(status.message())},
                    {Term::atom("code"), Term(std::string(StatusCodeName(status.code())))}});
}

Term ProgressFrame(Term info) {
  return Term::map({{Term::atom("progress"), std::move(info)}});
}

bool IsProgress(const Term& frame) {
  return frame.is_map() && frame.find("progress") != nullptr;
}

StatusCode StatusCodeFromName(std::string_view name) {
  for (int c = static_cast<int>(StatusCode::kInvalidArgument);
       c <= static_cast<int>(StatusCode::kInternal); ++c) {
    if (StatusCodeName(static_cast<StatusCode>(c)) == name) return static_cast<StatusCode>(c);
  }
  return StatusCode::kInternal;
}

Status MakeStatus(StatusCode code, std::string msg) {
  switch (code) {
    case StatusCode::kOk:
      return Status::Ok();
    case StatusCode::kInvalidArgument:
      return Status::InvalidArgument(std::move(msg));
    case StatusCode::kNotFound:
      return Status::NotFound(std::move(msg));
    case StatusCode::kAlreadyExists:
      return Status::AlreadyExists(std::move(msg));
    case StatusCode::kFailedPrecondition:
      return Status::FailedPrecondition(std::move(msg));
    case StatusCode::kTimeout:
      return Status::Timeout(std::move(msg));
    case StatusCode::kCallbackError:
      return Status::CallbackError(std::move(msg));
    case StatusCode::kProcessExited:
      return Status::ProcessExited(std::move(msg));
    case StatusCode::kModuleError:
      return Status::ModuleError(std::move(msg));
    case StatusCode::kIOError:
      return Status::IOError(std::move(msg));
    case StatusCode::kCorruption:
      return Status::Corruption(std::move(msg));
    case StatusCode::kUnavailable:
      return Status::Unavailable(std::move(msg));
    case StatusCode::kInternal:
      break;
  }
  return Status::Internal(std::move(msg));
}

Result<Term> ReplyValue(const Term& reply) {
  if (reply.is_map()) {
    if (const Term* ok = reply.find("ok")) return *ok;
    if (const Term* err = reply.find("error")) {
      std::string msg = err->is_string() ? err->as_string() : err->to_yaml();
      const Term* code = reply.find("code");
      StatusCode c =
          code && code->is_string() ? StatusCodeFromName(code->as_string()) : StatusCode::kInternal;
      if (c == StatusCode::kOk) c = StatusCode::kInternal;
      return MakeStatus(c, std::move(msg));
    }
  }
  return Status::Internal("unexpected control reply: " + reply.to_yaml());
}

Result<std::string> RequiredString(const Term& request, std::string_view key) {
  const Term* v = request.find(key);
  std::string cmd = "request";
  if (const Term* c = request.find("cmd"); c && c->is_atom()) cmd = std::string(c->as_atom());
  if (!v) return Status::InvalidArgument(cmd + ": missing field '" + std::string(key) + "'");
  if (v->is_string()) return v->as_string();
  if (v->is_atom()) return std::string(v->as_atom());
  if (v->is_int()) return std::to_string(v->as_int());
  return Status::InvalidArgument(cmd + ": field '" + std::string(key) + "' must be a string, not " +
                                 std::string(Term::type_name(v->type())));
}

std::string OptionalString(const Term& request, std::string_view key, std::string fallback) {
  const Term* v = request.find(key);
  if (!v) return fallback;
  if (v->is_string()) return v->as_string();
  if (v->is_atom()) return std::string(v->as_atom());
  if (v->is_int()) return std::to_string(v->as_int());
  return fallback;
}

int64_t OptionalInt(const Term& request, std::string_view key, int64_t fallback) {
  const Term* v = request.find(key);
  return v && v->is_int() ? v->as_int() : fallback;
}

bool OptionalBool(const Term& request, std::string_view key, bool fallback) {
  const Term* v = request.find(key);
  return v && v->is_bool() ? v->as_bool() : fallback;
}

}  // namespace relup::control
