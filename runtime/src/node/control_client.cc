#include "node/control_client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "node/control_protocol.h"
#include "release/release_store.h"

namespace relup {

std::string NoNodeMessage(const std::string& root, const std::string& why) {
  // A root that holds releases boots its permanent one; only an empty root
  // needs a tarball.
  auto releases = ReleaseStore::ReadFile(root);
  if (releases.ok() && !releases->empty()) {
    return "no relup node is running at " + root + " (" + why +
           "): start it with `relup node start --root " + root +
           "` (it boots the permanent release)";
  }
  return "no relup node is running at " + root + " (" + why +
         "): start one with `relup node start --root " + root + " --release TARBALL`";
}

namespace {

std::string Seconds(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

}  // namespace

Term MakeRequest(std::string_view cmd, std::initializer_list<TermPair> fields) {
  std::vector<TermPair> entries(fields);
  entries.emplace_back(Term::atom("cmd"), Term::atom(cmd));
  return Term::map(std::move(entries));
}

Result<std::unique_ptr<ControlClient>> ControlClient::Connect(const std::string& root) {
  std::string path = control::SocketPath(root);
  RELUP_ASSIGN_OR_RETURN(sockaddr_un addr, control::SocketAddress(path));
  if (::access(path.c_str(), F_OK) != 0) {
    return Status::Unavailable(NoNodeMessage(root, "no " + path));
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return Status::IOError(std::string("cannot create a socket: ") + std::strerror(errno));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    if (err == ECONNREFUSED || err == ENOENT) {
      return Status::Unavailable(NoNodeMessage(root, path + " is stale: nothing listens on it"));
    }
    if (err == EACCES) {
      return Status::FailedPrecondition("permission denied on " + path +
                                        ": run the command as the node's user");
    }
    return Status::IOError("cannot connect to " + path + ": " + std::strerror(err));
  }
  return std::unique_ptr<ControlClient>(new ControlClient(root, fd));
}

ControlClient::~ControlClient() {
  if (fd_ >= 0) ::close(fd_);
}

Status ControlClient::set_reply_timeout(std::chrono::milliseconds idle) {
  if (idle.count() < 0) idle = std::chrono::milliseconds(0);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(idle.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((idle.count() % 1000) * 1000);
  if (::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
    return Status::IOError(std::string("cannot set the reply timeout: ") + std::strerror(errno));
  }
  reply_timeout_ = idle;
  return Status::Ok();
}

Result<Term> ControlClient::exchange(const Term& request, const ProgressFn& on_progress) {
  if (Status sent = control::SendTerm(fd_, request); !sent.ok()) {
    // The node may have refused the connection (another user) and closed it
    // with a reason already waiting to be read: that reason beats EPIPE.
    auto refusal = control::ReceiveTerm(fd_, ParseHandles::kAllow);
    if (refusal.ok() && refusal->find("error")) return refusal;
    return sent;
  }
  for (;;) {
    auto frame = control::ReceiveTerm(fd_, ParseHandles::kAllow);
    if (!frame.ok()) {
      if (frame.status().code() == StatusCode::kUnavailable) {
        return Status::Unavailable("the node at " + root_ +
                                   " closed the connection before replying (did it stop? see " +
                                   control::LogPath(root_) + ")");
      }
      if (frame.status().code() == StatusCode::kTimeout) {
        return Status::Timeout("the node at " + root_ + " sent nothing for " +
                               Seconds(reply_timeout_) +
                               " s: it may be stopped, hung in a callback, or overloaded (see " +
                               control::LogPath(root_) +
                               "); the request may still complete there. Wait longer with "
                               "RELUP_REPLY_TIMEOUT=SECONDS (0: no limit)");
      }
      return frame.status();
    }
    if (control::IsProgress(*frame)) {
      if (on_progress) on_progress(*frame->find("progress"));
      continue;
    }
    return frame;
  }
}

Result<Term> ControlClient::request(const Term& request, const ProgressFn& on_progress) {
  RELUP_ASSIGN_OR_RETURN(Term reply, exchange(request, on_progress));
  return control::ReplyValue(reply);
}

}  // namespace relup
