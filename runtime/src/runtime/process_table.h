// ProcessTable: every live process by pid; Registry: registered names.
//
// Pids are consecutive serials that are never reused, so the table is indexed
// by pid rather than hashed: pid id -> shard (id % kShards) -> slot
// (id / kShards), and a lookup is one lock plus two loads (the shard's chunk
// pointer, the slot), with no hashing and no per-process node to miss on.
// Slots live in fixed chunks of kChunkSlots; a chunk is allocated when its
// first pid is inserted and freed when it is empty and the shard's inserts
// have moved past it (a pid is never reissued, so it would stay empty).
// Memory: one 8 KiB chunk per kChunkSlots slots that still hold a live
// process (dense pids: ~8 bytes per live process, 1M processes ~8 MB), plus
// 8 bytes of chunk pointer per kShards * kChunkSlots (65,536) pids ever
// issued. So a long-lived node that spawns and ends many processes does not
// grow by 8 bytes per pid ever issued (20M pids issued, ~100 live: ~5 MB RSS).
//
// Sharding keeps spawns and lookups on different pids from contending; a
// lookup locks one shard briefly and takes a reference on the process before
// the lock is released, so a process found is never freed under the finder.
// A shard's lock also guards the `code` pointer of its processes against
// concurrent listing (see process.h).
//
// Thread-safe.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "relup/status.h"
#include "runtime/adaptive_mutex.h"
#include "runtime/process.h"

namespace relup::rt {

class ProcessTable {
 public:
  // Adds a process; the table keeps the reference the caller passes in.
  void insert(Process* p);
  // The process with that pid, with one more reference for the caller; or nullptr.
  Process* find(Pid pid) const;
  // Removes the process; true if it was there (its reference passes to the caller).
  bool erase(Pid pid);
  size_t size() const;

  // Runs fn() under the shard lock of `pid` (to publish a new `code`).
  template <class F>
  void with_shard_lock(Pid pid, F&& fn) {
    std::lock_guard<AdaptiveMutex> lock(shard(pid).mu);
    fn();
  }
  // Calls fn(const Process&) for every process, each under its shard lock,
  // shard by shard and by ascending pid within a shard (callers that need a
  // global order sort).
  // fn must not call back into the table.
  template <class F>
  void for_each(F&& fn) const {
    for (const Shard& s : shards_) {
      std::lock_guard<AdaptiveMutex> lock(s.mu);
      for (const std::unique_ptr<Chunk>& c : s.chunks) {
        if (!c) continue;
        for (Process* p : c->slots) {
          if (p != nullptr) fn(*p);
        }
      }
    }
  }

 private:
  static constexpr size_t kShards = 64;
  static constexpr size_t kChunkSlots = 1024;  // 8 KiB of slots
  struct Chunk {
    std::array<Process*, kChunkSlots> slots{};
    size_t live = 0;
  };
  struct alignas(64) Shard {
    mutable AdaptiveMutex mu;
    // chunks[i] holds slots [i * kChunkSlots, (i + 1) * kChunkSlots); null
    // if none of them is live.
    std::vector<std::unique_ptr<Chunk>> chunks;
    size_t top = 0;  // highest chunk index ever inserted into
    size_t live = 0;
  };
  static size_t slot_of(Pid pid) { return pid.id / kShards; }
  // The slot of `pid` in `s`, or nullptr if its chunk does not exist.
  static Process* const* lookup(const Shard& s, Pid pid);
  Shard& shard(Pid pid) { return shards_[pid.id % kShards]; }
  const Shard& shard(Pid pid) const { return shards_[pid.id % kShards]; }

  std::array<Shard, kShards> shards_;
};

class Registry {
 public:
  // AlreadyExists naming the current holder if the name is taken.
  Status add(const std::string& name, Pid pid);
  // Removes the name if `pid` still holds it; false if it does not.
  bool remove(const std::string& name, Pid pid);
  std::optional<Pid> find(std::string_view name) const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, Pid> names_;
};

}  // namespace relup::rt
