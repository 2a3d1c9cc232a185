#include "node/control_server.h"

#include <fcntl.h>
#include <poll.h>
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

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::Listen(const std::string& socket_path,
                                                             Handler handler) {
  RELUP_ASSIGN_OR_RETURN(sockaddr_un addr, control::SocketAddress(socket_path));

  std::unique_ptr<ControlServer> server(new ControlServer(socket_path, std::move(handler)));
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
  if (::pipe2(server->wake_pipe_, O_CLOEXEC) != 0) return Errno("cannot create a pipe");
  server->accept_thread_ = std::thread([s = server.get()] { s->accept_loop(); });
  return server;
}

ControlServer::~ControlServer() {
  stop();
  for (int fd : {listen_fd_, wake_pipe_[0], wake_pipe_[1]}) {
    if (fd >= 0) ::close(fd);
  }
}

void ControlServer::stop() {
  std::lock_guard stop_lock(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  if (accept_thread_.joinable()) {
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

void ControlServer::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (fds[1].revents & POLLIN)) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // EINTR, ECONNABORTED, EMFILE...: keep serving the others
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != ::geteuid()) {
      (void)control::SendTerm(fd,
                              control::ErrorReply(Status::FailedPrecondition(
                                  "permission denied: this node only accepts its own user (uid " +
                                  std::to_string(::geteuid()) + ")")));
      ::close(fd);
      continue;
    }
    std::lock_guard lock(mu_);
    reap_finished_locked();
    if (stopping_) {
      ::close(fd);
      continue;
    }
    auto conn = std::make_unique<Connection>();
    conn->fd = fd;
    Connection* raw = conn.get();
    conns_.emplace(next_id_++, std::move(conn));
    raw->thread = std::thread([this, raw] { serve(raw); });
  }
}

void ControlServer::serve(Connection* conn) {
  const int fd = conn->fd;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
      conn->busy = false;
    }
    auto payload = control::ReadFrame(fd);
    if (!payload.ok()) {
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
  // The peer sees EOF now; the fd itself is closed when the thread is reaped.
  ::shutdown(fd, SHUT_RDWR);
  std::lock_guard lock(mu_);
  conn->busy = false;
  conn->done = true;
}

}  // namespace relup
