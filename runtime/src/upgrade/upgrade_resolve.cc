// Phases 1 (resolve the plan and load its libraries, staged) and 2 (find
// the affected processes and try every code_change on a copy of their state).
// Nothing here pauses a process.
#include <algorithm>
#include <set>
#include <variant>

#include "upgrade/upgrade_execution.h"

namespace relup::upgrade {

namespace {

constexpr size_t kMaxPrecheckFailures = 20;
// Trial request tags other than a process's index in procs_.
constexpr uint64_t kLoadTag = UINT64_MAX;        // a new library, tried before the node loads it
constexpr uint64_t kOldLibTag = UINT64_MAX - 1;  // a loaded version, for its down code_change

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

Status PlanError(const UpgradePlan& plan, const std::string& what) {
  return Status::Corruption("the plan from " + plan.vsn + " is malformed: " + what +
                            " (rebuild the release with relup build)");
}

}  // namespace

Result<std::string> Execution::TargetVsn(const std::string& module, const std::string& vsn) const {
  if (!vsn.empty()) return vsn;
  const ReleaseModule* m = ctx_.target->find_module(module);
  if (m == nullptr) {
    return PlanError(plan_, "a step names module " + module + " without a vsn, and release " +
                                ctx_.target->vsn + " has no module " + module);
  }
  return m->vsn;
}

bool Execution::LoadLibraries(const LoadObjectCodeStep& step) {
  CodeServer& code = node_.code_server();
  for (const ModuleRef& ref : step.modules) {
    Result<std::string> vsn = TargetVsn(ref.module, ref.vsn);
    if (!vsn.ok()) {
      Fail(nullptr, ref.module, "load", vsn.status());
      return false;
    }
    std::string path = ctx_.lib_root + "/" + ModuleLibraryPath(ref.module, *vsn);
    bool was_loaded = code.find(ref.module, *vsn) != nullptr;
    // New code runs first in the trial process: its static constructors
    // can crash, exit or hang there without touching the node.
    int64_t trial_id = -1;
    if (!was_loaded) {
      if (!StartTrial()) return false;
      trial_id = trial_->next_lib_id();
      trial::TrialRequest req{"loading " + ref.module + " " + *vsn + " (" + path + ")",
                              options_.trial_load_timeout, kLoadTag};
      Status s = trial_->Send(trial::LoadFrame(path, ref.module), std::move(req));
      if (s.ok()) s = trial_->Drain();
      if (!s.ok()) {
        Fail(nullptr, ref.module, "load",
             Status::FromCode(s.code(), s.message() +
                                            "; it was tried in a separate process before the "
                                            "node loads it, so the node is unchanged: fix the "
                                            "module's static initialisers and rebuild"));
        return false;
      }
      if (load_reply_.verdict != trial::TrialVerdict::kOk) {
        Fail(nullptr, ref.module, "load", load_reply_.status);
        return false;
      }
    }
    Result<ModuleVersionPtr> version = code.load_staged(path, ref.module);
    if (!version.ok()) {
      Fail(nullptr, ref.module, "load", version.status());
      return false;
    }
    if ((*version)->vsn() != *vsn) {
      // Loaded under another vsn: it is not ours to keep.
      loaded_.push_back({ref.module, (*version)->vsn(), *version,
                         !was_loaded && code.find(ref.module, (*version)->vsn()) == *version});
      Fail(nullptr, ref.module, "load",
           Status::ModuleError(path + " is " + ref.module + " version " + (*version)->vsn() +
                               ", but release " + ctx_.to_release + " expects version " + *vsn +
                               ": rebuild the release"));
      return false;
    }
    loaded_.push_back({ref.module, *vsn, *version, !was_loaded});
    if (trial_id >= 0) trial_libs_.emplace(version->get(), static_cast<uint32_t>(trial_id));
    const ReleaseModule* listed = ctx_.target->find_module(ref.module);
    if (listed != nullptr && listed->vsn == *vsn && !listed->sha256.empty() &&
        listed->sha256 != (*version)->info().sha256) {
      Fail(nullptr, ref.module, "load",
           Status::Corruption(path + " is not the library release " + ctx_.to_release +
                              " lists for " + ref.module + " " + *vsn + " (sha256 " +
                              listed->sha256.substr(0, 12) + "): reinstall the release"));
      return false;
    }
  }
  return true;
}

bool Execution::AddChange(Change change, Segment& segment) {
  change.to = node_.code_server().find(change.module, change.to_vsn);
  if (change.to == nullptr) {
    Fail(nullptr, change.module, "load",
         PlanError(plan_, "it changes " + change.module + " to version " + change.to_vsn +
                              " but no load_object_code step loads that version"));
    return false;
  }
  // Going down, the version left runs code_change: checked per running
  // version in the precheck.
  if (change.update && !change.step->down && change.to->callbacks().code_change == nullptr) {
    Fail(nullptr, change.module, "load",
         Status::ModuleError(change.module + " version " + change.to_vsn +
                             " has no code_change, but the plan's update instruction needs one: "
                             "give the module a code_change, or use load_module in the appup"));
    return false;
  }
  if (!change.update) {
    change.added = true;
    for (const ModuleVersionPtr& v : node_.code_server().loaded()) {
      if (v->name() == change.module && v->vsn() != change.to_vsn) change.added = false;
    }
  }
  if (change.update && ctx_.back != nullptr) {
    for (const PlanStep& back : ctx_.back->steps) {
      const auto* cc = std::get_if<CodeChangeStep>(&back);
      if (cc == nullptr || cc->module != change.module) continue;
      change.can_go_back = true;
      change.back_extra = cc->extra;
      break;
    }
  }
  change.segment = static_cast<uint32_t>(&segment - segments_.data());
  segment.changes.push_back(static_cast<uint32_t>(changes_.size()));
  changes_.push_back(std::move(change));
  return true;
}

bool Execution::Resolve() {
  if (ctx_.target == nullptr) {
    Fail("plan", Status::Internal("the upgrade executor was given no target release"));
    return false;
  }
  segments_.reserve(plan_.steps.size());  // AddChange keeps pointers into it stable
  int open = -1;                          // index of the open update segment
  for (const PlanStep& step : plan_.steps) {
    Status bad;
    bool ok = std::visit(
        Overloaded{
            [&](const LoadObjectCodeStep& s) { return LoadLibraries(s); },
            [&](const PointOfNoReturnStep&) { return true; },
            [&](const SuspendStep& s) {
              if (open >= 0) bad = PlanError(plan_, "a suspend step inside another update segment");
              Segment seg;
              seg.suspend_modules = s.modules;
              seg.timeout = s.timeout;
              seg.grouped = s.modules.size() > 1;
              segments_.push_back(std::move(seg));
              open = static_cast<int>(segments_.size()) - 1;
              return bad.ok();
            },
            [&](const CodeChangeStep& s) {
              if (open < 0) bad = PlanError(plan_, "a code_change step outside suspend/resume");
              Result<std::string> to = TargetVsn(s.module, s.to_vsn);
              if (!to.ok()) bad = to.status();
              if (!bad.ok()) return false;
              Change c;
              c.module = s.module;
              c.from_vsn = s.from_vsn;
              c.to_vsn = *to;
              c.step = &s;
              c.extra = s.extra;
              return AddChange(std::move(c), segments_[open]);
            },
            [&](const ResumeStep&) {
              if (open < 0) bad = PlanError(plan_, "a resume step without a suspend");
              open = -1;
              return bad.ok();
            },
            [&](const LoadStep& s) {
              if (open >= 0) bad = PlanError(plan_, "a load step inside an update segment");
              Result<std::string> to = TargetVsn(s.module, s.vsn);
              if (!to.ok()) bad = to.status();
              if (!bad.ok()) return false;
              Segment seg;
              seg.suspend_modules = {s.module};
              segments_.push_back(std::move(seg));
              Change c;
              c.update = false;
              c.module = s.module;
              c.to_vsn = *to;
              return AddChange(std::move(c), segments_.back());
            },
            [&](const StartStep&) { return commit_steps_.push_back({&step}), true; },
            [&](const StopStep&) { return commit_steps_.push_back({&step}), true; },
            [&](const SupervisorStep&) { return commit_steps_.push_back({&step}), true; },
            [&](const ApplyStep&) { return commit_steps_.push_back({&step}), true; },
            [&](const PurgeStep&) { return final_steps_.push_back({&step}), true; },
            [&](const DeleteModuleStep&) { return final_steps_.push_back({&step}), true; },
        },
        step);
    if (!bad.ok()) Fail("plan", bad);
    if (!ok) return false;
  }
  if (open >= 0) {
    Fail("plan", PlanError(plan_, "a suspend step without its resume"));
    return false;
  }
  return true;
}

std::vector<std::pair<Pid, ModuleVersionPtr>> Execution::FindRunning(const Change& change) const {
  std::vector<std::pair<Pid, ModuleVersionPtr>> out;
  for (const ModuleVersionPtr& v : node_.code_server().loaded()) {
    if (v->name() != change.module || v->vsn() == change.to_vsn) continue;
    if (!change.from_vsn.empty() && v->vsn() != change.from_vsn) continue;
    for (Pid pid : node_.processes_running(change.module, v->vsn())) out.emplace_back(pid, v);
  }
  // Spawn order: reports and rollouts read the same way every time.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

void Execution::AddProc(Pid pid, uint32_t change, uint32_t segment, ModuleVersionPtr from) {
  if (!known_.emplace(pid.id, procs_.size()).second) return;
  Proc p;
  p.pid = pid;
  p.keep_suspended = was_suspended_.count(pid.id) > 0;
  p.change = change;
  p.segment = segment;
  if (change != kNoChange && changes_[change].update) {
    p.old_vsn = changes_[change].step->old_vsn(from->vsn(), changes_[change].to_vsn);
  }
  p.from = std::move(from);
  procs_.push_back(std::move(p));
}

bool Execution::Precheck() {
  for (const ProcessStatus& s : node_.processes()) {
    if (!s.name.empty()) names_.emplace_back(s.pid, s.name);
    if (s.state == ProcessState::kSuspended) was_suspended_.insert(s.pid.id);
  }
  std::sort(names_.begin(), names_.end());

  // Processes come from the node, version by version: whoever runs the code now.
  for (uint32_t ci = 0; ci < changes_.size(); ++ci) {
    for (auto& [pid, version] : FindRunning(changes_[ci])) {
      AddProc(pid, ci, changes_[ci].segment, version);
    }
  }
  // A group also pauses the processes of its modules that do not change.
  for (uint32_t si = 0; si < segments_.size(); ++si) {
    if (!segments_[si].grouped) continue;
    for (const std::string& module : segments_[si].suspend_modules) {
      for (const ModuleVersionPtr& v : node_.code_server().loaded()) {
        if (v->name() != module) continue;
        for (Pid pid : node_.processes_running(module, v->vsn())) AddProc(pid, kNoChange, si, v);
      }
    }
  }

  size_t to_check = 0, checked = 0;
  for (const Proc& p : procs_) to_check += p.change != kNoChange && changes_[p.change].update;
  // A downgrade runs the code_change of the version each process leaves.
  std::set<const ModuleVersion*> lacking;
  for (const Proc& p : procs_) {
    if (p.change == kNoChange || !changes_[p.change].update) continue;
    const ModuleVersionPtr& runs = Newer(p);
    if (runs->callbacks().code_change != nullptr || !lacking.insert(runs.get()).second) continue;
    const Change& c = changes_[p.change];
    Fail(&p, c.module, "precheck",
         Status::ModuleError(c.module + " " + runs->vsn() + " has no code_change, so it cannot " +
                             "take the state of its processes down to " + c.to_vsn +
                             " (going down, the newer version's code_change runs, with old_vsn " +
                             p.old_vsn.to_yaml() + "): give " + c.module + " " + runs->vsn() +
                             " a code_change with a down clause, or use load_module in the "
                             "release's down appup"));
  }
  if (!lacking.empty()) return false;
  Tell(options_.check_progress, 0, to_check, true);
  // Each state is read here and its code_change tried in the trial process,
  // pipelined: the node reads the next states while the trial runs.
  std::string frame;
  for (size_t i = 0; i < procs_.size() && to_check > 0; ++i) {
    Proc& p = procs_[i];
    if (p.change == kNoChange) continue;
    Change& c = changes_[p.change];
    if (!c.update) continue;  // a code switch keeps the state as it is
    if (checked++ % 64 == 0) Tell(options_.check_progress, checked - 1, to_check, false);
    Result<Term> state = node_.get_state(p.pid, segments_[p.segment].timeout);
    if (!state.ok()) {
      StatusCode code = state.status().code();
      if (code == StatusCode::kNotFound || code == StatusCode::kProcessExited) {
        p.phase = Phase::kGone;
        continue;
      }
      if (++precheck_failed_ <= kMaxPrecheckFailures) {
        Fail(&p, c.module, "precheck", state.status().WithContext("reading its state"));
      }
      continue;
    }
    if (!StartTrial()) return false;
    auto [prefix, fresh] = trial_prefixes_.try_emplace({p.change, p.from.get()});
    if (fresh) {
      // The newer version's code_change runs both ways.
      uint32_t lib = TrialLib(Newer(p));
      int64_t back = c.can_go_back ? static_cast<int64_t>(lib) : -1;
      prefix->second = trial::CheckPrefix(lib, back, c.extra, BackOldVsn(p), c.back_extra);
    }
    frame.clear();
    trial::AppendCheckFrame(prefix->second, p.old_vsn, *state, &frame);
    trial::TrialRequest req{{}, segments_[p.segment].timeout, i};  // described on failure
    Status s = trial_->Send(frame, std::move(req));
    if (!s.ok()) {
      TrialDied(s);
      return false;
    }
  }
  if (trial_ != nullptr) {
    Status s = trial_->Drain();
    if (!s.ok()) {
      TrialDied(s);
      return false;
    }
  }
  Tell(options_.check_progress, checked, to_check, true);
  size_t failed = precheck_failed_;
  if (failed > kMaxPrecheckFailures) {
    report_.warnings.push_back(std::to_string(failed - kMaxPrecheckFailures) +
                               " more processes fail the precheck (only the first " +
                               std::to_string(kMaxPrecheckFailures) + " are listed)");
  }
  MarkHeld();
  return failed == 0;
}

bool Execution::StartTrial() {
  if (trial_ != nullptr) return true;
  std::string helper =
      options_.trial_helper.empty() ? trial::DefaultTrialHelper() : options_.trial_helper;
  std::string parent = node_.code_server().code_dir();
  if (parent.empty()) {
    // Only when the code server could not make its directory: no load can work either.
    Fail("precheck", Status::Unavailable("the code server has no code directory for the trial"));
    return false;
  }
  auto session = trial::TrialSession::Start(
      helper, parent,
      [this](const trial::TrialRequest& request, trial::TrialReply reply) {
        OnTrialReply(request, std::move(reply));
      },
      [this](uint64_t tag) {  // only process checks leave `what` empty
        const Proc& p = procs_[tag];
        const Change& c = changes_[p.change];
        return c.module + " " + Newer(p)->vsn() + "'s code_change (to " + c.to_vsn +
               ") on a copy of the state of " + ProcessName(p.pid);
      });
  if (!session.ok()) {
    Fail("precheck", session.status());
    return false;
  }
  trial_ = std::move(*session);
  return true;
}

const ModuleVersionPtr& Execution::Newer(const Proc& p) const {
  const Change& c = changes_[p.change];
  return c.step != nullptr && c.step->down ? p.from : c.to;
}

Term Execution::BackOldVsn(const Proc& p) const {
  const Change& c = changes_[p.change];
  return c.step != nullptr && c.step->down ? Term(c.to_vsn) : DownVsn(p.from->vsn());
}

uint32_t Execution::TrialLib(const ModuleVersionPtr& version) {
  auto [it, fresh] = trial_libs_.try_emplace(version.get(), trial_->next_lib_id());
  if (fresh) {
    trial::TrialRequest req{
        "loading " + version->name() + " " + version->vsn() + " (for its code_change)",
        options_.trial_load_timeout, kOldLibTag};
    // An error here (the trial process is gone) shows at the next Send.
    (void)trial_->Send(trial::LoadFrame(version->loaded_path(), version->name()), std::move(req));
  }
  return it->second;
}

void Execution::OnTrialReply(const trial::TrialRequest& request, trial::TrialReply reply) {
  if (request.tag == kLoadTag) {
    load_reply_ = std::move(reply);
    return;
  }
  if (reply.verdict == trial::TrialVerdict::kOk) return;
  if (request.tag == kOldLibTag) {
    Fail(nullptr, {}, "precheck", reply.status.WithContext(request.what + " in the trial process"));
    ++precheck_failed_;
    return;
  }
  Proc& p = procs_[request.tag];
  Change& c = changes_[p.change];
  if (reply.verdict == trial::TrialVerdict::kFailed) {
    if (++precheck_failed_ <= kMaxPrecheckFailures) {
      const std::string runs = c.module + " " + Newer(p)->vsn();
      Status why = reply.status.WithContext(runs + "'s code_change (old_vsn " +
                                            p.old_vsn.to_yaml() + ") on a copy of its state");
      if (c.step->down) {
        // Going down it is the newer version that must know the way.
        why = Status::FromCode(why.code(),
                               why.message() + "; fix: give " + runs +
                                   "'s code_change a clause for old_vsn " + p.old_vsn.to_yaml() +
                                   " that returns " + c.module + " " + c.to_vsn +
                                   "'s state, or go down one release at a time");
      }
      Fail(&p, c.module, "precheck", why);
    }
    return;
  }
  // The way back must work on the changed state, or the module is held.
  if (!c.can_go_back) return;
  c.can_go_back = false;
  report_.warnings.push_back(
      "module " + c.module + " cannot be taken back to " + p.from->vsn() + " by " + c.module +
      " " + Newer(p)->vsn() + "'s code_change with old_vsn " + BackOldVsn(p).to_yaml() + " (" +
      reply.status.message() + ", on " + ProcessName(p.pid) +
      "): its processes change as one group that a rollback restores from snapshots");
}

void Execution::TrialDied(const Status& why) {
  const trial::TrialRequest* req = trial_ != nullptr ? trial_->failed_request() : nullptr;
  Status reason =
      Status::FromCode(why.code(), why.message() +
                                       "; it ran in a separate trial process, so the node is "
                                       "unchanged: fix the module and build the release again");
  if (req != nullptr && req->tag < procs_.size()) {
    const Proc& p = procs_[req->tag];
    Fail(&p, changes_[p.change].module, "precheck", reason);
  } else {
    Fail("precheck", reason);
  }
}

void Execution::MarkHeld() {
  for (Segment& seg : segments_) {
    bool reversible = true;
    for (uint32_t ci : seg.changes)
      reversible = reversible && (!changes_[ci].update || changes_[ci].can_go_back);
    seg.held = options_.atomic || !reversible;
  }
  segment_procs_.assign(segments_.size(), {});
  for (uint32_t si = 0; si < segments_.size(); ++si) {
    for (uint32_t ci : segments_[si].changes) {
      for (size_t i = 0; i < procs_.size(); ++i) {
        if (procs_[i].change == ci) segment_procs_[si].push_back(i);
      }
    }
    for (size_t i = 0; i < procs_.size(); ++i) {
      if (procs_[i].change == kNoChange && procs_[i].segment == si) segment_procs_[si].push_back(i);
    }
    if (segments_[si].held) {
      held_.insert(held_.end(), segment_procs_[si].begin(), segment_procs_[si].end());
    }
  }
  total_ = 0;
  for (const Proc& p : procs_) total_ += (p.change != kNoChange && p.phase != Phase::kGone);
}

}  // namespace relup::upgrade
