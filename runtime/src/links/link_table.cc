#include "links/link_table.h"

#include <algorithm>

namespace relup::rt {

namespace {

bool Ended(const Process* p) {
  return (p->ctl.load(std::memory_order_seq_cst) & kExited) != 0;
}

template <class V, class Pred>
bool EraseFirst(V& v, Pred pred) {
  auto it = std::find_if(v.begin(), v.end(), pred);
  if (it == v.end()) return false;
  v.erase(it);
  return true;
}

// Locks one or two shards, lower index first.
class BothLocked {
 public:
  BothLocked(std::mutex& a, std::mutex& b, bool a_first) {
    if (&a == &b) {
      first_ = std::unique_lock<std::mutex>(a);
      return;
    }
    first_ = std::unique_lock<std::mutex>(a_first ? a : b);
    second_ = std::unique_lock<std::mutex>(a_first ? b : a);
  }

 private:
  std::unique_lock<std::mutex> first_, second_;
};

}  // namespace

void LinkTable::EraseIfEmpty(Shard& s, uint64_t pid) {
  auto it = s.map.find(pid);
  if (it != s.map.end() && it->second.empty()) s.map.erase(it);
}

Status LinkTable::link(Pid self, const Process* other) {
  Pid to = other->pid;
  if (to == self) return Status();
  Shard& a = shard(self.id);
  Shard& b = shard(to.id);
  BothLocked lock(a.mu, b.mu, self.id % kShards < to.id % kShards);
  if (Ended(other)) {
    return Status::NotFound("cannot link to " + to.to_string() + ": noproc (it has ended)");
  }
  Entry& ea = a.map[self.id];
  if (std::find(ea.links.begin(), ea.links.end(), to.id) != ea.links.end()) return Status();
  ea.links.push_back(to.id);
  b.map[to.id].links.push_back(self.id);
  return Status();
}

void LinkTable::unlink(Pid x, Pid y) {
  Shard& a = shard(x.id);
  Shard& b = shard(y.id);
  BothLocked lock(a.mu, b.mu, x.id % kShards < y.id % kShards);
  if (auto it = a.map.find(x.id); it != a.map.end()) {
    EraseFirst(it->second.links, [&](uint64_t v) { return v == y.id; });
    auto& sig = it->second.signals;
    sig.erase(std::remove_if(sig.begin(), sig.end(),
                             [&](const ExitSignal& e) { return e.link && e.from == y; }),
              sig.end());
    EraseIfEmpty(a, x.id);
  }
  if (auto it = b.map.find(y.id); it != b.map.end()) {
    EraseFirst(it->second.links, [&](uint64_t v) { return v == x.id; });
    EraseIfEmpty(b, y.id);
  }
}

uint64_t LinkTable::monitor(Pid watcher, const Process* target) {
  Shard& a = shard(watcher.id);
  Shard& b = shard(target->pid.id);
  BothLocked lock(a.mu, b.mu, watcher.id % kShards < target->pid.id % kShards);
  if (Ended(target)) return 0;
  uint64_t id = next_monitor_.fetch_add(1, std::memory_order_relaxed);
  a.map[watcher.id].monitoring.emplace_back(id, target->pid.id);
  b.map[target->pid.id].watched_by.emplace_back(id, watcher.id);
  return id;
}

Pid LinkTable::monitored(Pid watcher, uint64_t id) const {
  const Shard& a = shard(watcher.id);
  std::lock_guard<std::mutex> lock(a.mu);
  auto it = a.map.find(watcher.id);
  if (it == a.map.end()) return Pid{};
  for (const auto& [mid, target] : it->second.monitoring) {
    if (mid == id) return Pid{target};
  }
  return Pid{};
}

bool LinkTable::demonitor(Pid watcher, uint64_t id) {
  Pid target = monitored(watcher, id);
  if (!target.valid()) return false;
  Shard& a = shard(watcher.id);
  Shard& b = shard(target.id);
  BothLocked lock(a.mu, b.mu, watcher.id % kShards < target.id % kShards);
  bool found = false;
  if (auto it = a.map.find(watcher.id); it != a.map.end()) {
    found = EraseFirst(it->second.monitoring, [&](const auto& m) { return m.first == id; });
    EraseIfEmpty(a, watcher.id);
  }
  if (auto it = b.map.find(target.id); it != b.map.end()) {
    EraseFirst(it->second.watched_by, [&](const auto& m) { return m.first == id; });
    EraseIfEmpty(b, target.id);
  }
  // Not found here: the target's end took it between monitored() and the
  // lock, and its down message is on its way.
  return found;
}

ExitNotices LinkTable::on_exit(Pid pid, const Term& reason) {
  Entry gone;
  {
    Shard& s = shard(pid.id);
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.map.find(pid.id);
    if (it == s.map.end()) return {};
    gone = std::move(it->second);
    s.map.erase(it);
  }
  ExitNotices out;
  for (uint64_t peer : gone.links) {
    Shard& s = shard(peer);
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.map.find(peer);
    // A peer whose link was removed meanwhile (it unlinked, or ended first)
    // gets no signal.
    if (it == s.map.end() ||
        !EraseFirst(it->second.links, [&](uint64_t v) { return v == pid.id; })) {
      continue;
    }
    it->second.signals.push_back(ExitSignal{pid, reason, false, true});
    out.linked.push_back(Pid{peer});
  }
  for (const auto& [id, target] : gone.monitoring) {
    Shard& s = shard(target);
    std::lock_guard<std::mutex> lock(s.mu);
    if (auto it = s.map.find(target); it != s.map.end()) {
      EraseFirst(it->second.watched_by, [&, id = id](const auto& m) { return m.first == id; });
      EraseIfEmpty(s, target);
    }
  }
  for (const auto& [id, watcher] : gone.watched_by) {
    Shard& s = shard(watcher);
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.map.find(watcher);
    // Demonitored meanwhile: no down message.
    if (it == s.map.end() ||
        !EraseFirst(it->second.monitoring, [&, id = id](const auto& m) { return m.first == id; })) {
      continue;
    }
    EraseIfEmpty(s, watcher);
    out.watchers.emplace_back(id, Pid{watcher});
  }
  return out;
}

void LinkTable::push_signal(Pid to, ExitSignal signal) {
  Shard& s = shard(to.id);
  std::lock_guard<std::mutex> lock(s.mu);
  s.map[to.id].signals.push_back(std::move(signal));
}

std::vector<ExitSignal> LinkTable::take_signals(Pid pid) {
  Shard& s = shard(pid.id);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(pid.id);
  if (it == s.map.end()) return {};
  std::vector<ExitSignal> out = std::move(it->second.signals);
  it->second.signals.clear();
  EraseIfEmpty(s, pid.id);
  return out;
}

LinkTable::View LinkTable::view(Pid pid) const {
  View v;
  const Shard& s = shard(pid.id);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(pid.id);
  if (it == s.map.end()) return v;
  for (uint64_t l : it->second.links) v.links.push_back(Pid{l});
  for (const auto& [id, t] : it->second.monitoring) v.monitors.emplace_back(id, Pid{t});
  for (const auto& [id, w] : it->second.watched_by) v.monitored_by.emplace_back(id, Pid{w});
  std::sort(v.links.begin(), v.links.end());
  return v;
}

size_t LinkTable::entries() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.map.size();
  }
  return n;
}

}  // namespace relup::rt
