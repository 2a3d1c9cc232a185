#include "runtime/scheduler.h"

#include "runtime/cpu_relax.h"

namespace relup::rt {
namespace {

// The worker running on this thread and the scheduler it belongs to.
thread_local const Scheduler* tls_scheduler = nullptr;
thread_local void* tls_worker = nullptr;

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

Scheduler::Scheduler(unsigned workers, RunFn run, void* ctx) : run_(run), ctx_(ctx) {
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
  epoch_.notify_one();
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
  // at the queues: one of the two sees the other (both seq_cst).
  if (!has_visible_work() && !stop_.load(std::memory_order_seq_cst)) {
    epoch_.wait(epoch, std::memory_order_seq_cst);
  }
  sleepers_.fetch_sub(1, std::memory_order_seq_cst);
}

void Scheduler::worker_main(Worker* w) {
  tls_scheduler = this;
  tls_worker = w;
  while (!stop_.load(std::memory_order_acquire)) {
    if (Process* p = find_work(w)) {
      run_(ctx_, p);
    } else {
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
  epoch_.notify_all();
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
