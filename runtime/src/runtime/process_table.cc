#include "runtime/process_table.h"

namespace relup::rt {

Process* const* ProcessTable::lookup(const Shard& s, Pid pid) {
  size_t slot = slot_of(pid);
  size_t ci = slot / kChunkSlots;
  // Also the guard against pids never issued (Pid::parse takes any number).
  if (ci >= s.chunks.size()) return nullptr;
  const Chunk* c = s.chunks[ci].get();
  if (c == nullptr) return nullptr;
  return &c->slots[slot % kChunkSlots];
}

void ProcessTable::insert(Process* p) {
  Shard& s = shard(p->pid);
  size_t slot = slot_of(p->pid);
  size_t ci = slot / kChunkSlots;
  std::lock_guard<AdaptiveMutex> lock(s.mu);
  if (ci >= s.chunks.size()) s.chunks.resize(ci + 1);
  std::unique_ptr<Chunk>& c = s.chunks[ci];
  // A chunk may have been freed before a late insert of one of its pids
  // (spawns race between issuing a pid and inserting it): just make it again.
  if (!c) c = std::make_unique<Chunk>();
  Process*& cell = c->slots[slot % kChunkSlots];
  if (cell == nullptr) {
    ++c->live;
    ++s.live;
  }
  cell = p;
  if (ci > s.top) {
    // Inserts have moved past the old top chunk: if it is empty now, nothing
    // will fill it again (erase frees only chunks below the top).
    std::unique_ptr<Chunk>& old = s.chunks[s.top];
    if (old && old->live == 0) old.reset();
    s.top = ci;
  }
}

Process* ProcessTable::find(Pid pid) const {
  const Shard& s = shard(pid);
  std::lock_guard<AdaptiveMutex> lock(s.mu);
  Process* const* cell = lookup(s, pid);
  if (cell == nullptr || *cell == nullptr) return nullptr;
  (*cell)->refs.fetch_add(1, std::memory_order_relaxed);
  return *cell;
}

bool ProcessTable::erase(Pid pid) {
  Shard& s = shard(pid);
  size_t slot = slot_of(pid);
  size_t ci = slot / kChunkSlots;
  std::lock_guard<AdaptiveMutex> lock(s.mu);
  if (ci >= s.chunks.size() || !s.chunks[ci]) return false;
  Chunk& c = *s.chunks[ci];
  Process*& cell = c.slots[slot % kChunkSlots];
  if (cell == nullptr) return false;
  cell = nullptr;
  --c.live;
  --s.live;
  // Below the top chunk every pid has been issued, so an empty chunk stays
  // empty (bar a racing late insert, which reallocates it).
  if (c.live == 0 && ci < s.top) s.chunks[ci].reset();
  return true;
}

size_t ProcessTable::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard<AdaptiveMutex> lock(s.mu);
    n += s.live;
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

bool Registry::remove(const std::string& name, Pid pid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = names_.find(name);
  if (it == names_.end() || it->second != pid) return false;
  names_.erase(it);
  return true;
}

std::optional<Pid> Registry::find(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = names_.find(std::string(name));
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

}  // namespace relup::rt
