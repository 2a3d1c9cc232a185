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
//
// Limits (Limits below), so that no client can wedge the server or make the
// node hold memory for it:
//   - at most max_connections at once; one more gets an error frame naming
//     the limit and is closed;
//   - at most max_bytes_in_flight of request frames over 64 KiB being
//     received at once, reserved when a frame's length arrives and released
//     when its request is done; a frame that would pass it is refused with an
//     error frame (smaller frames, every command but a big call or cast, are
//     always admitted);
//   - a frame's body must arrive whole within frame_timeout of its length;
//   - a connection that sends nothing for idle_timeout (between frames or in
//     the middle of one) is closed; a reply that cannot be sent within
//     send_timeout (a client that does not read) ends the connection, and
//     stop() gives a busy connection at most send_timeout to finish before it
//     shuts its socket, so a slow reader cannot hold a stop up;
//   - out of file descriptors (EMFILE, ENFILE): a spare descriptor kept for
//     the purpose is given up for one accept, the client is told why, and
//     the loop backs off instead of spinning; it recovers by itself;
//   - a finished connection is reaped at once (its thread wakes the accept
//     loop), not at the next accept.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "relup/status.h"
#include "relup/term.h"

namespace relup {

// What one ControlServer allows (see the contract above).
struct ControlServerLimits {
  size_t max_connections = 64;
  size_t max_bytes_in_flight = 256u << 20;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds send_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds frame_timeout{std::chrono::seconds(60)};  // a frame's body, whole
};

class ControlServer {
 public:
  // Sends one progress frame to the requesting client (ignored once the
  // client is gone).
  using ProgressFn = std::function<void(Term info)>;
  // Returns the whole final reply frame (control::OkReply / ErrorReply, maybe
  // with more keys). Runs on the connection's thread; handlers run
  // concurrently for different connections.
  using Handler = std::function<Term(const Term& request, const ProgressFn& progress)>;

  using Limits = ControlServerLimits;
  // Where the server says what it had to refuse or back off from (node.log).
  using LogFn = std::function<void(const std::string& line)>;

  // An existing file at socket_path is removed first: the caller must hold
  // the root's lock, which proves no other node uses it.
  static Result<std::unique_ptr<ControlServer>> Listen(const std::string& socket_path,
                                                       Handler handler, Limits limits = Limits(),
                                                       LogFn log = nullptr);
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

  ControlServer(std::string socket_path, Handler handler, Limits limits, LogFn log)
      : socket_path_(std::move(socket_path)),
        handler_(std::move(handler)),
        limits_(limits),
        log_(std::move(log)) {}
  void accept_loop();
  void accept_one();
  void out_of_descriptors(int err);
  void serve(Connection* conn);
  void reap_finished_locked();
  void say(const std::string& line);

  const std::string socket_path_;
  const Handler handler_;
  const Limits limits_;
  const LogFn log_;
  int listen_fd_ = -1;
  int spare_fd_ = -1;            // given up for one accept when out of descriptors
  int wake_pipe_[2] = {-1, -1};  // 'x': stop; 'r': a connection finished
  std::atomic<size_t> bytes_in_flight_{0};
  std::atomic<bool> stop_requested_{false};
  bool out_of_fds_ = false;  // accept thread only: logged once per episode
  std::thread accept_thread_;
  std::mutex stop_mu_;  // serializes stop()

  std::mutex mu_;
  bool stopping_ = false;                                  // guarded by mu_
  uint64_t next_id_ = 0;                                   // guarded by mu_
  std::map<uint64_t, std::unique_ptr<Connection>> conns_;  // guarded by mu_
  bool stopped_ = false;                                   // guarded by stop_mu_
};

}  // namespace relup
