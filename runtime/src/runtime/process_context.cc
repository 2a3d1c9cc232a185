#include "runtime/process_context.h"

#include "runtime/node_impl.h"

namespace relup::rt {

Status Context::send(Pid to, Term message) {
  return node_->deliver(to, Message::Kind::kInfo, std::move(message));
}

Status Context::send(std::string_view registered_name, Term message) {
  return node_->deliver(registered_name, Message::Kind::kInfo, std::move(message));
}

Status Context::cast(Pid to, Term message) {
  return node_->deliver(to, Message::Kind::kCast, std::move(message));
}

Status Context::cast(std::string_view registered_name, Term message) {
  return node_->deliver(registered_name, Message::Kind::kCast, std::move(message));
}

// The reply — or the error, when the target is unknown — always comes back as
// a message, so the requester has one place to handle both.
template <class To>
Result<RequestId> Context::request(const To& to, Term request) {
  RequestId id = ++p_->next_request;
  From from{p_->pid.id, static_cast<uint64_t>(id)};
  Status s = node_->deliver(to, Message::Kind::kCall, std::move(request), from);
  if (!s.ok()) node_->fail_reply(from, s);
  return id;
}

Result<RequestId> Context::send_request(Pid to, Term request) {
  return this->request(to, std::move(request));
}

Result<RequestId> Context::send_request(std::string_view registered_name, Term request) {
  return this->request(registered_name, std::move(request));
}

void Context::reply(const From& from, Term value) {
  node_->reply(from, std::move(value));
}

void Context::log(std::string_view line) {
  std::string text = Node::Impl::label(p_);
  text += ": ";
  text += line;
  node_->log(LogLevel::kInfo, text);
}

}  // namespace relup::rt

namespace relup::rt {

Result<Pid> Context::whereis(std::string_view name) {
  return node_->whereis(name);
}

// ---------------------------------------------------------------- timers

Result<Term> Context::send_after(int64_t ms, Term message) {
  return node_->timers().start(p_->pid, ms, std::move(message));
}

Result<bool> Context::cancel_timer(const Term& timer) {
  return node_->timers().cancel(p_->pid, timer);
}

// ---------------------------------------------------------------- processes

Result<Spawned> Context::spawn(std::string_view module, Term args, const SpawnOptions& options) {
  return node_->spawn_from(p_, module, std::move(args), options);
}

Result<Term> Context::monitor(Pid target) {
  return node_->monitor(p_, ProcessRef(target));
}

Result<Term> Context::monitor(std::string_view registered_name) {
  return node_->monitor(p_, ProcessRef(registered_name));
}

Result<bool> Context::demonitor(const Term& monitor) {
  return node_->demonitor(p_, monitor);
}

Status Context::link(Pid other) {
  return node_->link(p_, other);
}

Status Context::unlink(Pid other) {
  node_->unlink(p_, other);
  return Status();
}

bool Context::trap_exit(bool on) {
  uint32_t before = on ? p_->ctl.fetch_or(kTrapExit, std::memory_order_relaxed)
                       : p_->ctl.fetch_and(~kTrapExit, std::memory_order_relaxed);
  return (before & kTrapExit) != 0;
}

Status Context::exit(Pid target, Term reason) {
  return node_->signal(target, p_->pid, std::move(reason));
}

// ---------------------------------------------------------------- sockets

Result<Term> Context::tcp_listen(std::string_view host, uint16_t port, const TcpOptions& options) {
  return node_->sockets().listen(p_->pid, host, port, options);
}

Status Context::tcp_accept(const Term& listener) {
  return node_->sockets().accept(p_->pid, listener);
}

Result<Term> Context::tcp_connect(std::string_view host, uint16_t port, const TcpOptions& options) {
  return node_->sockets().connect(p_->pid, host, port, options);
}

Status Context::tcp_send(const Term& socket, std::string_view data) {
  return node_->sockets().send(p_->pid, socket, data);
}

Status Context::tcp_activate(const Term& socket) {
  return node_->sockets().activate(p_->pid, socket);
}

Status Context::tcp_close(const Term& socket) {
  return node_->sockets().close(p_->pid, socket);
}

Status Context::tcp_controlling_process(const Term& socket, Pid new_owner) {
  return node_->sockets().set_owner(p_->pid, socket, new_owner);
}

Result<Term> Context::tcp_peername(const Term& socket) {
  return node_->sockets().peername(p_->pid, socket);
}

Result<Term> Context::tcp_sockname(const Term& socket) {
  return node_->sockets().sockname(p_->pid, socket);
}

Status Context::tcp_set_nodelay(const Term& socket, bool on) {
  return node_->sockets().set_nodelay(p_->pid, socket, on);
}

Term Context::config(std::string_view key) {
  return node_->config().get(p_->code->name(), key);
}

}  // namespace relup::rt
