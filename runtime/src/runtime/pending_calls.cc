#include "runtime/pending_calls.h"

#include <vector>

namespace relup::rt {

uint64_t PendingCalls::add(CallWaiter* w, Pid target) {
  {
    std::lock_guard<std::mutex> lock(w->mu);
    w->done = false;
    w->error = Status();
    w->value = Term();
  }
  uint64_t tag = next_tag_.fetch_add(1, std::memory_order_relaxed);
  Shard& s = shards_[tag % kShards];
  std::lock_guard<std::mutex> lock(s.mu);
  s.calls.emplace(tag, Entry{w, target});
  count_.fetch_add(1, std::memory_order_relaxed);
  return tag;
}

CallWaiter* PendingCalls::take(uint64_t tag) {
  Shard& s = shards_[tag % kShards];
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.calls.find(tag);
  if (it == s.calls.end()) return nullptr;
  CallWaiter* w = it->second.waiter;
  s.calls.erase(it);
  count_.fetch_sub(1, std::memory_order_relaxed);
  return w;
}

void PendingCalls::deliver(CallWaiter* w, Status error, Term value) {
  std::lock_guard<std::mutex> lock(w->mu);
  w->error = std::move(error);
  w->value = std::move(value);
  w->done = true;
  // Notify under the lock: once the caller sees done it may return and reuse
  // or destroy the waiter, so nothing may touch it after the unlock.
  w->cv.notify_one();
}

bool PendingCalls::complete(uint64_t tag, Term value) {
  CallWaiter* w = take(tag);
  if (w == nullptr) return false;
  deliver(w, Status(), std::move(value));
  return true;
}

bool PendingCalls::fail(uint64_t tag, const Status& error) {
  CallWaiter* w = take(tag);
  if (w == nullptr) return false;
  deliver(w, error, Term());
  return true;
}

bool PendingCalls::cancel(uint64_t tag) {
  return take(tag) != nullptr;
}

void PendingCalls::fail_target(Pid target, const Status& error) {
  if (count_.load(std::memory_order_relaxed) == 0) return;
  for (Shard& s : shards_) {
    std::vector<CallWaiter*> failed;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      for (auto it = s.calls.begin(); it != s.calls.end();) {
        if (it->second.target == target) {
          failed.push_back(it->second.waiter);
          it = s.calls.erase(it);
          count_.fetch_sub(1, std::memory_order_relaxed);
        } else {
          ++it;
        }
      }
    }
    for (CallWaiter* w : failed) deliver(w, error, Term());
  }
}

}  // namespace relup::rt
