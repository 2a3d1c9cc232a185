// SocketTable: every TCP socket of a node, keyed by its ref (!socket N) and
// owned by one process. The runtime owns the sockets, not the process's code:
// suspend, change_code, resume and rollback never touch them, which is what
// lets a connection live through an upgrade.
//
// Reading is OTP's {active, once}: activate() asks for one chunk (up to 64
// KiB, one recv); it is read at once if data may be waiting, else when the
// loop sees the socket readable, and posted to the owner as {tcp: SOCK, data:
// BINARY}. Nothing more is read until the next activate(), so a slow or
// suspended owner pushes back on its peer through TCP's own window. (How no
// readiness edge is lost: see start_read in tcp_sockets.cc.)
//
// Writing never blocks: send() tries a non-blocking write on the caller's
// thread (no loop round trip in the common case) and queues the rest, which
// the loop writes as the peer reads (one async_write_some at a time, issued
// under the socket's mutex, never Asio's composed async_write, which would
// touch the socket from the loop thread without it). While a socket's unsent
// output is above kHighWater, activate() waits to start its read until the
// output is back under kLowWater: a peer that sends without reading cannot
// make the node buffer without bound. Past kMaxUnsent, send() is refused.
//
// Ends: a peer's close posts {tcp_closed: SOCK}, an error {tcp_error: SOCK,
// reason: ATOM}; either closes the socket. close() and the owner's end
// (close_all) flush queued output for up to kLingerMs, then close. Every
// call names the socket and why it was refused: an unknown or closed socket,
// a socket owned by another process, a listener used as a stream.
//
// Thread-safety: every method may be called from any thread; each socket has
// its own mutex, and completion handlers hold a shared_ptr to their socket.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/io_loop.h"
#include "relup/module_abi.h"
#include "relup/status.h"
#include "relup/term.h"
#include "runtime/postman.h"

namespace relup::rt {

class SocketTable {
 public:
  static constexpr size_t kHighWater = 1 << 20;  // 1 MiB of unsent output
  static constexpr size_t kLowWater = 256 << 10;
  // tcp_send refuses to queue past this (the peer is not reading): the
  // caller gets an error, not an unbounded queue.
  static constexpr size_t kMaxUnsent = 16 << 20;
  static constexpr int kLingerMs = 5000;

  SocketTable(IoLoop& loop, Postman& postman);
  ~SocketTable();
  SocketTable(const SocketTable&) = delete;
  SocketTable& operator=(const SocketTable&) = delete;

  Result<Term> listen(Pid owner, std::string_view host, uint16_t port, const TcpOptions& options);
  Status accept(Pid owner, const Term& listener);
  Result<Term> connect(Pid owner, std::string_view host, uint16_t port, const TcpOptions& options);
  Status send(Pid owner, const Term& socket, std::string_view data);
  Status activate(Pid owner, const Term& socket);
  Status close(Pid owner, const Term& socket);
  // NotFound if `new_owner` is not alive (checked under the table's lock,
  // so a socket is never handed to a process whose end already closed its
  // sockets).
  Status set_owner(Pid owner, const Term& socket, Pid new_owner);
  Result<Term> peername(Pid owner, const Term& socket);
  Result<Term> sockname(Pid owner, const Term& socket);
  Status set_nodelay(Pid owner, const Term& socket, bool on);

  // The owner ended: each of its sockets is closed (after flushing).
  void close_all(Pid owner);
  std::vector<Term> owned_by(Pid owner) const;
  size_t open_count() const;
  // Closes everything at once (node shutdown); later calls are refused.
  void stop();

  struct Socket;  // io/tcp_sockets.cc

 private:
  using SocketPtr = std::shared_ptr<Socket>;

  // The socket `ref` names, if `owner` owns it; the error says why not.
  Result<SocketPtr> owned(Pid owner, const Term& ref, std::string_view op) const;
  SocketPtr add(SocketPtr s);    // gives it an id and indexes it by owner
  void forget(const Socket& s);  // out of the table (it is closed)

  void start_read(const SocketPtr& s);   // s->mu held
  void ensure_wait(const SocketPtr& s);  // s->mu held
  void read_now(const SocketPtr& s);     // s->mu held
  void on_readable(const SocketPtr& s, const std::error_code& ec);
  void start_write(const SocketPtr& s);  // s->mu held
  void write_some(const SocketPtr& s);   // s->mu held
  void on_write(const SocketPtr& s, const std::error_code& ec, size_t n);
  void start_accept(const SocketPtr& l);      // l->mu held
  void shut(const SocketPtr& s, bool flush);  // s->mu held: close now or after flushing
  void post_end(const SocketPtr& s, Term message);

  IoLoop& loop_;
  Postman& postman_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, SocketPtr> sockets_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> by_owner_;
  std::atomic<uint64_t> next_id_{1};
  bool stopped_ = false;
};

// The reason atom for an OS error: :econnrefused, :econnreset, :eaddrinuse, ...
Term ErrnoReason(int err);

}  // namespace relup::rt
