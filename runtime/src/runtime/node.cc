// relup::Node: the public face of Node::Impl, plus ProcessRef.
#include "relup/node.h"

#include "runtime/node_impl.h"

namespace relup {

namespace {

Status ShutDown() {
  return Status::Unavailable("the node is shut down; start a new node to run processes");
}

}  // namespace

// ---------------------------------------------------------------- ProcessRef

ProcessRef ProcessRef::parse(std::string_view text) {
  if (text.size() > 2 && text.front() == '<' && text.back() == '>') {
    Result<Pid> pid = Pid::parse(text);
    if (pid.ok()) return ProcessRef(*pid);
  }
  return ProcessRef(text);
}

std::string ProcessRef::to_string() const {
  return pid() ? pid()->to_string() : *name();
}

std::string RegisteredNameProblem(std::string_view name) {
  // The '<' test first: parse() copies a name into a ProcessRef.
  if (!name.empty() && name.front() == '<' && ProcessRef::parse(name).pid() != nullptr) {
    return "reads as a pid, so `relup call " + std::string(name) +
           "` would mean that pid, not this process";
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "contains a control character";
  }
  return "";
}

std::string_view ProcessStateName(ProcessState s) {
  switch (s) {
    case ProcessState::kRunnable:
      return "running";
    case ProcessState::kSuspended:
      return "suspended";
    case ProcessState::kExiting:
      return "exiting";
    case ProcessState::kBusy:
      return "busy";
  }
  return "unknown";
}

// ---------------------------------------------------------------- Node

Node::Node() : Node(Options{}) {}
Node::Node(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Node::~Node() {
  shutdown();
}

void Node::shutdown() {
  impl_->shutdown();
}

CodeServer& Node::code_server() {
  return impl_->code_server();
}

void Node::set_config(Term config) {
  impl_->config().set(std::move(config));
}

Term Node::config() const {
  return impl_->config().all();
}

#define RELUP_NODE_UP_()                          \
  do {                                            \
    if (impl_->is_shut_down()) return ShutDown(); \
  } while (0)

Result<Pid> Node::spawn(std::string_view module, Term args, SpawnOptions options) {
  RELUP_NODE_UP_();
  return impl_->spawn(module, std::move(args), options);
}

Result<Pid> Node::adopt(std::string_view module, Term state, SpawnOptions options) {
  RELUP_NODE_UP_();
  return impl_->adopt(module, std::move(state), options);
}

Result<Term> Node::call(const ProcessRef& to, Term request, Millis timeout) {
  RELUP_NODE_UP_();
  return impl_->call(to, std::move(request), timeout);
}

Status Node::cast(const ProcessRef& to, Term message) {
  RELUP_NODE_UP_();
  return impl_->post(to, rt::Message::Kind::kCast, std::move(message));
}

Status Node::send(const ProcessRef& to, Term message) {
  RELUP_NODE_UP_();
  return impl_->post(to, rt::Message::Kind::kInfo, std::move(message));
}

Status Node::exit(const ProcessRef& target, Term reason) {
  RELUP_NODE_UP_();
  return impl_->exit(target, std::move(reason));
}

Status Node::send_exit(const ProcessRef& target, Term reason) {
  RELUP_NODE_UP_();
  return impl_->send_exit(target, std::move(reason));
}

Result<Term> Node::resources(const ProcessRef& target) {
  RELUP_NODE_UP_();
  return impl_->resources(target);
}

Term Node::io_stats() const {
  return impl_->io_stats();
}

Status Node::suspend(const ProcessRef& target, Millis timeout) {
  RELUP_NODE_UP_();
  return impl_->suspend(target, timeout);
}

Status Node::resume(const ProcessRef& target) {
  RELUP_NODE_UP_();
  return impl_->resume(target);
}

Status Node::change_code(const ProcessRef& target, std::string_view module, const Term& old_vsn,
                         const Term& extra, std::string_view to_vsn) {
  RELUP_NODE_UP_();
  return impl_->change_code(target, module, old_vsn, extra, to_vsn);
}

Status Node::switch_code(const ProcessRef& target, std::string_view module,
                         std::string_view to_vsn) {
  RELUP_NODE_UP_();
  return impl_->switch_code(target, module, to_vsn);
}

Result<Term> Node::get_state(const ProcessRef& target, Millis timeout) {
  RELUP_NODE_UP_();
  return impl_->get_state(target, timeout);
}

Status Node::replace_state(const ProcessRef& target, std::function<Result<Term>(const Term&)> fn,
                           Millis timeout) {
  RELUP_NODE_UP_();
  return impl_->replace_state(target, fn, timeout);
}

Result<ProcessStatus> Node::get_status(const ProcessRef& target) {
  RELUP_NODE_UP_();
  return impl_->get_status(target);
}

Result<ProcessSnapshot> Node::snapshot(const ProcessRef& target) {
  RELUP_NODE_UP_();
  return impl_->snapshot(target);
}

Status Node::restore(const ProcessSnapshot& snapshot) {
  RELUP_NODE_UP_();
  return impl_->restore(snapshot);
}

Result<Pid> Node::whereis(std::string_view name) const {
  RELUP_NODE_UP_();
  return impl_->whereis(name);
}

Status Node::unregister(std::string_view name, Pid pid) {
  RELUP_NODE_UP_();
  return impl_->unregister(name, pid);
}

Status Node::reregister(std::string_view name, Pid pid) {
  RELUP_NODE_UP_();
  return impl_->reregister(name, pid);
}

std::vector<ProcessStatus> Node::processes() const {
  if (impl_->is_shut_down()) return {};
  return impl_->processes();
}

std::vector<Pid> Node::processes_running(std::string_view module, std::string_view vsn) const {
  if (impl_->is_shut_down()) return {};
  return impl_->processes_running(module, vsn);
}

Status Node::purge(std::string_view module, std::string_view vsn, PurgeMode mode) {
  RELUP_NODE_UP_();
  return impl_->purge(module, vsn, mode);
}

}  // namespace relup
