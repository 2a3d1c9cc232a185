// Phases 3 (rollout) and 4 (commit), and the rollback. Between a process's
// suspend and its resume only node calls run: no I/O, no logging, and the
// only allocations are the ones code_change and snapshot themselves make.
#include <algorithm>
#include <variant>

#include "supervision/supervisor_client.h"
#include "upgrade/upgrade_execution.h"

namespace relup::upgrade {

namespace {

constexpr int kNewcomerRounds = 20;
constexpr auto kProgressInterval = std::chrono::milliseconds(50);

}  // namespace

Status Execution::Suspend(Proc& p, Millis timeout) {
  p.t0 = Clock::now();
  Status s = node_.suspend(p.pid, timeout);
  if (s.ok()) {
    p.phase = Phase::kSuspended;
    return s;
  }
  if (IsGone(s)) {
    p.phase = Phase::kGone;
    return s;
  }
  if (s.code() == StatusCode::kTimeout) {
    return Status::Timeout("straggler: it did not reach a message boundary within " +
                           std::to_string(timeout.count()) +
                           " ms (still busy with a message); retry when it is idle, or raise "
                           "the instruction's timeout in the appup");
  }
  return s;
}

void Execution::Resume(Proc& p) {
  // A process someone suspended before the upgrade (relup suspend) changes
  // code like the others but stays suspended, as they left it.
  Status s = p.keep_suspended || p.ending ? Status::Ok() : node_.resume(p.pid);
  // Rounded up: a pause of 300 ns reads "1 us", an honest upper bound.
  int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - p.t0).count();
  p.pause_us = (ns + 999) / 1000;
  p.phase = p.phase == Phase::kChanged ? Phase::kDone : Phase::kPending;
  if (!s.ok() && !IsGone(s)) {
    report_.warnings.push_back("resuming " + ProcessName(p.pid) + ": " + s.ToString());
  }
}

Status Execution::ChangeOne(const Proc& p) {
  const Change& c = changes_[p.change];
  return Watched(p, false, [&] {
    if (c.update) return node_.change_code(p.pid, c.module, p.old_vsn, c.extra, c.to_vsn);
    return node_.switch_code(p.pid, c.module, c.to_vsn);
  });
}

Status Execution::Watched(const Proc& p, bool back, const std::function<Status()>& change) {
  const Change& c = changes_[p.change];
  Millis timeout = segments_[p.segment].timeout;
  Clock::time_point t0 = Clock::now();
  RolloutWatch* w = options_.watch;
  if (w != nullptr) {
    if (watched_module_ != &c.module) {
      std::lock_guard lock(w->mu);
      w->module = c.module;
      watched_module_ = &c.module;
    }
    w->timeout_ms.store(timeout.count(), std::memory_order_relaxed);
    w->back.store(back, std::memory_order_relaxed);
    w->since_ns.store(t0.time_since_epoch().count(), std::memory_order_relaxed);
    w->pid.store(p.pid.id, std::memory_order_release);
  }
  Status s = change();
  if (w != nullptr) w->pid.store(0, std::memory_order_release);
  auto took = std::chrono::duration_cast<Millis>(Clock::now() - t0);
  if (took > timeout) {
    report_.warnings.push_back(
        std::string(back ? "taking " : "") + ProcessName(p.pid) + (back ? " back: " : ": ") +
        c.module + "'s " + (c.update ? "code_change" : "code switch") + " took " +
        std::to_string(took.count()) + " ms, past the step's timeout of " +
        std::to_string(timeout.count()) +
        " ms (it ran in the node and could not be interrupted; the process stayed suspended)");
  }
  return s;
}

void Execution::Progress(bool force) {
  Tell(options_.progress, done_, total_, force);
}

void Execution::Tell(const std::function<void(size_t, size_t)>& fn, size_t done, size_t total,
                     bool force) {
  if (!fn) return;
  Clock::time_point now = Clock::now();
  if (!force && now - last_progress_ < kProgressInterval) return;
  last_progress_ = now;
  fn(done, total);
}

bool Execution::RunProcess(Proc& p, Millis timeout) {
  const Change& c = changes_[p.change];
  Status s = Suspend(p, timeout);
  if (!s.ok()) {
    if (p.phase == Phase::kGone) return true;
    Fail(&p, c.module, "suspend", s);
    return false;
  }
  s = ChangeOne(p);
  if (!s.ok()) {
    Resume(p);  // change_code left it on its old code and state
    Fail(&p, c.module, c.update ? "code_change" : "switch_code", s);
    return false;
  }
  p.phase = Phase::kChanged;
  Resume(p);
  ++changes_[p.change].moved;
  ++done_;
  Progress(false);
  return true;
}

bool Execution::SuspendGroup(const std::vector<size_t>& members) {
  for (size_t i : members) {
    Proc& p = procs_[i];
    if (p.phase != Phase::kPending) continue;
    const std::string& module = p.change != kNoChange ? changes_[p.change].module : p.from->name();
    Status s = Suspend(p, segments_[p.segment].timeout);
    if (!s.ok()) {
      if (p.phase == Phase::kGone) continue;
      Fail(&p, module, "suspend", s);
      return false;
    }
    if (p.change == kNoChange) continue;
    Result<ProcessSnapshot> snap = node_.snapshot(p.pid);
    if (!snap.ok()) {
      Fail(&p, module, "snapshot", snap.status());
      return false;
    }
    p.snapshot = std::move(*snap);
  }
  return true;
}

bool Execution::ChangeGroup(const std::vector<size_t>& members) {
  for (size_t i : members) {
    Proc& p = procs_[i];
    if (p.change == kNoChange || p.phase != Phase::kSuspended) continue;
    Status s = ChangeOne(p);
    if (!s.ok()) {
      Fail(&p, changes_[p.change].module, changes_[p.change].update ? "code_change" : "switch_code",
           s);
      return false;
    }
    p.phase = Phase::kChanged;
  }
  return true;
}

void Execution::ResumeGroup(const std::vector<size_t>& members) {
  for (size_t i : members) {
    Proc& p = procs_[i];
    if (p.phase != Phase::kSuspended && p.phase != Phase::kChanged) continue;
    bool changed = p.phase == Phase::kChanged;
    Resume(p);
    if (changed) {
      ++changes_[p.change].moved;
      ++done_;
    }
  }
  Progress(false);
}

bool Execution::Rollout() {
  Progress(true);  // (0, total): the rollout starts
  for (uint32_t si = 0; si < segments_.size(); ++si) {
    const Segment& seg = segments_[si];
    if (seg.held) continue;  // the held group goes last
    if (!seg.grouped) {
      for (size_t i : segment_procs_[si]) {
        if (procs_[i].phase == Phase::kGone) continue;
        if (!RunProcess(procs_[i], seg.timeout)) return false;
      }
      continue;
    }
    if (!SuspendGroup(segment_procs_[si]) || !ChangeGroup(segment_procs_[si])) return false;
    ResumeGroup(segment_procs_[si]);
  }
  // The held group stays suspended until the commit is through.
  return SuspendGroup(held_) && ChangeGroup(held_);
}

bool Execution::CatchNewcomers() {
  for (int round = 0; round < kNewcomerRounds; ++round) {
    size_t before = procs_.size();
    for (uint32_t ci = 0; ci < changes_.size(); ++ci) {
      for (auto& [pid, version] : FindRunning(changes_[ci])) {
        AddProc(pid, ci, changes_[ci].segment, version);
      }
    }
    if (procs_.size() == before) return true;
    total_ += procs_.size() - before;
    for (size_t i = before; i < procs_.size(); ++i) {
      Proc& p = procs_[i];
      const Segment& seg = segments_[p.segment];
      if (!seg.held) {
        if (!RunProcess(p, seg.timeout)) return false;
        continue;
      }
      held_.push_back(i);
      if (!SuspendGroup({i}) || !ChangeGroup({i})) return false;
    }
  }
  Fail("commit", Status::Unavailable(
                     "processes keep starting on the old code while the upgrade commits (" +
                     std::to_string(kNewcomerRounds) +
                     " rounds of newly found processes); retry when fewer are being spawned"));
  return false;
}

bool Execution::Commit() {
  CodeServer& code = node_.code_server();
  for (const LoadedVersion& l : loaded_) {
    previous_current_.emplace_back(l.module, code.current(l.module));
    Status s = code.make_current(l.module, l.vsn);
    if (!s.ok()) {
      Fail(nullptr, l.module, "commit", s);
      return false;
    }
  }
  if (!CatchNewcomers()) return false;
  // Before the start steps: a process they start reads the new config.
  if (!ChangeConfig()) return false;
  for (const DeferredStep& d : commit_steps_) {
    if (!RunDeferred(*d.step)) return false;
  }
  if (options_.record) {
    if (Status s = options_.record(); !s.ok()) {
      Fail("record", s.WithContext("recording release " + ctx_.to_release + " as running"));
      return false;
    }
  }
  ResumeGroup(held_);
  EndStopped();
  return true;
}

void Execution::SweepLateSpawns() {
  // A spawn that picked the old version just before it stopped being current
  // may be published after CatchNewcomers looked: change it now, or name it.
  size_t before = procs_.size();
  for (uint32_t ci = 0; ci < changes_.size(); ++ci) {
    for (auto& [pid, version] : FindRunning(changes_[ci])) {
      AddProc(pid, ci, changes_[ci].segment, version);
    }
  }
  total_ += procs_.size() - before;
  for (size_t i = before; i < procs_.size(); ++i) {
    Proc& p = procs_[i];
    size_t failures = report_.failures.size();
    if (RunProcess(p, segments_[p.segment].timeout)) continue;
    std::string why =
        report_.failures.size() > failures ? report_.failures.back().reason.message() : "";
    report_.failures.resize(failures);
    report_.warnings.push_back(ProcessName(p.pid) + ", spawned on " + p.from->name() + " " +
                               p.from->vsn() + " as the upgrade committed, stays on it: " + why);
  }
}

void Execution::PurgeAndDelete() {
  CodeServer& code = node_.code_server();
  for (const DeferredStep& d : final_steps_) {
    std::string module;
    PurgeMode mode = PurgeMode::kBrutal;
    std::string keep;
    if (const auto* p = std::get_if<PurgeStep>(&*d.step)) {
      module = p->module;
      mode = p->mode;
      Result<std::string> vsn = TargetVsn(module, "");
      if (vsn.ok()) keep = *vsn;
    } else {
      module = std::get<DeleteModuleStep>(*d.step).module;
    }
    for (const ModuleVersionPtr& v : code.loaded()) {
      if (v->name() != module || v->vsn() == keep) continue;
      Status s = node_.purge(module, v->vsn(), mode);
      if (!s.ok())
        report_.warnings.push_back("purge of " + module + " " + v->vsn() + ": " + s.message());
    }
  }
}

void Execution::TakeBack(Proc& p) {
  const Change& c = changes_[p.change];
  if (c.update && !c.can_go_back) {
    Fail(&p, c.module, "rollback",
         Status::FailedPrecondition("it runs " + c.module + " " + c.to_vsn +
                                    " and the release has no down path for that module, so it "
                                    "stays on the new code"));
    return;
  }
  int64_t first_pause = p.pause_us;
  Status s = Suspend(p, segments_[p.segment].timeout);
  if (!s.ok()) {
    if (p.phase == Phase::kGone) return;
    p.phase = Phase::kDone;
    Fail(&p, c.module, "rollback",
         s.WithContext("suspending it to take it back to " + p.from->vsn()));
    return;
  }
  s = Watched(p, true, [&] {
    return c.update ? node_.change_code(p.pid, c.module, BackOldVsn(p), c.back_extra, p.from->vsn())
                    : node_.switch_code(p.pid, c.module, p.from->vsn());
  });
  p.phase = s.ok() ? Phase::kSuspended : Phase::kChanged;  // kChanged: still on the new code
  Resume(p);
  p.pause_us = std::max(p.pause_us, first_pause);
  if (!s.ok()) {
    Fail(&p, c.module, "rollback",
         s.WithContext("taking it back to " + p.from->vsn() + "; it stays on " + c.to_vsn));
    return;
  }
  --changes_[p.change].moved;
  --done_;
}

void Execution::Rollback() {
  // Everything still suspended goes back exactly: first every restore, then
  // every resume, so members of a group never see each other half-restored.
  for (Proc& p : procs_) {
    if (p.phase != Phase::kChanged) continue;
    Status s = node_.restore(p.snapshot);
    if (s.ok()) {
      p.phase = Phase::kSuspended;
    } else {
      Fail(&p, changes_[p.change].module, "rollback", s.WithContext("restoring its snapshot"));
    }
  }
  for (Proc& p : procs_) {
    if (p.phase == Phase::kSuspended) {
      Resume(p);
    } else if (p.phase == Phase::kChanged) {
      Resume(p);  // the restore failed: it stays on the new code, named above
      ++changes_[p.change].moved;
      ++done_;
    }
  }
  UndoSupervisors();  // first: it stops the children it started and links the held ones
  for (auto it = started_pids_.rbegin(); it != started_pids_.rend(); ++it) {
    supervision::ForgetChild(node_, *it);
    (void)node_.exit(*it, Term::atom("shutdown"));
  }
  UndoStops();  // after the started ones are gone: they may hold the names

  CodeServer& code = node_.code_server();
  for (auto& [module, previous] : previous_current_) {
    if (previous != nullptr) (void)code.make_current(module, previous->vsn());
  }
  UndoConfig();  // on the code made current again
  // Processes spawned on the new code in the instant it was current.
  for (uint32_t ci = 0; ci < changes_.size() && !previous_current_.empty(); ++ci) {
    const Change& c = changes_[ci];
    ModuleVersionPtr old = code.current(c.module);
    if (old == nullptr || old == c.to) continue;
    for (Pid pid : node_.processes_running(c.module, c.to_vsn)) {
      if (known_.count(pid.id)) continue;
      AddProc(pid, ci, c.segment, old);
      procs_.back().phase = Phase::kDone;
    }
  }
  // Processes already resumed on the new code go back through the down path.
  for (size_t i = procs_.size(); i-- > 0;) {
    if (procs_[i].phase == Phase::kDone && procs_[i].change != kNoChange) TakeBack(procs_[i]);
  }
}

}  // namespace relup::upgrade
