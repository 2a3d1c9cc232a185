// LinkTable: the links, monitors and pending exit signals of every process,
// keyed by pid. The runtime owns them, not the process: suspend, change_code,
// resume and rollback never touch them. Node::Impl turns what this table
// returns into exit signals and down messages (runtime/exit_signals.cc);
// the table itself only keeps the books.
//
// Semantics (OTP's): a link is symmetric and set at most once per pair; a
// monitor is one-way, identified by a ref id, and fires once. A process's
// entry exists only while it has a link, a monitor (either side) or a pending
// signal, so a process that uses none costs nothing here.
//
// Races with a process's end are closed by its kExited bit, which finalize
// sets before it calls on_exit: link and monitor look at the target's bit
// under the target's shard lock, and on_exit takes that lock, so a link or
// monitor either sees the target gone (noproc) or is in the entry on_exit
// empties.
//
// Thread-safety: every method may be called from any thread. Two shard locks
// are taken in index order.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "relup/term.h"
#include "runtime/process.h"

namespace relup::rt {

// An exit signal waiting for its target to be taken (see exit_signals.cc).
struct ExitSignal {
  Pid from;  // Pid{} from outside the node (relup kill)
  Term reason;
  bool kill = false;  // exit(pid, :kill) (never a link's): untrappable
  bool link = false;  // from a linked process's end: unlink drops it while it waits
};

// What a process's end has to tell others.
struct ExitNotices {
  // Each has a link signal queued (kSignal still to be set by the caller).
  std::vector<Pid> linked;
  std::vector<std::pair<uint64_t, Pid>> watchers;  // (monitor id, watcher): each gets down
};

class LinkTable {
 public:
  // Links `self` (alive: the caller owns it) and `other`. NotFound if
  // `other` has ended. Linking twice, or to itself, does nothing.
  Status link(Pid self, const Process* other);
  // Removes the link both ways; unlinking what is not linked does nothing.
  // A link signal from `b` still waiting for `a` is dropped too: once unlink
  // returns, the link has no effect on `a` (OTP's guarantee).
  void unlink(Pid a, Pid b);

  // `watcher` monitors `target`: the new monitor's id, or 0 if the target
  // has ended (the caller then sends :noproc at once).
  uint64_t monitor(Pid watcher, const Process* target);
  // An id no monitor has, for a :noproc down sent at once.
  uint64_t fresh_monitor_id() { return next_monitor_.fetch_add(1, std::memory_order_relaxed); }
  // true if the monitor was active (it is removed, no down will come).
  bool demonitor(Pid watcher, uint64_t id);
  // The target of one of watcher's active monitors, or Pid{} if none.
  Pid monitored(Pid watcher, uint64_t id) const;

  // `pid` ended with `reason` (its kExited bit is set): takes everything it
  // had and drops its pending signals. Each link is removed from the other
  // side too, and a link signal with `reason` is queued there in the same
  // step (under that side's lock), so unlink cannot miss it.
  ExitNotices on_exit(Pid pid, const Term& reason);

  // Pending exit signals, in the order they were sent.
  void push_signal(Pid to, ExitSignal signal);
  std::vector<ExitSignal> take_signals(Pid pid);

  // For `relup state`/resources: {links: [...], monitors: [...], monitored_by: [...]}
  struct View {
    std::vector<Pid> links;
    std::vector<std::pair<uint64_t, Pid>> monitors;      // (id, target)
    std::vector<std::pair<uint64_t, Pid>> monitored_by;  // (id, watcher)
  };
  View view(Pid pid) const;
  size_t entries() const;  // processes with anything here (tests: nothing leaks)

 private:
  struct Entry {
    std::vector<uint64_t> links;
    std::vector<std::pair<uint64_t, uint64_t>> monitoring;  // (id, target)
    std::vector<std::pair<uint64_t, uint64_t>> watched_by;  // (id, watcher)
    std::vector<ExitSignal> signals;
    bool empty() const {
      return links.empty() && monitoring.empty() && watched_by.empty() && signals.empty();
    }
  };
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::unordered_map<uint64_t, Entry> map;
  };
  static constexpr size_t kShards = 64;

  Shard& shard(uint64_t pid) { return shards_[pid % kShards]; }
  const Shard& shard(uint64_t pid) const { return shards_[pid % kShards]; }
  static void EraseIfEmpty(Shard& s, uint64_t pid);

  std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> next_monitor_{1};
};

}  // namespace relup::rt
