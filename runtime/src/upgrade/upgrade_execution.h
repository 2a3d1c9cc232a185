// Execution: the state of one UpgradeExecutor::Run (internal to the
// executor; see upgrade_executor.h for the contract). Split by phase:
//   upgrade_resolve.cc   phase 1 (resolve the plan, load staged) and 2 (precheck)
//   upgrade_rollout.cc   phase 3 (rollout), 4 (commit) and rollback
//   upgrade_commit_steps.cc  the commit's start, stop, supervisor and apply
//                        steps, and their undoing
//   upgrade_config.cc    the release configuration's diff, switch and undoing
//   upgrade_executor.cc  Run: the phases in order, and the report
//
// Everything a pause needs (pids, versions, old_vsn terms, snapshots' slots)
// is resolved into `procs` before the first suspend, so the code between a
// suspend and its resume only calls the node.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "relup/node.h"
#include "relup/plan.h"
#include "trial/trial_session.h"
#include "upgrade/upgrade_executor.h"
#include "upgrade/upgrade_report.h"

namespace relup::upgrade {

// A status saying the process is gone (it ended, or never was).
inline bool IsGone(const Status& s) {
  return s.code() == StatusCode::kNotFound || s.code() == StatusCode::kProcessExited;
}

using Clock = std::chrono::steady_clock;
inline constexpr uint32_t kNoChange = UINT32_MAX;

// A library the plan loads, and whether this run loaded it (then a failure unloads it).
struct LoadedVersion {
  std::string module;
  std::string vsn;
  ModuleVersionPtr version;
  bool loaded_here = false;
};

// One module whose processes change code: a code_change step (update) or a
// load step (code switch, state kept).
struct Change {
  bool update = true;
  bool added = false;  // a load step of a module the node had no version of (add_module)
  std::string module;
  std::string from_vsn;  // empty: every version other than to_vsn
  std::string to_vsn;
  ModuleVersionPtr to;
  const CodeChangeStep* step = nullptr;  // update only
  Term extra;
  // The way back for a process already resumed on to_vsn (update only; a
  // code switch goes back by switching): the back plan has a code_change
  // for the module. Its old_vsn is per process (Execution::BackOldVsn).
  bool can_go_back = false;
  Term back_extra;
  uint32_t segment = 0;
  size_t moved = 0;  // processes now on to_vsn
};

// An update segment (suspend, code_change..., resume) or a load step.
struct Segment {
  std::vector<uint32_t> changes;             // indices into Execution::changes
  std::vector<std::string> suspend_modules;  // every process of these is suspended (groups)
  Millis timeout = kDefaultTimeout;
  bool grouped = false;  // suspend all, change all, resume all
  bool held = false;     // part of the held group: runs last, resumed at commit
};

enum class Phase : uint8_t {
  kPending,    // not touched
  kSuspended,  // suspended, old code and state
  kChanged,    // suspended, new code (snapshot holds the old)
  kDone,       // resumed on the new code
  kGone,       // exited meanwhile: nothing to do
};

struct Proc {
  Pid pid;
  uint32_t change = kNoChange;  // kNoChange: a group member that is only paused
  uint32_t segment = 0;
  ModuleVersionPtr from;  // the version it ran when found
  Term old_vsn;           // code_change's old_vsn, for `from`
  ProcessSnapshot snapshot;
  Clock::time_point t0{};
  int64_t pause_us = -1;  // -1: never paused
  Phase phase = Phase::kPending;
  bool ending = false;          // held by a stop step: the commit ends it instead of resuming it
  bool keep_suspended = false;  // suspended by someone else before the upgrade: left so
};

// Steps that run at commit (start, stop, apply) or after it (purge, delete).
struct DeferredStep {
  const PlanStep* step;
};

class Execution {
 public:
  Execution(Node& node, const UpgradePlan& plan, const PlanContext& context,
            const ExecuteOptions& options);

  UpgradeReport Run();

 private:
  // Phase 1 (upgrade_resolve.cc): false on failure (recorded in report_).
  bool Resolve();
  bool LoadLibraries(const LoadObjectCodeStep& step);
  Result<std::string> TargetVsn(const std::string& module, const std::string& vsn) const;
  bool AddChange(Change change, Segment& segment);
  // Phase 2.
  bool Precheck();
  std::vector<std::pair<Pid, ModuleVersionPtr>> FindRunning(const Change& change) const;
  void AddProc(Pid pid, uint32_t change, uint32_t segment, ModuleVersionPtr from);
  void MarkHeld();
  // The trial process (phases 1-2): started on first use.
  bool StartTrial();
  // Whose code_change runs for p's update, both ways: the newer version
  // (the one changed to on an upgrade, the one left on a downgrade).
  const ModuleVersionPtr& Newer(const Proc& p) const;
  // old_vsn of p's way back: DownVsn(the vsn p ran) after an upgrade, the
  // vsn it was taken down to after a downgrade.
  Term BackOldVsn(const Proc& p) const;
  // The trial's id for a loaded version, loading it there first if needed.
  uint32_t TrialLib(const ModuleVersionPtr& version);
  void OnTrialReply(const trial::TrialRequest& request, trial::TrialReply reply);
  // Records the failure of a dead trial process against what it was doing.
  void TrialDied(const Status& why);

  // Phase 3 and 4 (upgrade_rollout.cc): false on failure (recorded).
  bool Rollout();
  bool RunProcess(Proc& p, Millis timeout);
  bool SuspendGroup(const std::vector<size_t>& members);
  bool ChangeGroup(const std::vector<size_t>& members);
  void ResumeGroup(const std::vector<size_t>& members);
  bool Commit();
  bool CatchNewcomers();
  // The commit's deferred steps (upgrade_commit_steps.cc).
  bool RunDeferred(const PlanStep& step);
  bool HoldForStop(const std::string& name);
  bool HoldForStop(Pid pid, const std::string& name);  // name may be empty
  bool ChangeSupervisor(const SupervisorStep& step);
  void UndoSupervisors();
  void EndStopped();
  void UndoStops();
  // Back in upgrade_rollout.cc.
  void SweepLateSpawns();
  void PurgeAndDelete();
  void Rollback();
  void TakeBack(Proc& p);

  // Release configuration (upgrade_config.cc).
  Term TargetConfig() const;
  void DiffConfig();    // report_.config_changes
  bool ChangeConfig();  // in the commit: the target's config, config_change
  void UndoConfig();    // on rollback: the old config back

  Status ChangeOne(const Proc& p);
  // Runs change (a code_change or switch of p's) under options_.watch, and
  // warns in the report if it overran the step's timeout.
  Status Watched(const Proc& p, bool back, const std::function<Status()>& change);
  Status Suspend(Proc& p, Millis timeout);
  void Resume(Proc& p);
  void Progress(bool force);
  // Calls fn(done, total) unless it is empty or, without force, the last
  // call of either progress callback was under 50 ms ago.
  void Tell(const std::function<void(size_t, size_t)>& fn, size_t done, size_t total, bool force);

  // Report helpers (upgrade_executor.cc).
  void Fail(const Proc* p, const std::string& module, std::string step, Status reason);
  void Fail(std::string step, Status reason) {
    Fail(nullptr, {}, std::move(step), std::move(reason));
  }
  std::string ProcessName(Pid pid) const;
  void UnloadStaged();
  void FinishReport();

  Node& node_;
  const UpgradePlan& plan_;
  const PlanContext& ctx_;
  const ExecuteOptions& options_;
  UpgradeReport report_;
  Clock::time_point started_ = Clock::now();

  std::vector<LoadedVersion> loaded_;
  std::vector<Change> changes_;
  std::vector<Segment> segments_;
  std::vector<Proc> procs_;
  std::unordered_map<uint64_t, size_t> known_;      // pid -> its index in procs_
  std::unordered_set<uint64_t> was_suspended_;      // suspended (relup suspend) when found
  std::vector<std::vector<size_t>> segment_procs_;  // procs of each segment, in change order
  std::vector<size_t> held_;                        // procs of the held group, in order
  std::vector<DeferredStep> commit_steps_;          // start / stop / apply
  std::vector<DeferredStep> final_steps_;           // purge / delete_module
  std::vector<std::pair<Pid, std::string>> names_;  // registered names, sorted by pid
  // Modules made current at commit, with the version that was current before.
  std::vector<std::pair<std::string, ModuleVersionPtr>> previous_current_;
  std::vector<Pid> started_pids_;  // by start steps, stopped again on rollback
  // Supervisors given new specs, with what restore_specs puts back.
  std::vector<std::pair<std::string, Term>> changed_supervisors_;
  Term previous_config_;  // the node's config before ChangeConfig
  bool config_switched_ = false;
  std::vector<std::string> config_told_;  // modules whose config_change ran
  // Processes of stop steps: suspended and unregistered at the step (so a
  // later start may take the name), ended once the commit is through, or
  // given their name back and resumed on rollback.
  struct Stopping {
    Pid pid;
    std::string name;
    bool was_suspended = false;  // by someone else before: left suspended on rollback
    size_t proc = SIZE_MAX;      // its index in procs_ if the upgrade changes it too
  };
  std::vector<Stopping> stopping_;

  std::unique_ptr<trial::TrialSession> trial_;
  std::unordered_map<const ModuleVersion*, uint32_t> trial_libs_;
  // Check frames' prefixes by (change, version the process runs).
  std::map<std::pair<uint32_t, const ModuleVersion*>, std::string> trial_prefixes_;
  trial::TrialReply load_reply_;  // of the last library load tried
  size_t precheck_failed_ = 0;
  const std::string* watched_module_ = nullptr;  // last module named in options_.watch

  size_t total_ = 0;  // processes to change
  size_t done_ = 0;
  Clock::time_point last_progress_{};
};

}  // namespace relup::upgrade
