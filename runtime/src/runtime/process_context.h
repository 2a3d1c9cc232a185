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

 private:
  template <class To>
  Result<RequestId> request(const To& to, Term request);

  Node::Impl* node_;
  Process* p_;
};

}  // namespace relup::rt
