#include "runtime/process_table.h"

namespace relup::rt {

void ProcessTable::insert(Process* p) {
  Shard& s = shard(p->pid);
  std::lock_guard<std::mutex> lock(s.mu);
  s.map.emplace(p->pid.id, p);
}

Process* ProcessTable::find(Pid pid) const {
  const Shard& s = shard(pid);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(pid.id);
  if (it == s.map.end()) return nullptr;
  it->second->refs.fetch_add(1, std::memory_order_relaxed);
  return it->second;
}

bool ProcessTable::erase(Pid pid) {
  Shard& s = shard(pid);
  std::lock_guard<std::mutex> lock(s.mu);
  return s.map.erase(pid.id) != 0;
}

size_t ProcessTable::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.map.size();
  }
  return n;
}

Status Registry::add(const std::string& name, Pid pid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = names_.emplace(name, pid);
  if (!inserted) {
    return Status::AlreadyExists("the name '" + name + "' is already registered to " +
                                 it->second.to_string() +
                                 "; pick another name or stop that process first");
  }
  return Status();
}

void Registry::remove(const std::string& name, Pid pid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = names_.find(name);
  if (it != names_.end() && it->second == pid) names_.erase(it);
}

std::optional<Pid> Registry::find(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = names_.find(std::string(name));
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

}  // namespace relup::rt
