// Context: the ProcessContext handed to a process's callbacks. Built on the
// stack around each callback (two pointers), valid only during it.
#pragma once

#include "relup/module_abi.h"
#include "relup/node.h"
#include "runtime/process.h"

namespace relup::rt {

class Context final : public ProcessContext {
 public:
  Context(Node::Impl* node, Process* p) : node_(node), p_(p) {}

  Pid self() const override { return p_->pid; }
  Status send(Pid to, Term message) override;
  Status send(std::string_view registered_name, Term message) override;
  Status cast(Pid to, Term message) override;
  Status cast(std::string_view registered_name, Term message) override;
  Result<RequestId> send_request(Pid to, Term request) override;
  Result<RequestId> send_request(std::string_view registered_name, Term request) override;
  void reply(const From& from, Term value) override;
  void log(std::string_view line) override;
  Result<Pid> whereis(std::string_view name) override;

  Result<Term> send_after(int64_t ms, Term message) override;
  Result<bool> cancel_timer(const Term& timer) override;

  Result<Spawned> spawn(std::string_view module, Term args, const SpawnOptions& options) override;
  Result<Term> monitor(Pid target) override;
  Result<Term> monitor(std::string_view registered_name) override;
  Result<bool> demonitor(const Term& monitor) override;
  Status link(Pid other) override;
  Status unlink(Pid other) override;
  bool trap_exit(bool on) override;
  Status exit(Pid target, Term reason) override;

  Result<Term> tcp_listen(std::string_view host, uint16_t port, const TcpOptions& options) override;
  Status tcp_accept(const Term& listener) override;
  Result<Term> tcp_connect(std::string_view host, uint16_t port,
                           const TcpOptions& options) override;
  Status tcp_send(const Term& socket, std::string_view data) override;
  Status tcp_activate(const Term& socket) override;
  Status tcp_close(const Term& socket) override;
  Status tcp_controlling_process(const Term& socket, Pid new_owner) override;
  Result<Term> tcp_peername(const Term& socket) override;
  Result<Term> tcp_sockname(const Term& socket) override;
  Status tcp_set_nodelay(const Term& socket, bool on) override;

  Term config(std::string_view key) override;

 private:
  template <class To>
  Result<RequestId> request(const To& to, Term request);

  Node::Impl* node_;
  Process* p_;
};

}  // namespace relup::rt
