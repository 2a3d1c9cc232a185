// Postman: how the runtime's services (timers, sockets) hand a message to a
// process without knowing the process table. Node::Impl implements it.
//
// Every method is thread-safe and never blocks: it pushes onto the target's
// mailbox, in order with the rest of its mail, even while the target is
// suspended. A message for a process that no longer lives is dropped and the
// call says so (false), so the caller can clean up what was meant for it.
#pragma once

#include <cstdint>

#include "relup/term.h"

namespace relup::rt {

class Postman {
 public:
  // A handle_info message.
  virtual bool post_info(Pid to, Term message) noexcept = 0;
  // The gen_server timeout `timer_id` of `to` ran out (see TimerService::start_idle).
  virtual bool post_idle_timeout(Pid to, uint64_t timer_id) noexcept = 0;
  // True while `pid` is a live process.
  virtual bool alive(Pid pid) noexcept = 0;

 protected:
  ~Postman() = default;
};

}  // namespace relup::rt
