#include "node/control_server.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <vector>

#include "node/control_protocol.h"

namespace relup {
namespace {

// "uid 999, user relup" for the node's own user (the uid alone if it has no name).
std::string OwnUser() {
  uid_t uid = ::geteuid();
  std::string out = "uid " + std::to_string(uid);
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    out += std::string(", user ") + found->pw_name;
  }
  return out;
}

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

void SetTimeout(int fd, int option, std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  (void)::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
}

// Tells a client why it is turned away, without waiting on it.
void Refuse(int fd, const Status& why) {
  SetTimeout(fd, SO_SNDTIMEO, std::chrono::milliseconds(100));
  (void)control::SendTerm(fd, control::ErrorReply(why));
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::Listen(const std::string& socket_path,
                                                             Handler handler, Limits limits,
                                                             LogFn log) {
  RELUP_ASSIGN_OR_RETURN(sockaddr_un addr, control::SocketAddress(socket_path));

  std::unique_ptr<ControlServer> server(
      new ControlServer(socket_path, std::move(handler), limits, std::move(log)));
  server->listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (server->listen_fd_ < 0) return Errno("cannot create the control socket");
  ::unlink(socket_path.c_str());
  // umask 077 around bind: the socket never exists with a wider mode, even
  // for the moment before chmod.
  mode_t old_umask = ::umask(077);
  int rc = ::bind(server->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old_umask);
  if (rc != 0) return Errno("cannot bind the control socket " + socket_path);
  if (::chmod(socket_path.c_str(), 0600) != 0) return Errno("cannot chmod " + socket_path);
  if (::listen(server->listen_fd_, 64) != 0) return Errno("cannot listen on " + socket_path);
  if (::pipe2(server->wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return Errno("cannot create a pipe");
  }
  server->spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  server->accept_thread_ = std::thread([s = server.get()] { s->accept_loop(); });
  return server;
}

ControlServer::~ControlServer() {
  stop();
  for (int fd : {listen_fd_, spare_fd_, wake_pipe_[0], wake_pipe_[1]}) {
    if (fd >= 0) ::close(fd);
  }
}

void ControlServer::stop() {
  std::lock_guard stop_lock(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  if (accept_thread_.joinable()) {
    stop_requested_.store(true);
    char c = 'x';
    (void)!::write(wake_pipe_[1], &c, 1);
    accept_thread_.join();
  }
  ::unlink(socket_path_.c_str());
  std::vector<Connection*> all;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [id, conn] : conns_) {
      // An idle connection is blocked in read (or about to be): shutdown makes
      // that read return at once. A busy one finishes its reply first and then
      // sees stopping_.
      if (!conn->busy) ::shutdown(conn->fd, SHUT_RDWR);
      all.push_back(conn.get());
    }
  }
  // A busy connection gets a grace period to send its reply; a client that
  // reads it a trickle at a time must not hold the stop up beyond that.
  auto grace = std::chrono::steady_clock::now() + limits_.send_timeout;
  for (;;) {
    bool busy = false;
    {
      std::lock_guard lock(mu_);
      for (Connection* conn : all) busy = busy || !conn->done;
    }
    if (!busy || std::chrono::steady_clock::now() > grace) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  {
    std::lock_guard lock(mu_);
    for (Connection* conn : all) {
      if (!conn->done) ::shutdown(conn->fd, SHUT_RDWR);
    }
  }
  for (Connection* conn : all) conn->thread.join();
  std::lock_guard lock(mu_);
  for (auto& [id, conn] : conns_) ::close(conn->fd);
  conns_.clear();
}

void ControlServer::reap_finished_locked() {
  for (auto it = conns_.begin(); it != conns_.end();) {
    if (it->second->done) {
      it->second->thread.join();
      ::close(it->second->fd);
      it = conns_.erase(it);
    } else {
      ++it;
    }
  }
}

void ControlServer::say(const std::string& line) {
  if (log_) log_(line);
}

void ControlServer::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || stop_requested_.load()) return;
    if (fds[1].revents & POLLIN) {
      char buf[64];
      while (::read(wake_pipe_[0], buf, sizeof buf) > 0) {
      }
      if (stop_requested_.load()) return;
      std::lock_guard lock(mu_);
      reap_finished_locked();
    }
    if (fds[0].revents & POLLIN) accept_one();
  }
}

// EMFILE or ENFILE: the pending connection cannot be accepted, and poll would
// report it again at once. Give up the spare descriptor for one accept, tell
// that client why, take the spare back, and back off a little: the loop
// neither spins nor leaves clients hanging, and serves again once
// descriptors are free.
void ControlServer::out_of_descriptors(int err) {
  std::string why = std::string("the node is out of file descriptors (") + std::strerror(err) +
                    "): close some (sockets of its processes?) or raise its limit (ulimit -n)";
  if (!out_of_fds_) say("control socket: " + why);  // once per episode, not every 100 ms
  out_of_fds_ = true;
  {
    std::lock_guard lock(mu_);
    reap_finished_locked();
  }
  if (spare_fd_ >= 0) {
    ::close(spare_fd_);
    spare_fd_ = -1;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      Refuse(fd, Status::Unavailable(why));
      ::close(fd);
    }
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  pollfd wake{wake_pipe_[0], POLLIN, 0};
  (void)::poll(&wake, 1, 100);
}

void ControlServer::accept_one() {
  // Another thread may have taken the descriptor the spare left free: get
  // it back as soon as one is available.
  if (spare_fd_ < 0) spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno == EMFILE || errno == ENFILE) out_of_descriptors(errno);
    return;  // EINTR, ECONNABORTED, EAGAIN: keep serving the others
  }
  if (out_of_fds_) say("control socket: file descriptors are available again");
  out_of_fds_ = false;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != ::geteuid()) {
    Refuse(fd, Status::FailedPrecondition(
                   "permission denied: this node only accepts its own user (" + OwnUser() +
                   "): run relup as that user (e.g. sudo -u USER relup ...)"));
    ::close(fd);
    return;
  }
  std::lock_guard lock(mu_);
  reap_finished_locked();
  if (stopping_) {
    ::close(fd);
    return;
  }
  if (conns_.size() >= limits_.max_connections) {
    Refuse(fd, Status::Unavailable("the node already serves " + std::to_string(conns_.size()) +
                                   " control connections (the limit); try again when one ends"));
    ::close(fd);
    return;
  }
  SetTimeout(fd, SO_RCVTIMEO, limits_.idle_timeout);
  SetTimeout(fd, SO_SNDTIMEO, limits_.send_timeout);
  auto conn = std::make_unique<Connection>();
  conn->fd = fd;
  Connection* raw = conn.get();
  conns_.emplace(next_id_++, std::move(conn));
  raw->thread = std::thread([this, raw] { serve(raw); });
}

void ControlServer::serve(Connection* conn) {
  const int fd = conn->fd;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
      conn->busy = false;
    }
    size_t reserved = 0;
    auto admit = [&](uint32_t n) -> Status {
      // Small frames (every command but a big call or cast) are always
      // admitted, so that status and stop work while big ones wait.
      constexpr uint32_t kAlwaysAdmitted = 64 << 10;
      if (n <= kAlwaysAdmitted) return Status();
      size_t now = bytes_in_flight_.fetch_add(n) + n;
      reserved = n;
      if (now > limits_.max_bytes_in_flight) {
        return Status::Unavailable(
            "a control frame of " + std::to_string(n) + " bytes would put " + std::to_string(now) +
            " bytes of requests in flight, past the limit of " +
            std::to_string(limits_.max_bytes_in_flight) + "; send it again later");
      }
      return Status();
    };
    struct Release {
      std::atomic<size_t>& in_flight;
      size_t& n;
      ~Release() { in_flight.fetch_sub(n); }
    } release{bytes_in_flight_, reserved};
    auto payload =
        control::ReadFrame(fd, admit, std::min(limits_.frame_timeout, limits_.idle_timeout));
    if (!payload.ok()) {
      // Over the limit: told why, and the stream cannot be resynchronized.
      if (payload.status().code() == StatusCode::kUnavailable && reserved > 0) {
        Refuse(fd, payload.status());
        break;
      }
      // A bad length announces a stream we cannot resynchronize with: answer
      // once and drop the connection. EOF and socket errors just end it.
      if (payload.status().code() == StatusCode::kInvalidArgument) {
        (void)control::SendTerm(fd, control::ErrorReply(payload.status()));
      }
      break;
    }
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
      conn->busy = true;
    }
    Term reply;
    auto request = Term::parse(*payload);
    if (!request.ok()) {
      reply = control::ErrorReply(request.status().WithContext("malformed request"));
    } else {
      bool client_gone = false;
      ProgressFn progress = [fd, &client_gone](Term info) {
        if (client_gone) return;
        client_gone = !control::SendTerm(fd, control::ProgressFrame(std::move(info))).ok();
      };
      try {
        reply = handler_(*request, progress);
      } catch (const std::exception& e) {
        reply = control::ErrorReply(
            Status::Internal(std::string("request failed with an exception: ") + e.what()));
      } catch (...) {
        reply = control::ErrorReply(Status::Internal("request failed with an unknown exception"));
      }
    }
    if (!control::SendTerm(fd, reply).ok()) break;
  }
  // The peer sees EOF now; the fd itself is closed when the thread is reaped,
  // which the accept loop does at once.
  ::shutdown(fd, SHUT_RDWR);
  std::lock_guard lock(mu_);
  conn->busy = false;
  conn->done = true;
  char c = 'r';
  (void)!::write(wake_pipe_[1], &c, 1);
}

}  // namespace relup
