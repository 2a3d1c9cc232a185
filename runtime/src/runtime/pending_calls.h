// PendingCalls: outside threads blocked in Node::call, by call tag.
//
// An outside caller's From is {caller: 0, tag: T}. Whoever answers (the
// process's reply, the process's exit, the destruction of a mailbox that still
// holds the call) completes tag T; whoever removes T from the table first wins,
// so a reply that arrives after the caller timed out finds nothing and is
// dropped, and the waiter is never touched after its caller left.
//
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "relup/module_abi.h"
#include "relup/status.h"
#include "relup/term.h"

namespace relup::rt {

// One blocked caller. Reused by a thread for its successive calls.
struct CallWaiter {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;  // guarded by mu
  Status error;       // guarded by mu
  Term value;         // guarded by mu
};

class PendingCalls {
 public:
  // Registers a waiter for a call to `target`; returns its tag.
  uint64_t add(CallWaiter* w, Pid target);
  // Completes the call with a value or an error. False if nobody waits for it
  // any more (timed out, or already answered).
  bool complete(uint64_t tag, Term value);
  bool fail(uint64_t tag, const Status& error);
  // The caller gives up: true if it was still registered (nobody will touch
  // the waiter any more); false if an answer is being delivered right now.
  bool cancel(uint64_t tag);
  // Fails every call waiting on `target`.
  void fail_target(Pid target, const Status& error);

 private:
  struct Entry {
    CallWaiter* waiter;
    Pid target;
  };
  struct alignas(64) Shard {
    std::mutex mu;
    std::unordered_map<uint64_t, Entry> calls;
  };
  static constexpr size_t kShards = 16;

  CallWaiter* take(uint64_t tag);
  static void deliver(CallWaiter* w, Status error, Term value);

  std::atomic<uint64_t> next_tag_{1};
  std::atomic<size_t> count_{0};
  std::array<Shard, kShards> shards_;
};

}  // namespace relup::rt
