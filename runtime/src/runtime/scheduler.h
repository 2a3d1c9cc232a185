// Scheduler: worker threads that run processes.
//
// Each worker has a "next" slot and a local FIFO; other workers steal from the
// FIFO, and outside threads hand processes in through a shared injection
// queue. A process scheduled by a worker (e.g. the receiver of a message sent
// from a callback) goes into that worker's next slot, so a request/reply
// ping-pong between two processes stays on one warm thread without waking
// anybody; the process it displaces moves to the FIFO, where an idle worker
// can steal it. A worker runs at most kMaxStreak next-slot processes in a row
// before looking at its FIFO, and looks at the injection queue every
// kInjectEvery rounds, so nothing starves.
//
// Idle workers spin briefly, then sleep on a futex; a producer wakes one only
// when somebody sleeps.
//
// Timers are the workers' job too, as in OTP, where each scheduler keeps its
// timers: a worker fires the due ones (TimerHook::fire_due) after each
// process it runs and before it sleeps, and sleeps no longer than until the
// earliest deadline. A timer started and fired on one worker (a process
// sending itself a message after 0 ms, or a ping every second) so costs no
// thread hop and no system call. A new earliest deadline started from
// outside the workers wakes a sleeper (timers_changed); one started on a
// worker is seen by that worker when it goes idle. A sleeping worker wakes at
// least every kMaxTimerSleep (100 ms), which bounds how late a timer can be
// when the worker that started it is stuck in a long callback.
//
// The scheduler never looks inside a process beyond its next_run link: the
// caller sets kScheduled (and takes a reference) before schedule().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/adaptive_mutex.h"
#include "runtime/process.h"

namespace relup::rt {

// What the workers ask of the node's timers (TimerService implements it).
class TimerHook {
 public:
  // The earliest deadline (steady clock, ns), INT64_MAX if none. Lock-free.
  virtual int64_t next_due_ns() const noexcept = 0;
  // Fires every timer due at `now_ns` (their messages are delivered from the
  // calling worker).
  virtual void fire_due(int64_t now_ns) noexcept = 0;

 protected:
  ~TimerHook() = default;
};

class Scheduler {
 public:
  using RunFn = void (*)(void* ctx, Process* p);

  // Starts `workers` threads (0: one per core) calling run(ctx, p), and
  // firing `timers` (may be null).
  Scheduler(unsigned workers, RunFn run, void* ctx, TimerHook* timers = nullptr);
  ~Scheduler();  // stop(); the owner drains and drops what is left
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Thread-safe. Hands over a process whose kScheduled bit the caller set.
  void schedule(Process* p) noexcept;
  // Worker only: a process whose batch ran out but still has mail; goes to the
  // back of this worker's queue.
  void requeue(Process* p) noexcept;

  // Lets every worker finish the process it runs and joins them. Idempotent.
  void stop();
  // After stop(): takes the processes still queued (their kScheduled bit and
  // reference become the caller's to drop). schedule() after stop() only
  // queues, so call it again after anything that may have scheduled.
  std::vector<Process*> drain();

  // True on one of this scheduler's worker threads.
  bool on_worker_thread() const noexcept;
  // A timer with an earlier deadline than before was started: a sleeping
  // worker re-times its sleep. Thread-safe.
  void timers_changed() noexcept;
  unsigned worker_count() const { return static_cast<unsigned>(workers_.size()); }

 private:
  struct Queue {
    AdaptiveMutex mu;
    Process* head = nullptr;
    Process* tail = nullptr;
    std::atomic<size_t> len{0};

    void push(Process* p) noexcept;
    Process* pop() noexcept;
  };
  struct alignas(64) Worker {
    Queue queue;
    Process* next = nullptr;  // owner only
    unsigned streak = 0;
    uint32_t tick = 0;
    unsigned index = 0;
    std::thread thread;
  };

  void worker_main(Worker* w);
  Process* find_work(Worker* w) noexcept;
  bool poll_timers() noexcept;  // true if something was due
  void idle();
  void futex_wait(uint32_t expected, int64_t timeout_ns) noexcept;  // < 0: no timeout
  void futex_wake(int count) noexcept;
  bool has_visible_work() const noexcept;
  void wake_one() noexcept;

  static constexpr unsigned kMaxStreak = 32;
  static constexpr uint32_t kInjectEvery = 61;
  static constexpr int kSpins = 200;
  static constexpr int64_t kMaxTimerSleep = 100'000'000;  // ns

  RunFn run_;
  void* ctx_;
  TimerHook* timers_;
  std::vector<std::unique_ptr<Worker>> workers_;
  Queue inject_;
  std::atomic<uint32_t> sleepers_{0};
  std::atomic<uint32_t> epoch_{0};
  std::atomic<bool> stop_{false};
  std::mutex stop_mu_;
  bool stopped_ = false;  // guarded by stop_mu_
};

}  // namespace relup::rt
