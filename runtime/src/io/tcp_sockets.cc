#include "io/tcp_sockets.h"

#include <sys/socket.h>

#include <algorithm>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>

namespace relup::rt {

using asio::ip::tcp;

namespace {

constexpr size_t kMaxRead = 64 << 10;  // one chunk

Term Message2(const char* k1, Term v1, const char* k2, Term v2) {
  std::vector<TermPair> e;
  e.reserve(2);
  e.emplace_back(Term::atom(k1), std::move(v1));
  e.emplace_back(Term::atom(k2), std::move(v2));
  return Term::map(std::move(e));
}

Term Message1(const char* k, Term v) {
  std::vector<TermPair> e;
  e.emplace_back(Term::atom(k), std::move(v));
  return Term::map(std::move(e));
}

Term ReasonOf(const std::error_code& ec) {
  if (ec == asio::error::eof) return Term::atom("closed");
  if (ec.category() == asio::system_category()) return ErrnoReason(ec.value());
  return Term::atom(ec.message());
}

Result<asio::ip::address> ParseHost(std::string_view host) {
  if (host == "localhost") return asio::ip::address(asio::ip::address_v4::loopback());
  std::error_code ec;
  auto addr = asio::ip::make_address(std::string(host), ec);
  if (ec) {
    return Status::InvalidArgument("'" + std::string(host) +
                                   "' is not an IP address: give a literal such as 127.0.0.1, "
                                   "0.0.0.0 or ::1 (or localhost); relup does not resolve names");
  }
  return addr;
}

std::string Endpoint(std::string_view host, uint16_t port) {
  std::string h(host);
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return h + ":" + std::to_string(port);
}

Term EndpointTerm(const tcp::endpoint& ep) {
  return Message2("ip", Term(ep.address().to_string()), "port",
                  Term(static_cast<long long>(ep.port())));
}

}  // namespace

Term ErrnoReason(int err) {
  const char* name = strerrorname_np(err);
  if (name == nullptr) return Term::atom("errno_" + std::to_string(err));
  std::string s(name);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return Term::atom(s);
}

struct SocketTable::Socket {
  explicit Socket(asio::io_context& io) : stream(io), acceptor(io), linger(io) {}

  enum class State : uint8_t { kConnecting, kOpen, kClosing, kClosed };

  std::mutex mu;
  uint64_t id = 0;
  Term ref;
  Pid owner;  // written under mu and the table's mu_
  bool listener = false;
  bool nodelay = true;
  State state = State::kOpen;
  bool ended = false;  // tcp_closed or tcp_error was posted
  tcp::socket stream;
  tcp::acceptor acceptor;
  asio::steady_timer linger;
  // Reading ({active, once}; see start_read).
  bool want = false;      // activated; the chunk not delivered yet
  bool waiting = false;   // an async_wait for readability is queued
  bool readable = false;  // there may be data to read now
  // Writing.
  std::string out;   // queued, not yet handed to a write
  std::string wbuf;  // being written, from woff on
  size_t woff = 0;
  bool writing = false;
  // Accepting.
  int accepts = 0;  // requested and not yet answered
  bool accepting = false;

  size_t unsent() const { return out.size() + (wbuf.size() - woff); }
};

SocketTable::SocketTable(IoLoop& loop, Postman& postman) : loop_(loop), postman_(postman) {}

SocketTable::~SocketTable() {
  stop();
}

// ---------------------------------------------------------------- the table

SocketTable::SocketPtr SocketTable::add(SocketPtr s) {
  s->id = next_id_.fetch_add(1, std::memory_order_relaxed);
  s->ref = Term::ref(RefKind::kSocket, s->id);
  std::lock_guard<std::mutex> lock(mu_);
  sockets_[s->id] = s;
  by_owner_[s->owner.id].push_back(s->id);
  return s;
}

void SocketTable::forget(const Socket& s) {
  std::lock_guard<std::mutex> lock(mu_);
  sockets_.erase(s.id);
  auto it = by_owner_.find(s.owner.id);
  if (it == by_owner_.end()) return;
  auto& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), s.id), v.end());
  if (v.empty()) by_owner_.erase(it);
}

Result<SocketTable::SocketPtr> SocketTable::owned(Pid owner, const Term& ref,
                                                  std::string_view op) const {
  if (!ref.is_ref(RefKind::kSocket)) {
    return Status::InvalidArgument(std::string(op) + " needs a socket ref (!socket N), not " +
                                   ref.to_yaml());
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sockets_.find(ref.ref_id());
  if (it == sockets_.end()) {
    if (ref.ref_id() < next_id_.load(std::memory_order_relaxed)) {
      return Status::FailedPrecondition(std::string(op) + ": socket " + ref.to_yaml() +
                                        " is closed");
    }
    return Status::NotFound(std::string(op) + ": " + ref.to_yaml() +
                            " is not a socket this node opened");
  }
  if (it->second->owner != owner) {
    return Status::FailedPrecondition(std::string(op) + ": socket " + ref.to_yaml() +
                                      " belongs to " + it->second->owner.to_string() + ", not to " +
                                      owner.to_string() +
                                      "; its owner can hand it over with tcp_controlling_process");
  }
  return it->second;
}

std::vector<Term> SocketTable::owned_by(Pid owner) const {
  std::vector<Term> out;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_owner_.find(owner.id);
  if (it == by_owner_.end()) return out;
  for (uint64_t id : it->second) out.push_back(Term::ref(RefKind::kSocket, id));
  std::sort(out.begin(), out.end());
  return out;
}

size_t SocketTable::open_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sockets_.size();
}

// ---------------------------------------------------------------- listen / accept

Result<Term> SocketTable::listen(Pid owner, std::string_view host, uint16_t port,
                                 const TcpOptions& options) {
  RELUP_ASSIGN_OR_RETURN(asio::ip::address addr, ParseHost(host));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return Status::Unavailable("the node is shutting down: no new sockets");
  }
  auto s = std::make_shared<Socket>(loop_.context());
  s->owner = owner;
  s->listener = true;
  s->nodelay = options.nodelay;
  tcp::endpoint ep(addr, port);
  std::error_code ec;
  std::string where = Endpoint(host, port);
  s->acceptor.open(ep.protocol(), ec);
  if (!ec && options.reuseaddr) s->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) s->acceptor.bind(ep, ec);
  if (ec == asio::error::address_in_use) {
    return Status::AlreadyExists("cannot listen on " + where +
                                 ": the address is in use (another socket listens there); pick "
                                 "another port, or 0 for any free one");
  }
  if (!ec) s->acceptor.listen(std::max(1, options.backlog), ec);
  if (!ec) s->acceptor.non_blocking(true, ec);
  if (ec) {
    return Status::IOError("cannot listen on " + where + ": " + ec.message() + " (" +
                           ReasonOf(ec).to_yaml() + ")");
  }
  return add(std::move(s))->ref;
}

Status SocketTable::accept(Pid owner, const Term& listener) {
  RELUP_ASSIGN_OR_RETURN(SocketPtr l, owned(owner, listener, "tcp_accept"));
  std::lock_guard<std::mutex> lock(l->mu);
  if (!l->listener) {
    return Status::InvalidArgument("tcp_accept: " + listener.to_yaml() +
                                   " is a connection, not a listener (tcp_listen makes those)");
  }
  if (l->state != Socket::State::kOpen) {
    return Status::FailedPrecondition("tcp_accept: listener " + listener.to_yaml() + " is closed");
  }
  ++l->accepts;
  if (!l->accepting) start_accept(l);
  return Status();
}

void SocketTable::start_accept(const SocketPtr& l) {
  l->accepting = true;
  auto conn = std::make_shared<Socket>(loop_.context());
  l->acceptor.async_accept(conn->stream, [this, l, conn](const std::error_code& ec) {
    std::unique_lock<std::mutex> lock(l->mu);
    l->accepting = false;
    if (l->state != Socket::State::kOpen || ec == asio::error::operation_aborted) return;
    --l->accepts;
    if (ec) {
      // EMFILE and the like: the listener stays open; its owner decides
      // when to try again.
      postman_.post_info(l->owner, Message2("tcp_error", l->ref, "reason", ReasonOf(ec)));
    } else {
      std::error_code ignored;
      conn->owner = l->owner;
      conn->nodelay = l->nodelay;
      conn->stream.non_blocking(true, ignored);
      conn->stream.set_option(tcp::no_delay(conn->nodelay), ignored);
      add(conn);
      if (!postman_.post_info(l->owner, Message2("tcp_accepted", l->ref, "socket", conn->ref))) {
        std::lock_guard<std::mutex> conn_lock(conn->mu);
        shut(conn, false);
      }
    }
    if (l->accepts > 0) start_accept(l);
  });
}

// ---------------------------------------------------------------- connect

Result<Term> SocketTable::connect(Pid owner, std::string_view host, uint16_t port,
                                  const TcpOptions& options) {
  RELUP_ASSIGN_OR_RETURN(asio::ip::address addr, ParseHost(host));
  if (port == 0) {
    return Status::InvalidArgument("tcp_connect: port 0 is no port to connect to (" +
                                   Endpoint(host, port) + ")");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return Status::Unavailable("the node is shutting down: no new sockets");
  }
  auto s = std::make_shared<Socket>(loop_.context());
  s->owner = owner;
  s->nodelay = options.nodelay;
  s->state = Socket::State::kConnecting;
  add(s);
  std::lock_guard<std::mutex> lock(s->mu);
  s->stream.async_connect(tcp::endpoint(addr, port), [this, s](const std::error_code& ec) {
    std::lock_guard<std::mutex> done(s->mu);
    if (s->state != Socket::State::kConnecting) return;  // closed meanwhile
    if (ec) {
      post_end(s, Message2("tcp_error", s->ref, "reason", ReasonOf(ec)));
      shut(s, false);
      return;
    }
    std::error_code ignored;
    s->state = Socket::State::kOpen;
    s->stream.non_blocking(true, ignored);
    s->stream.set_option(tcp::no_delay(s->nodelay), ignored);
    postman_.post_info(s->owner, Message1("tcp_connected", s->ref));
    start_write(s);  // what was sent while connecting
    if (s->want) start_read(s);
  });
  return s->ref;
}

// ---------------------------------------------------------------- send

Status SocketTable::send(Pid owner, const Term& socket, std::string_view data) {
  RELUP_ASSIGN_OR_RETURN(SocketPtr s, owned(owner, socket, "tcp_send"));
  std::lock_guard<std::mutex> lock(s->mu);
  if (s->listener) {
    return Status::InvalidArgument("tcp_send: " + socket.to_yaml() +
                                   " is a listener; send on the sockets it accepts");
  }
  if (s->state == Socket::State::kClosing || s->state == Socket::State::kClosed) {
    return Status::FailedPrecondition("tcp_send: socket " + socket.to_yaml() + " is closed");
  }
  if (data.empty()) return Status();
  if (s->unsent() + data.size() > kMaxUnsent) {
    return Status::Unavailable(
        "tcp_send on " + socket.to_yaml() + ": " + std::to_string(s->unsent()) +
        " bytes are still unsent (the peer is not reading), and " + std::to_string(data.size()) +
        " more would pass the limit of " + std::to_string(kMaxUnsent) +
        "; nothing was queued: send less, later, or close it");
  }
  if (s->state == Socket::State::kOpen && !s->writing && s->out.empty()) {
    // The common case: the kernel takes it all now, on this thread.
    ssize_t n =
        ::send(s->stream.native_handle(), data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      int err = errno;
      return Status::IOError("tcp_send on " + socket.to_yaml() + ": " + std::strerror(err) + " (" +
                             ErrnoReason(err).to_yaml() +
                             "); the connection is broken, and its owner gets tcp_closed or "
                             "tcp_error once it reads");
    }
    if (n > 0) data.remove_prefix(static_cast<size_t>(n));
    if (data.empty()) return Status();
  }
  s->out.append(data);
  if (s->state == Socket::State::kOpen) start_write(s);
  return Status();
}

void SocketTable::start_write(const SocketPtr& s) {
  if (s->writing || s->out.empty()) return;
  s->wbuf.swap(s->out);
  s->out.clear();
  s->woff = 0;
  write_some(s);
}

void SocketTable::write_some(const SocketPtr& s) {
  s->writing = true;
  s->stream.async_write_some(
      asio::buffer(s->wbuf.data() + s->woff, s->wbuf.size() - s->woff),
      [this, s](const std::error_code& ec, size_t n) { on_write(s, ec, n); });
}

void SocketTable::on_write(const SocketPtr& s, const std::error_code& ec, size_t n) {
  std::lock_guard<std::mutex> lock(s->mu);
  s->writing = false;
  if (s->state == Socket::State::kClosed || ec == asio::error::operation_aborted) return;
  if (ec) {
    post_end(s, Message2("tcp_error", s->ref, "reason", ReasonOf(ec)));
    shut(s, false);
    return;
  }
  s->woff += n;
  if (s->woff < s->wbuf.size()) {
    write_some(s);  // the rest of this buffer first: bytes go out in order
    return;
  }
  s->wbuf.clear();
  s->woff = 0;
  if (!s->out.empty()) {
    start_write(s);
  } else if (s->state == Socket::State::kClosing) {
    shut(s, false);
    return;
  }
  if (s->state == Socket::State::kOpen && s->want && s->unsent() <= kLowWater) {
    start_read(s);
  }
}

// ---------------------------------------------------------------- read

Status SocketTable::activate(Pid owner, const Term& socket) {
  RELUP_ASSIGN_OR_RETURN(SocketPtr s, owned(owner, socket, "tcp_activate"));
  std::lock_guard<std::mutex> lock(s->mu);
  if (s->listener) {
    return Status::InvalidArgument("tcp_activate: " + socket.to_yaml() +
                                   " is a listener; use tcp_accept on it");
  }
  if (s->state == Socket::State::kClosing || s->state == Socket::State::kClosed) {
    return Status::FailedPrecondition("tcp_activate: socket " + socket.to_yaml() + " is closed");
  }
  s->want = true;
  if (s->state == Socket::State::kOpen && s->unsent() < kHighWater) start_read(s);
  return Status();
}

// Reading. Asio registers a socket with epoll edge-triggered: an edge that
// comes while no operation waits on the socket is lost. So a wait for
// readability is queued before every read, and stays queued while the data
// is not wanted: whatever arrives after a read wakes that wait, which marks
// the socket readable (and reads at once if a chunk is wanted). A chunk is
// read with one recv of up to 64 KiB: when the socket is known to be drained
// (the last read came back short), asking for the next chunk costs no
// system call at all, unlike a speculative read that would find nothing.

// s->mu held; s->want is set: deliver the next chunk if there may be one,
// else make sure the wait is queued.
void SocketTable::start_read(const SocketPtr& s) {
  if (s->readable) {
    read_now(s);
  } else {
    ensure_wait(s);
  }
}

void SocketTable::ensure_wait(const SocketPtr& s) {
  if (s->waiting) return;
  s->waiting = true;
  s->stream.async_wait(tcp::socket::wait_read,
                       [this, s](const std::error_code& ec) { on_readable(s, ec); });
}

void SocketTable::on_readable(const SocketPtr& s, const std::error_code& ec) {
  std::lock_guard<std::mutex> lock(s->mu);
  s->waiting = false;
  if (s->state != Socket::State::kOpen || ec == asio::error::operation_aborted) return;
  if (ec) {
    post_end(s, Message2("tcp_error", s->ref, "reason", ReasonOf(ec)));
    shut(s, false);
    return;
  }
  s->readable = true;
  if (s->want && s->unsent() < kHighWater) read_now(s);
}

void SocketTable::read_now(const SocketPtr& s) {
  ensure_wait(s);  // first: what arrives after the recv below wakes it
  thread_local std::string buf(kMaxRead, '\0');
  ssize_t n = ::recv(s->stream.native_handle(), buf.data(), buf.size(), MSG_DONTWAIT);
  if (n < 0) {
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) {
      s->readable = false;  // the queued wait says when there is more
      return;
    }
    post_end(s, Message2("tcp_error", s->ref, "reason", ErrnoReason(err)));
    shut(s, false);
    return;
  }
  if (n == 0) {
    s->readable = false;
    post_end(s, Message1("tcp_closed", s->ref));
    shut(s, true);  // the peer may still read what we queued
    return;
  }
  // A full buffer: there may be more already; a short read drained it.
  s->readable = static_cast<size_t>(n) == buf.size();
  s->want = false;
  Term data = Term::binary(std::string(buf.data(), static_cast<size_t>(n)));
  if (!postman_.post_info(s->owner, Message2("tcp", s->ref, "data", std::move(data)))) {
    shut(s, false);  // its owner is gone: close_all is on its way or done
  }
}

// ---------------------------------------------------------------- ends

void SocketTable::post_end(const SocketPtr& s, Term message) {
  if (s->ended) return;
  s->ended = true;
  postman_.post_info(s->owner, std::move(message));
}

void SocketTable::shut(const SocketPtr& s, bool flush) {
  if (s->state == Socket::State::kClosed) return;
  // Already flushing: the linger timer or the last write closes it.
  if (flush && s->state == Socket::State::kClosing) return;
  if (flush && s->state == Socket::State::kOpen && s->unsent() > 0) {
    s->state = Socket::State::kClosing;
    s->linger.expires_after(std::chrono::milliseconds(kLingerMs));
    s->linger.async_wait([this, s](const std::error_code& ec) {
      if (ec) return;
      std::lock_guard<std::mutex> lock(s->mu);
      shut(s, false);
    });
    return;
  }
  s->state = Socket::State::kClosed;
  std::error_code ignored;
  if (s->listener) {
    s->acceptor.close(ignored);
  } else {
    s->stream.close(ignored);
  }
  s->linger.cancel();
  s->out.clear();
  forget(*s);
}

Status SocketTable::close(Pid owner, const Term& socket) {
  auto s = owned(owner, socket, "tcp_close");
  if (!s.ok()) {
    // Closing a closed socket does nothing, as in OTP.
    return s.status().code() == StatusCode::kFailedPrecondition &&
                   s.status().message().find(" is closed") != std::string::npos
               ? Status()
               : s.status();
  }
  std::lock_guard<std::mutex> lock((*s)->mu);
  shut(*s, true);
  return Status();
}

void SocketTable::close_all(Pid owner) {
  std::vector<SocketPtr> mine;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_owner_.find(owner.id);
    if (it == by_owner_.end()) return;
    for (uint64_t id : it->second) {
      if (auto s = sockets_.find(id); s != sockets_.end()) mine.push_back(s->second);
    }
  }
  for (const SocketPtr& s : mine) {
    std::lock_guard<std::mutex> lock(s->mu);
    if (s->owner != owner) continue;  // handed over meanwhile
    shut(s, true);
  }
}

void SocketTable::stop() {
  std::vector<SocketPtr> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    for (auto& [id, s] : sockets_) all.push_back(s);
  }
  for (const SocketPtr& s : all) {
    std::lock_guard<std::mutex> lock(s->mu);
    shut(s, false);
  }
}

// ---------------------------------------------------------------- the rest

Status SocketTable::set_owner(Pid owner, const Term& socket, Pid new_owner) {
  RELUP_ASSIGN_OR_RETURN(SocketPtr s, owned(owner, socket, "tcp_controlling_process"));
  std::lock_guard<std::mutex> lock(s->mu);
  std::lock_guard<std::mutex> table(mu_);
  if (s->state == Socket::State::kClosed) {
    return Status::FailedPrecondition("tcp_controlling_process: socket " + socket.to_yaml() +
                                      " is closed");
  }
  // Under mu_: a process whose end already ran close_all (which takes mu_
  // after setting kExited) is seen as gone here, never handed the socket.
  if (!postman_.alive(new_owner)) {
    return Status::NotFound("tcp_controlling_process: no process " + new_owner.to_string() +
                            " to hand socket " + socket.to_yaml() + " to (it may have ended)");
  }
  auto& from = by_owner_[owner.id];
  from.erase(std::remove(from.begin(), from.end(), s->id), from.end());
  if (from.empty()) by_owner_.erase(owner.id);
  by_owner_[new_owner.id].push_back(s->id);
  s->owner = new_owner;
  return Status();
}

Result<Term> SocketTable::peername(Pid owner, const Term& socket) {
  RELUP_ASSIGN_OR_RETURN(SocketPtr s, owned(owner, socket, "tcp_peername"));
  std::lock_guard<std::mutex> lock(s->mu);
  std::error_code ec;
  if (s->listener) {
    return Status::InvalidArgument("tcp_peername: " + socket.to_yaml() +
                                   " is a listener and has no peer");
  }
  tcp::endpoint ep = s->stream.remote_endpoint(ec);
  if (ec) {
    return Status::FailedPrecondition("tcp_peername of " + socket.to_yaml() + ": " + ec.message());
  }
  return EndpointTerm(ep);
}

Result<Term> SocketTable::sockname(Pid owner, const Term& socket) {
  RELUP_ASSIGN_OR_RETURN(SocketPtr s, owned(owner, socket, "tcp_sockname"));
  std::lock_guard<std::mutex> lock(s->mu);
  std::error_code ec;
  tcp::endpoint ep = s->listener ? s->acceptor.local_endpoint(ec) : s->stream.local_endpoint(ec);
  if (ec) {
    return Status::FailedPrecondition("tcp_sockname of " + socket.to_yaml() + ": " + ec.message());
  }
  return EndpointTerm(ep);
}

Status SocketTable::set_nodelay(Pid owner, const Term& socket, bool on) {
  RELUP_ASSIGN_OR_RETURN(SocketPtr s, owned(owner, socket, "tcp_set_nodelay"));
  std::lock_guard<std::mutex> lock(s->mu);
  s->nodelay = on;
  if (s->listener || s->state != Socket::State::kOpen) return Status();
  std::error_code ec;
  s->stream.set_option(tcp::no_delay(on), ec);
  if (ec) return Status::IOError("tcp_set_nodelay on " + socket.to_yaml() + ": " + ec.message());
  return Status();
}

}  // namespace relup::rt
