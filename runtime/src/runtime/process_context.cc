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
