#include "runtime/scheduler.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <ctime>

#include "runtime/cpu_relax.h"

namespace relup::rt {
namespace {

// The worker running on this thread and the scheduler it belongs to.
thread_local const Scheduler* tls_scheduler = nullptr;
thread_local void* tls_worker = nullptr;

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t),
              "the futex word must be a plain 32-bit integer");

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void Scheduler::Queue::push(Process* p) noexcept {
  p->next_run = nullptr;
  std::lock_guard<AdaptiveMutex> lock(mu);
  if (tail == nullptr) {
    head = tail = p;
  } else {
    tail->next_run = p;
    tail = p;
  }
  len.fetch_add(1, std::memory_order_seq_cst);
}

Process* Scheduler::Queue::pop() noexcept {
  if (len.load(std::memory_order_relaxed) == 0) return nullptr;
  std::lock_guard<AdaptiveMutex> lock(mu);
  Process* p = head;
  if (p == nullptr) return nullptr;
  head = p->next_run;
  if (head == nullptr) tail = nullptr;
  p->next_run = nullptr;
  len.fetch_sub(1, std::memory_order_relaxed);
  return p;
}

Scheduler::Scheduler(unsigned workers, RunFn run, void* ctx, TimerHook* timers)
    : run_(run), ctx_(ctx), timers_(timers) {
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
  workers_.reserve(workers);
  for (unsigned i = 0; i < workers; ++i) {
    auto w = std::make_unique<Worker>();
    w->index = i;
    workers_.push_back(std::move(w));
  }
  for (auto& w : workers_) w->thread = std::thread([this, p = w.get()] { worker_main(p); });
}

Scheduler::~Scheduler() {
  stop();
}

bool Scheduler::on_worker_thread() const noexcept {
  return tls_scheduler == this;
}

void Scheduler::schedule(Process* p) noexcept {
  if (tls_scheduler == this) {
    auto* w = static_cast<Worker*>(tls_worker);
    Process* displaced = w->next;
    w->next = p;
    if (displaced == nullptr) return;  // this worker runs it next; nobody to wake
    w->queue.push(displaced);
  } else {
    inject_.push(p);
  }
  wake_one();
}

void Scheduler::requeue(Process* p) noexcept {
  auto* w = static_cast<Worker*>(tls_worker);
  w->queue.push(p);
  wake_one();
}

void Scheduler::wake_one() noexcept {
  if (sleepers_.load(std::memory_order_seq_cst) == 0) return;
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  futex_wake(1);
}

void Scheduler::timers_changed() noexcept {
  if (tls_scheduler == this) return;  // this worker re-times its sleep when it gets there
  wake_one();
}

// epoch_ is the futex word (an aligned 32-bit atomic, as the kernel wants).
// The raw system call, not std::atomic::wait, because a sleep until the
// next timer needs a timeout.
void Scheduler::futex_wait(uint32_t expected, int64_t timeout_ns) noexcept {
  timespec ts{};
  timespec* tsp = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
    tsp = &ts;
  }
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&epoch_), FUTEX_WAIT_PRIVATE, expected, tsp,
            nullptr, 0);
}

void Scheduler::futex_wake(int count) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&epoch_), FUTEX_WAKE_PRIVATE, count, nullptr,
            nullptr, 0);
}

bool Scheduler::poll_timers() noexcept {
  if (timers_ == nullptr) return false;
  int64_t due = timers_->next_due_ns();
  if (due == INT64_MAX) return false;
  int64_t now = NowNs();
  if (now < due) return false;
  timers_->fire_due(now);
  return true;
}

bool Scheduler::has_visible_work() const noexcept {
  if (inject_.len.load(std::memory_order_seq_cst) != 0) return true;
  for (const auto& w : workers_) {
    if (w->queue.len.load(std::memory_order_seq_cst) != 0) return true;
  }
  return false;
}

Process* Scheduler::find_work(Worker* w) noexcept {
  if (++w->tick % kInjectEvery == 0) {
    if (Process* p = inject_.pop()) return p;
  }
  if (w->next != nullptr && w->streak < kMaxStreak) {
    ++w->streak;
    return std::exchange(w->next, nullptr);
  }
  w->streak = 0;
  if (Process* p = w->queue.pop()) return p;
  if (w->next != nullptr) return std::exchange(w->next, nullptr);
  if (Process* p = inject_.pop()) return p;
  size_t n = workers_.size();
  for (size_t i = 1; i < n; ++i) {
    Worker* victim = workers_[(w->index + i) % n].get();
    if (Process* p = victim->queue.pop()) return p;
  }
  return nullptr;
}

void Scheduler::idle() {
  for (int i = 0; i < kSpins; ++i) {
    if (has_visible_work() || stop_.load(std::memory_order_relaxed)) return;
    CpuRelax();
  }
  uint32_t epoch = epoch_.load(std::memory_order_seq_cst);
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  // A producer pushes, then reads sleepers_; we bumped sleepers_, then look
  // at the queues: one of the two sees the other (both seq_cst). The same
  // holds for a timer started from outside: it publishes its deadline, then
  // reads sleepers_ (timers_changed); we read the deadline after the bump.
  if (!has_visible_work() && !stop_.load(std::memory_order_seq_cst)) {
    // Never longer than kMaxTimerSleep, even with no timer pending: a timer
    // started by a worker that then stays in a long callback wakes nobody
    // (timers_changed skips workers), so the sleepers must look by
    // themselves. An idle worker so wakes 10 times a second.
    if (timers_ == nullptr) {
      futex_wait(epoch, -1);  // no timers: only work wakes it
    } else {
      int64_t wait = kMaxTimerSleep;
      int64_t due = timers_->next_due_ns();
      if (due != INT64_MAX) wait = std::min(wait, due - NowNs());
      if (wait > 0) futex_wait(epoch, wait);  // else a timer is due: no sleep
    }
  }
  sleepers_.fetch_sub(1, std::memory_order_seq_cst);
}

void Scheduler::worker_main(Worker* w) {
  tls_scheduler = this;
  tls_worker = w;
  while (!stop_.load(std::memory_order_acquire)) {
    if (Process* p = find_work(w)) {
      run_(ctx_, p);
      poll_timers();
    } else if (!poll_timers()) {
      idle();
    }
  }
  tls_scheduler = nullptr;
  tls_worker = nullptr;
}

void Scheduler::stop() {
  std::lock_guard<std::mutex> lock(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  stop_.store(true, std::memory_order_seq_cst);
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  futex_wake(INT_MAX);
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

std::vector<Process*> Scheduler::drain() {
  std::vector<Process*> left;
  for (auto& w : workers_) {
    if (w->next != nullptr) left.push_back(std::exchange(w->next, nullptr));
    while (Process* p = w->queue.pop()) left.push_back(p);
  }
  while (Process* p = inject_.pop()) left.push_back(p);
  return left;
}

}  // namespace relup::rt
