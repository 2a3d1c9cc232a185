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
// Idle workers spin briefly, then sleep on a futex (std::atomic::wait); a
// producer wakes one only when somebody sleeps.
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

class Scheduler {
 public:
  using RunFn = void (*)(void* ctx, Process* p);

  // Starts `workers` threads (0: one per core) calling run(ctx, p).
  Scheduler(unsigned workers, RunFn run, void* ctx);
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
  void idle();
  bool has_visible_work() const noexcept;
  void wake_one() noexcept;

  static constexpr unsigned kMaxStreak = 32;
  static constexpr uint32_t kInjectEvery = 61;
  static constexpr int kSpins = 200;

  RunFn run_;
  void* ctx_;
  std::vector<std::unique_ptr<Worker>> workers_;
  Queue inject_;
  std::atomic<uint32_t> sleepers_{0};
  std::atomic<uint32_t> epoch_{0};
  std::atomic<bool> stop_{false};
  std::mutex stop_mu_;
  bool stopped_ = false;  // guarded by stop_mu_
};

}  // namespace relup::rt
