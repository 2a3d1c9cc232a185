// ControlServer: the node's end of DIR/node.sock (see control_protocol.h).
//
// Listen() binds a Unix stream socket created with mode 0600 (umask 077
// around bind, then chmod) and starts an accept thread. Every connection is
// checked with SO_PEERCRED: a peer whose uid is not this process's effective
// uid gets one error frame and is closed. Each accepted connection gets its
// own thread, which reads requests and answers each with the handler's reply
// frame. A handler that throws, or a malformed frame, gets an error reply;
// nothing a client sends can take the node down.
//
// stop() closes the listener, removes the socket file, lets every request in
// flight finish and send its reply, closes idle connections and joins every
// thread. It must not be called from a handler. Idempotent; the destructor
// calls it.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "relup/status.h"
#include "relup/term.h"

namespace relup {

class ControlServer {
 public:
  // Sends one progress frame to the requesting client (ignored once the
  // client is gone).
  using ProgressFn = std::function<void(Term info)>;
  // Returns the whole final reply frame (control::OkReply / ErrorReply, maybe
  // with more keys). Runs on the connection's thread; handlers run
  // concurrently for different connections.
  using Handler = std::function<Term(const Term& request, const ProgressFn& progress)>;

  // An existing file at socket_path is removed first: the caller must hold
  // the root's lock, which proves no other node uses it.
  static Result<std::unique_ptr<ControlServer>> Listen(const std::string& socket_path,
                                                       Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  void stop();

 private:
  struct Connection {
    int fd = -1;
    bool busy = false;  // in a handler (guarded by mu_)
    bool done = false;  // thread finished (guarded by mu_)
    std::thread thread;
  };

  ControlServer(std::string socket_path, Handler handler)
      : socket_path_(std::move(socket_path)), handler_(std::move(handler)) {}
  void accept_loop();
  void serve(Connection* conn);
  void reap_finished_locked();

  const std::string socket_path_;
  const Handler handler_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  std::thread accept_thread_;
  std::mutex stop_mu_;  // serializes stop()

  std::mutex mu_;
  bool stopping_ = false;                                  // guarded by mu_
  uint64_t next_id_ = 0;                                   // guarded by mu_
  std::map<uint64_t, std::unique_ptr<Connection>> conns_;  // guarded by mu_
  bool stopped_ = false;                                   // guarded by stop_mu_
};

}  // namespace relup
