// TimerService: every pending timer of a node, keyed by the process that owns
// it (ProcessContext::send_after, and the gen_server timeout of a callback
// outcome).
//
// A timer lives in a slot of one slab (56 bytes with its message) and in a
// binary min-heap by deadline (16 bytes), and is linked into its owner's
// list so that a process's end cancels all of its timers at once. Its ref
// (!timer N) carries the slot and a generation, so cancel is O(log n)
// without a hash lookup, and a ref whose slot was reused reads as "already
// fired or cancelled", never as somebody else's timer.
//
// The scheduler's workers fire the timers (TimerHook; see scheduler.h): after
// each process they run and before they sleep, a worker whose clock passed
// the earliest deadline takes every due timer out under the lock and posts
// its message after letting go (Postman::post_info), so a timer's message
// lands in the mailbox like any other, in order, also while its owner is
// suspended; and an idle worker sleeps only until that deadline. A timer
// set and fired by one worker costs no thread hop and no system call. A
// process's timers are untouched by suspend, change_code, resume and
// rollback: only cancel, firing and the owner's end remove them.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "relup/status.h"
#include "relup/term.h"
#include "runtime/postman.h"
#include "runtime/scheduler.h"

namespace relup::rt {

class TimerService final : public TimerHook {
 public:
  explicit TimerService(Postman& postman);
  ~TimerService();
  // The scheduler whose sleeping workers a new earliest deadline wakes; set
  // once, before the first timer.
  void attach(Scheduler* scheduler) { scheduler_ = scheduler; }

  // TimerHook: for the workers.
  int64_t next_due_ns() const noexcept override {
    return next_due_.load(std::memory_order_seq_cst);
  }
  void fire_due(int64_t now_ns) noexcept override;
  TimerService(const TimerService&) = delete;
  TimerService& operator=(const TimerService&) = delete;

  // Sends `message` to `owner` after `ms` (>= 0) milliseconds; the timer ref.
  Result<Term> start(Pid owner, int64_t ms, Term message);
  // true: it was pending and will not fire; false: it fired or was cancelled
  // already. InvalidArgument for a term that is no timer ref, NotFound for a
  // ref this node never made, FailedPrecondition for another process's timer.
  Result<bool> cancel(Pid owner, const Term& ref);
  // The owner ended: its timers (and its idle timeout) are dropped.
  void cancel_all(Pid owner);

  // gen_server timeouts, at most one per process: start_idle replaces the
  // owner's previous one. When it runs out, Postman::post_idle_timeout gets
  // its id; take_idle tells whether that id is still the current one (and
  // forgets it), so a timeout overtaken by another message is dropped.
  void start_idle(Pid owner, int64_t ms);
  void cancel_idle(Pid owner);
  bool take_idle(Pid owner, uint64_t id);

  size_t pending() const;           // timers waiting, idle ones included
  size_t pending(Pid owner) const;  // of one process
  // No timer fires after this returns (the node is shutting down).
  void stop();

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr uint32_t kNone = UINT32_MAX;

  struct Slot {
    int64_t due = 0;  // Clock ns since epoch
    uint64_t owner = 0;
    Term message;
    uint32_t gen = 0;  // bumped when the slot is freed
    uint32_t heap_pos = kNone;
    uint32_t prev = kNone, next = kNone;  // the owner's list
    bool idle = false;
  };
  struct HeapItem {
    int64_t due;
    uint32_t slot;
  };
  struct Owner {
    uint32_t head = kNone;
    uint32_t count = 0;
    uint32_t idle = kNone;  // slot of the idle timeout
  };

  static uint64_t RefId(uint32_t slot, uint32_t gen);
  uint32_t insert(uint64_t owner, int64_t due, Term message, bool idle);  // mu_ held
  void remove(uint32_t slot);                                             // mu_ held
  void heap_push(uint32_t slot);
  void heap_erase(uint32_t pos);
  void sift_up(uint32_t pos);
  void sift_down(uint32_t pos);
  void place(uint32_t pos, HeapItem item);
  // mu_ held: publishes the heap's earliest deadline; true if it moved earlier.
  bool publish_next_due();

  Postman& postman_;
  Scheduler* scheduler_ = nullptr;
  std::atomic<int64_t> next_due_{INT64_MAX};

  mutable std::mutex mu_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::vector<HeapItem> heap_;
  std::unordered_map<uint64_t, Owner> owners_;
  bool stopped_ = false;
};

}  // namespace relup::rt
