// ProcessTable: every live process by pid; Registry: registered names.
//
// The pid table is sharded by pid (pids are consecutive, so shards fill
// evenly); a lookup locks one shard briefly and takes a reference on the
// process before the lock is released, so a process found is never freed
// under the finder. A shard's lock also guards the `code` pointer of its
// processes against concurrent listing (see process.h).
//
// Thread-safe.
#pragma once

#include <array>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "relup/status.h"
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
    std::lock_guard<std::mutex> lock(shard(pid).mu);
    fn();
  }
  // Calls fn(const Process&) for every process, each under its shard lock.
  // fn must not call back into the table.
  template <class F>
  void for_each(F&& fn) const {
    for (const Shard& s : shards_) {
      std::lock_guard<std::mutex> lock(s.mu);
      for (const auto& [id, p] : s.map) fn(*p);
    }
  }

 private:
  static constexpr size_t kShards = 64;
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::unordered_map<uint64_t, Process*> map;
  };
  Shard& shard(Pid pid) { return shards_[pid.id % kShards]; }
  const Shard& shard(Pid pid) const { return shards_[pid.id % kShards]; }

  std::array<Shard, kShards> shards_;
};

class Registry {
 public:
  // AlreadyExists naming the current holder if the name is taken.
  Status add(const std::string& name, Pid pid);
  // Removes the name if `pid` still holds it.
  void remove(const std::string& name, Pid pid);
  std::optional<Pid> find(std::string_view name) const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, Pid> names_;
};

}  // namespace relup::rt
