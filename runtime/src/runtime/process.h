// Process: one lightweight process — its mailbox, the code version it runs
// and its state. Kept compact (about 100 bytes) because a node holds up to
// millions of them.
//
// Ownership. At any moment at most one thread owns a process, and only the
// owner reads or writes `code`, `state`, and the mailbox's consumer side:
//   kScheduled  a scheduler worker owns it (queued in a run queue or running),
//   kLocked     an outside thread owns it for a sys operation (spawn's init,
//               suspend, change_code, get_state, ...).
//   kRunning    with kScheduled: a worker has taken it off its run queue and
//               is running its callbacks.
// Both are taken with a CAS on `ctl`. A process with neither bit is idle at a
// message boundary. A process that is kScheduled but not kRunning waits in a
// run queue, also at a message boundary: a sys operation may take it then
// (kLocked on top of kScheduled) instead of waiting for a worker to reach it;
// the worker that dequeues it sees kLocked (or kExited), clears kScheduled and
// drops it, and whoever lets go of kLocked reschedules it if mail is waiting.
// So the only waits a sys operation has are for a callback that is running.
// kSuspended: mail is not handled (never scheduled) but sys operations may
// still take it. kSysRequest: an outside thread waits for the owner to let go
// at the next message boundary. kExited: the process has ended; nothing takes
// it any more. kSignal, kTrapExit and kIdleTimer are flags, not ownership.
//
// Whoever lets go of a process (Impl::release) re-checks the mailbox after
// clearing its bit, and a sender checks `ctl` after pushing; both with seq_cst,
// so a message is never stranded in an idle process's mailbox.
//
// Lifetime: intrusive reference count. The pid table holds one reference
// while the process lives, a worker one while kScheduled, and every
// ProcessHandle one.
//
// `code` is also written under the process's pid-table shard lock so that
// listings (processes(), processes_running) can read it without owning the
// process.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "relup/code_server.h"
#include "relup/module_abi.h"
#include "relup/term.h"
#include "runtime/mailbox.h"

namespace relup::rt {

inline constexpr uint32_t kScheduled = 1u << 0;
inline constexpr uint32_t kLocked = 1u << 1;
inline constexpr uint32_t kSuspended = 1u << 2;
inline constexpr uint32_t kSysRequest = 1u << 3;
inline constexpr uint32_t kExited = 1u << 4;
inline constexpr uint32_t kRunning = 1u << 5;
// Exit signals wait for this process in the LinkTable; whoever owns it next,
// or lets go of it, handles them (runtime/exit_signals.cc).
inline constexpr uint32_t kSignal = 1u << 6;
// The process traps exits (ProcessContext::trap_exit); owner only writes it.
inline constexpr uint32_t kTrapExit = 1u << 7;
// A gen_server timeout is armed in the TimerService; owner only.
inline constexpr uint32_t kIdleTimer = 1u << 8;
inline constexpr uint32_t kOwned = kScheduled | kLocked;

// True when a sys operation may take the process now (with a CAS adding
// kLocked): idle, or waiting in a run queue; not running, not taken, not ended.
inline bool Takeable(uint32_t ctl) {
  return (ctl & (kLocked | kRunning | kExited)) == 0;
}

struct Process {
  explicit Process(Pid p) : pid(p) {}

  std::atomic<uint32_t> ctl{0};
  std::atomic<uint32_t> refs{1};
  Pid pid;
  Process* next_run = nullptr;  // intrusive run-queue link, scheduler only
  Mailbox mailbox;
  ModuleVersionPtr code;                    // owner (and shard lock) only
  Term state;                               // owner only
  std::unique_ptr<const std::string> name;  // registered name; set before publication
  RequestId next_request = 0;               // owner only

  const std::string& registered_name() const {
    static const std::string kNone;
    return name ? *name : kNone;
  }
};

}  // namespace relup::rt
