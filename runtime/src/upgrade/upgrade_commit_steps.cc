// The commit's deferred steps (start, stop, supervisor, apply) and their
// undoing: a stopped process is only held (suspended, its name freed) until
// the commit is through; a supervisor step's specs are put back and its
// held children linked again on a rollback.
#include <algorithm>
#include <variant>

#include "relup/release.h"
#include "supervision/supervisor_client.h"
#include "upgrade/upgrade_execution.h"

namespace relup::upgrade {

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

}  // namespace relup::upgrade
