#include "timers/timer_service.h"

namespace relup::rt {

namespace {

constexpr uint32_t kGenBits = 24;
constexpr uint32_t kGenMask = (1u << kGenBits) - 1;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TimerService::TimerService(Postman& postman) : postman_(postman) {}

TimerService::~TimerService() {
  stop();
}

uint64_t TimerService::RefId(uint32_t slot, uint32_t gen) {
  return (static_cast<uint64_t>(gen & kGenMask) << 32) | slot;
}

Result<Term> TimerService::start(Pid owner, int64_t ms, Term message) {
  if (ms < 0) {
    return Status::InvalidArgument("send_after needs a delay of 0 ms or more, not " +
                                   std::to_string(ms));
  }
  constexpr int64_t kMaxMs = int64_t{1} << 42;  // about 139 years: no overflow below
  if (ms > kMaxMs) ms = kMaxMs;
  int64_t due = NowNs() + ms * 1'000'000;
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return Status::Unavailable("the node is shutting down: no new timers");
  uint32_t slot = insert(owner.id, due, std::move(message), false);
  Term ref = Term::ref(RefKind::kTimer, RefId(slot, slots_[slot].gen));
  if (publish_next_due() && scheduler_ != nullptr) scheduler_->timers_changed();
  return ref;
}

Result<bool> TimerService::cancel(Pid owner, const Term& ref) {
  if (!ref.is_ref(RefKind::kTimer)) {
    return Status::InvalidArgument(
        "cancel_timer needs a timer ref (!timer N, as send_after "
        "returned it), not " +
        ref.to_yaml());
  }
  uint64_t id = ref.ref_id();
  uint32_t slot = static_cast<uint32_t>(id);
  uint32_t gen = static_cast<uint32_t>(id >> 32) & kGenMask;
  std::lock_guard<std::mutex> lock(mu_);
  // A generation this slot has not reached was never handed out (after a
  // wrap-around an old ref may read so too: it fired long ago anyway).
  if (slot >= slots_.size() || gen == 0 || gen > slots_[slot].gen) {
    return Status::NotFound("cancel_timer: " + ref.to_yaml() + " is not a timer this node started");
  }
  Slot& s = slots_[slot];
  if (s.gen != gen || s.heap_pos == kNone || s.idle) return false;  // fired or cancelled
  if (s.owner != owner.id) {
    return Status::FailedPrecondition("cancel_timer: timer " + ref.to_yaml() + " belongs to " +
                                      Pid{s.owner}.to_string() + ", not to " + owner.to_string() +
                                      "; only the process that started a timer can cancel it");
  }
  remove(slot);
  return true;
}

void TimerService::cancel_all(Pid owner) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = owners_.find(owner.id);
  if (it == owners_.end()) return;
  // remove() erases the owner's record with its last timer.
  while (it != owners_.end()) {
    uint32_t slot = it->second.head != kNone ? it->second.head : it->second.idle;
    if (slot == kNone) {
      owners_.erase(it);
      return;
    }
    remove(slot);
    it = owners_.find(owner.id);
  }
}

void TimerService::start_idle(Pid owner, int64_t ms) {
  if (ms < 0) return;
  int64_t due = NowNs() + std::min<int64_t>(ms, int64_t{1} << 42) * 1'000'000;
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  auto it = owners_.find(owner.id);
  if (it != owners_.end() && it->second.idle != kNone) remove(it->second.idle);
  uint32_t slot = insert(owner.id, due, Term(), true);
  owners_[owner.id].idle = slot;
  if (publish_next_due() && scheduler_ != nullptr) scheduler_->timers_changed();
}

void TimerService::cancel_idle(Pid owner) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = owners_.find(owner.id);
  if (it != owners_.end() && it->second.idle != kNone) remove(it->second.idle);
}

bool TimerService::take_idle(Pid owner, uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = owners_.find(owner.id);
  if (it == owners_.end() || it->second.idle == kNone) return false;
  uint32_t slot = it->second.idle;
  if (RefId(slot, slots_[slot].gen) != id) return false;
  remove(slot);  // pending only if it fired and was re-armed meanwhile: then it is not ours
  return true;
}

size_t TimerService::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return heap_.size();
}

size_t TimerService::pending(Pid owner) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = owners_.find(owner.id);
  if (it == owners_.end()) return 0;
  return it->second.count + (it->second.idle != kNone ? 1 : 0);
}

void TimerService::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    heap_.clear();
    slots_.clear();
    free_.clear();
    owners_.clear();
    publish_next_due();
  }
}

// ---------------------------------------------------------------- slab + lists

uint32_t TimerService::insert(uint64_t owner, int64_t due, Term message, bool idle) {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
    slots_.back().gen = 1;
  }
  Slot& s = slots_[slot];
  s.due = due;
  s.owner = owner;
  s.message = std::move(message);
  s.idle = idle;
  Owner& o = owners_[owner];
  if (!idle) {
    s.prev = kNone;
    s.next = o.head;
    if (o.head != kNone) slots_[o.head].prev = slot;
    o.head = slot;
    ++o.count;
  }
  heap_push(slot);
  return slot;
}

void TimerService::remove(uint32_t slot) {
  Slot& s = slots_[slot];
  if (s.heap_pos != kNone) heap_erase(s.heap_pos);
  auto it = owners_.find(s.owner);
  if (it != owners_.end()) {
    Owner& o = it->second;
    if (s.idle) {
      if (o.idle == slot) o.idle = kNone;
    } else {
      if (s.prev != kNone) slots_[s.prev].next = s.next;
      if (s.next != kNone) slots_[s.next].prev = s.prev;
      if (o.head == slot) o.head = s.next;
      --o.count;
    }
    if (o.count == 0 && o.idle == kNone) owners_.erase(it);
  }
  s.message = Term();
  s.prev = s.next = kNone;
  if (s.gen == kGenMask) {
    // Its generations are used up: a new one would repeat an old ref, which
    // could then cancel somebody's new timer. The slot is retired (56 bytes
    // per 16 million timers started in it).
    s.gen = kGenMask + 1;  // matches no ref; never reused
    return;
  }
  ++s.gen;
  free_.push_back(slot);
}

// ---------------------------------------------------------------- heap

void TimerService::place(uint32_t pos, HeapItem item) {
  heap_[pos] = item;
  slots_[item.slot].heap_pos = pos;
}

void TimerService::sift_up(uint32_t pos) {
  HeapItem item = heap_[pos];
  while (pos > 0) {
    uint32_t parent = (pos - 1) / 2;
    if (heap_[parent].due <= item.due) break;
    place(pos, heap_[parent]);
    pos = parent;
  }
  place(pos, item);
}

void TimerService::sift_down(uint32_t pos) {
  HeapItem item = heap_[pos];
  uint32_t n = static_cast<uint32_t>(heap_.size());
  for (;;) {
    uint32_t child = 2 * pos + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1].due < heap_[child].due) ++child;
    if (item.due <= heap_[child].due) break;
    place(pos, heap_[child]);
    pos = child;
  }
  place(pos, item);
}

void TimerService::heap_push(uint32_t slot) {
  heap_.push_back(HeapItem{slots_[slot].due, slot});
  sift_up(static_cast<uint32_t>(heap_.size() - 1));
}

void TimerService::heap_erase(uint32_t pos) {
  slots_[heap_[pos].slot].heap_pos = kNone;
  HeapItem last = heap_.back();
  heap_.pop_back();
  if (pos == heap_.size()) return;
  place(pos, last);
  sift_down(pos);
  sift_up(slots_[last.slot].heap_pos);
}

// ---------------------------------------------------------------- the workers' side

bool TimerService::publish_next_due() {
  int64_t next = heap_.empty() ? INT64_MAX : heap_.front().due;
  return next < next_due_.exchange(next, std::memory_order_seq_cst);
}

void TimerService::fire_due(int64_t now_ns) noexcept {
  struct Due {
    uint64_t owner;
    Term message;
    bool idle;
    uint64_t id;
  };
  // Fired in bounded batches, so one worker does not hold the lock (and
  // starve its processes) through a million timers due at once.
  constexpr size_t kBatch = 256;
  std::vector<Due> due;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      while (!heap_.empty() && heap_.front().due <= now_ns && due.size() < kBatch) {
        uint32_t slot = heap_.front().slot;
        Slot& s = slots_[slot];
        due.push_back(Due{s.owner, std::move(s.message), s.idle, RefId(slot, s.gen)});
        if (s.idle) {
          // Stays the owner's idle timer until take_idle: only out of the heap.
          heap_erase(s.heap_pos);
        } else {
          remove(slot);
        }
      }
      publish_next_due();
    }
    if (due.empty()) return;
    for (Due& d : due) {
      if (d.idle) {
        if (!postman_.post_idle_timeout(Pid{d.owner}, d.id)) cancel_idle(Pid{d.owner});
      } else {
        postman_.post_info(Pid{d.owner}, std::move(d.message));
      }
    }
    if (due.size() < kBatch) return;
    due.clear();
  }
}

}  // namespace relup::rt
