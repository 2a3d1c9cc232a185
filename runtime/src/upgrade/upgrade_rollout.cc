// Phases 3 (rollout) and 4 (commit), and the rollback. Between a process's
// suspend and its resume only node calls run: no I/O, no logging, and the
// only allocations are the ones code_change and snapshot themselves make.
#include <algorithm>
#include <variant>

#include "relup/release.h"
#include "supervision/supervisor_client.h"
#include "upgrade/upgrade_execution.h"

namespace relup::upgrade {

namespace {

constexpr int kNewcomerRounds = 20;
constexpr auto kProgressInterval = std::chrono::milliseconds(50);

bool IsGone(const Status& s) {
  return s.code() == StatusCode::kNotFound || s.code() == StatusCode::kProcessExited;
}

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

bool Execution::RunDeferred(const PlanStep& step) {
  if (const auto* s = std::get_if<StartStep>(&step)) {
    // Under the root supervisor, as the boot starts a release's processes,
    // so the target release's tree is what runs; a node without one (its
    // processes were spawned by hand) gets them unsupervised.
    if (node_.whereis(kRootSupervisorName).ok()) {
      Term specs = Term::list(ChildSpecs(s->process, 0, s->process.count));
      Result<Term> pids = supervision::CallSupervisor(node_, kRootSupervisorName, "start_children",
                                                      &specs, supervision::kStartTimeout);
      if (!pids.ok()) {
        Fail(nullptr, s->process.module, "start",
             pids.status().WithContext("starting " + ChildIdBase(s->process) + " under " +
                                       kRootSupervisorName));
        return false;
      }
      for (const Term& pid : pids->elements()) started_pids_.push_back(pid.as_pid());
      return true;
    }
    std::vector<std::string> names = RegisteredNames(s->process);
    if (names.empty()) names.assign(static_cast<size_t>(std::max(s->process.count, 1)), "");
    for (const std::string& name : names) {
      Result<Pid> pid = node_.spawn(s->process.module, s->process.args, SpawnOptions{name});
      if (!pid.ok()) {
        Fail(nullptr, s->process.module, "start",
             pid.status().WithContext("starting " + (name.empty() ? s->process.module : name)));
        return false;
      }
      started_pids_.push_back(*pid);
    }
    return true;
  }
  if (const auto* s = std::get_if<StopStep>(&step)) {
    std::vector<std::string> names = {s->name};
    for (int i = 1; node_.whereis(s->name + "_" + std::to_string(i)).ok(); ++i) {
      names.push_back(s->name + "_" + std::to_string(i));
    }
    for (const std::string& name : names) {
      if (!HoldForStop(name)) return false;
    }
    return true;
  }
  if (const auto* s = std::get_if<SupervisorStep>(&step)) return ChangeSupervisor(*s);
  if (const auto* s = std::get_if<ApplyStep>(&step)) {
    Result<Pid> pid = node_.spawn(s->module, s->init_args);
    if (!pid.ok()) {
      Fail(nullptr, s->module, "apply",
           pid.status().WithContext("starting a process for " + s->function));
      return false;
    }
    Result<Term> reply = node_.call(*pid, s->request(), s->timeout);
    (void)node_.exit(*pid, Term::atom("normal"));
    Status bad = reply.status();
    if (bad.ok() && reply->is_map() && reply->contains("error")) {
      bad = Status::CallbackError(s->function + " replied " + reply->to_yaml());
    }
    if (!bad.ok()) {
      Fail(nullptr, s->module, "apply", bad.WithContext(s->module + " " + s->function));
      return false;
    }
  }
  return true;
}

// A stop cannot be undone once terminate has run, and a later step of the
// commit (start, apply, record) may still fail: until the commit is through
// the process is only suspended (its mail waits) and its name set free.
bool Execution::HoldForStop(const std::string& name) {
  Result<Pid> pid = node_.whereis(name);
  if (!pid.ok()) return true;  // gone already: nothing to stop
  return HoldForStop(*pid, name);
}

bool Execution::HoldForStop(Pid pid, const std::string& name) {
  Result<ProcessStatus> status = node_.get_status(pid);
  // A process this upgrade changes may be suspended by it (the held group):
  // only a suspend from before the upgrade counts.
  auto known = known_.find(pid.id);
  size_t proc = known != known_.end() ? known->second : SIZE_MAX;
  bool was_suspended = proc != SIZE_MAX ? procs_[proc].keep_suspended
                                        : status.ok() && status->state == ProcessState::kSuspended;
  Status s = node_.suspend(pid, kDefaultTimeout);
  if (IsGone(s)) return true;
  std::string who = name.empty() ? pid.to_string() : name;
  if (!s.ok()) {
    Fail(nullptr, status.ok() ? status->module : "", "stop", s.WithContext("stopping " + who));
    return false;
  }
  // Only from this pid: if it ended meanwhile, a process that took the name
  // since keeps it.
  if (!name.empty() && !node_.unregister(name, pid).ok()) {
    bool held_here = proc != SIZE_MAX && (procs_[proc].phase == Phase::kSuspended ||
                                          procs_[proc].phase == Phase::kChanged);
    if (!was_suspended && !held_here) (void)node_.resume(pid);
    return true;
  }
  // A held-group member must not be resumed on the new code by the commit
  // only to be ended right after.
  if (proc != SIZE_MAX) procs_[proc].ending = true;
  stopping_.push_back(Stopping{pid, name, was_suspended, proc});
  return true;
}

// The supervisor takes the new specs; the children it lets go are held as a
// stop step's are, and the rollback gives it its old specs and children back.
bool Execution::ChangeSupervisor(const SupervisorStep& step) {
  Term request = Term::map(
      {{Term::atom("args"), step.args}, {Term::atom("start_stop"), Term(step.start_stop)}});
  Result<Term> changed =
      supervision::CallSupervisor(node_, ProcessRef(std::string_view(step.name)), "change_specs",
                                  &request, supervision::kStartTimeout);
  if (!changed.ok()) {
    Fail(nullptr, "supervisor", "supervisor",
         changed.status().WithContext("changing the child specs of " + step.name));
    return false;
  }
  changed_supervisors_.push_back({step.name, changed->at("saved")});
  std::vector<Term> stopped, names;
  std::vector<std::pair<Pid, std::string>> held;
  for (const Term& d : changed->at("detached").elements()) {
    Pid pid = d.at("pid").as_pid();
    Result<ProcessStatus> st = node_.get_status(pid);
    std::string name = st.ok() ? st->name : "";
    stopped.push_back(d.at("id"));
    if (!name.empty()) names.push_back(Term(name));
    held.emplace_back(pid, name);
  }
  report_.tree_changes.mutable_elements().push_back(
      Term::map({{Term::atom("supervisor"), Term(step.name)},
                 {Term::atom("started"), changed->at("started_ids")},
                 {Term::atom("stopped"), Term::list(std::move(stopped))},
                 {Term::atom("stopped_names"), Term::list(std::move(names))}}));
  for (const auto& [pid, name] : held) {
    if (!HoldForStop(pid, name)) return false;
  }
  return true;
}

void Execution::UndoSupervisors() {
  for (auto it = changed_supervisors_.rbegin(); it != changed_supervisors_.rend(); ++it) {
    Result<Term> back = supervision::CallSupervisor(node_, ProcessRef(std::string_view(it->first)),
                                                    "restore_specs", &it->second);
    if (!back.ok()) {
      Fail("rollback", back.status().WithContext("giving " + it->first + " its old child specs"));
    }
  }
}

void Execution::EndStopped() {
  for (const Stopping& s : stopping_) {
    supervision::ForgetChild(node_, s.pid);  // or its supervisor would start it again
    Status st = node_.exit(s.pid, Term::atom("shutdown"));
    if (!st.ok() && !IsGone(st)) {
      report_.warnings.push_back("stopping " + s.name + ": " + st.ToString());
    }
  }
}

void Execution::UndoStops() {
  for (auto it = stopping_.rbegin(); it != stopping_.rend(); ++it) {
    Status s = it->name.empty() ? Status::Ok() : node_.reregister(it->name, it->pid);
    if (!s.ok() && !IsGone(s)) {
      Fail("rollback", s.WithContext("giving " + it->pid.to_string() + " its name " + it->name +
                                     " back after undoing its stop"));
    }
    if (it->proc != SIZE_MAX) procs_[it->proc].ending = false;
    if (!it->was_suspended) (void)node_.resume(it->pid);
  }
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
