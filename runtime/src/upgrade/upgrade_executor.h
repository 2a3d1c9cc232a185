// UpgradeExecutor: runs a compiled upgrade (or downgrade) plan (relup/plan.h)
// against a live relup::Node, transactionally. It knows nothing about
// tarballs or the release store: ReleaseHandler finds the plan, gives the
// context (releases, where libraries are, the plan back) and records the
// result in the store.
//
// Run(plan) goes through these phases; the first failure stops it.
//   1. load      the plan's load_object_code libraries are first loaded in a
//                separate trial process (relup-trial, see trial/
//                trial_session.h): a static constructor that crashes, exits
//                or hangs ends only that process, and the upgrade is refused
//                naming the module and the signal, exit status or timeout.
//                Then they are loaded and checked
//                by the code server, staged: a new version does not yet
//                become the one spawn starts new processes on. Every step is
//                resolved (empty vsns, which version can go back). Failure:
//                refused, nothing paused, versions loaded here unloaded.
//   2. precheck  the affected processes are found by asking the node
//                (Node::processes_running(module, from_vsn) — never a static
//                list), and each one's state is read at a message boundary
//                and passed, as a copy, to the target version's code_change
//                (and, where a down path exists, the result back through the
//                old version's down code_change). Those calls run in the
//                trial process, never in the node: a code_change that
//                crashes, or runs past its step's timeout, fails the
//                precheck for that process, by name. Failure: refused,
//                nothing paused. A dry run stops after this phase and unloads.
//   3. rollout   the update segments and load steps, in plan order. A
//                single-module segment whose module can go back, and a load
//                step, run per process: suspend -> code_change (or
//                switch_code) -> resume. A multi-module (depends_on) segment
//                suspends all its processes, each with a snapshot (code +
//                state), and resumes them once all have changed. Modules
//                that cannot go back (see PlanContext::back), and with
//                `atomic` the whole plan, form the held group: it runs last
//                and stays suspended through the commit.
//   4. commit    the target versions become current (spawn starts new
//                processes on them from now on); processes spawned on an old
//                version during the rollout are found again and changed too,
//                until none is left; start, stop and apply steps run, in plan
//                order (they need the new code current); a stop only
//                suspends its process and frees its name (a later start may
//                take it), since terminate cannot be undone; the caller
//                records the new release (ExecuteOptions::record); the held
//                group resumes; the stopped processes end (terminate runs);
//                then delete_module and purge steps (a version some process still
//                runs stays loaded after a soft purge, with a warning).
// A failure in 3 or 4 rolls back: suspended processes are restored from
// their snapshots (old code, old state, exactly, in place); processes already
// resumed on the new code are taken back through the appup's down path
// (code_change on the old version with old_vsn !tuple [:down, "TO_VSN"]);
// processes started by the commit end, and stopped ones get their names back
// and resume; the old versions stay current; the new versions are unloaded. Messages sent
// meanwhile wait in the mailboxes and are handled after resume, in order: no
// message is lost. A straggler (suspend does not complete within the step's
// timeout) is resumed if it got suspended late, named, and rolls back.
//
// Processes spawned during an upgrade: new versions are loaded staged, so
// until the commit spawn keeps starting processes on the old code — exactly
// the processes the commit looks for again (Node::processes_running, until a
// round finds none) and changes like the others. After the commit spawn uses
// the new code, with the new version's init: no process is ever missed or
// left on a version about to be purged (a spawn that raced the switch is
// caught by one more sweep after the commit, or named in a warning). On a
// refusal or a rollback the new code was never current (or is made
// non-current again at once), so no process started on code that is then
// unloaded; one spawned in that instant is taken back by the down path, or
// named in the failures.
//
// A process that is busy beyond the timeout while the precheck reads its
// state is a straggler too: refused (nothing paused), named. A process
// suspended by someone else before the upgrade (relup suspend) is changed
// like the others but left suspended, with a warning.
//
// Pauses: between a process's suspend and its resume the executor does no
// I/O, no logging and no allocation beyond what code_change itself needs;
// everything is resolved before the first suspend. The held group and the
// processes of stop steps are the exception: they stay suspended through
// the commit's start and apply steps and ExecuteOptions::record (the release
// store's write), so that a failure there can still restore them.
//
// Thread-safety: one Run at a time per executor (ReleaseHandler serialises
// upgrades). Run blocks the calling thread, which must not be a scheduler
// worker. The progress callback is called on that thread, never while a
// process is suspended by the per-process rollout.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "upgrade/upgrade_report.h"
#include "relup/node.h"
#include "relup/plan.h"
#include "relup/release.h"
#include "relup/term.h"

namespace relup {

// What the rollout is running now, for a watchdog on another thread (see
// ExecuteOptions::watch). code_change runs in the node during the rollout
// and cannot be interrupted: one that overruns its step's timeout is named
// while it runs, and in the report's warnings once it returns.
struct RolloutWatch {
  std::atomic<uint64_t> pid{0};      // whose code is changing now; 0: none
  std::atomic<int64_t> since_ns{0};  // steady_clock time it started
  std::atomic<int64_t> timeout_ms{0};
  std::atomic<bool> back{false};  // a rollback taking it back
  mutable std::mutex mu;
  std::string module;  // guarded by mu; set before pid

  struct Running {
    Pid pid;
    std::string module;
    bool back = false;
    std::chrono::milliseconds elapsed{0};
    std::chrono::milliseconds timeout{0};
  };
  // The code_change running past its timeout now, if any.
  std::optional<Running> overdue(std::chrono::steady_clock::time_point now) const;
};

// What the executor needs besides the plan itself.
struct PlanContext {
  std::string from_release;  // release vsn the node runs now
  std::string to_release;    // release vsn the plan leads to
  bool downgrade = false;
  // The target release's manifest: resolves a step's empty vsn (the module's
  // vsn in the target release). Must outlive Run.
  const Release* target = nullptr;
  // Libraries are found at lib_root + "/" + ModuleLibraryPath(name, vsn).
  std::string lib_root;
  // The plan that takes the target release back to the running one (an
  // upgrade's down plan, a downgrade's up plan), or nullptr. A module whose
  // code_change step has a counterpart there (and whose old version has a
  // code_change) can be taken back process by process; a module without one
  // is held (see phase 3). Must outlive Run.
  const UpgradePlan* back = nullptr;
};

struct ExecuteOptions {
  bool dry_run = false;  // phases 1-2 only, then unload: nothing changes
  bool atomic = false;   // the whole plan is one group
  // Called with (done, total) processes: once with (0, total) when the
  // rollout starts (after the precheck, before the first suspend), then at
  // most every 50 ms as it advances, and once at the end. May be empty.
  std::function<void(size_t done, size_t total)> progress;
  // The same for the precheck (phase 2), which on a big node takes as long
  // as the rollout: (done, total) processes checked, at most every 50 ms and
  // once at its end. May be empty.
  std::function<void(size_t done, size_t total)> check_progress;
  // Called once at commit, after every change and step has succeeded and
  // before the held group resumes: the last moment at which a failure can
  // still roll everything back. The release handler records the new running
  // release here, so the store never names a release the processes do not
  // run. An error rolls back (step "record"). Not called on a dry run. May be
  // empty.
  std::function<Status()> record;
  // The trial helper (relup-trial) that loads new libraries and tries every
  // code_change before the node does (phases 1 and 2). Empty: the default,
  // next to the running executable (trial::DefaultTrialHelper). Without a
  // helper that starts, an upgrade that loads code or changes state is
  // refused: a crashing module must never reach the node untried.
  std::string trial_helper;
  // How long loading one library (its static constructors) may take in the
  // trial. A code_change's limit is its step's timeout.
  Millis trial_load_timeout{10000};
  // Updated around every code_change and code switch of the rollout and
  // the rollback, for a watchdog thread. May be null.
  RolloutWatch* watch = nullptr;
};

class UpgradeExecutor {
 public:
  explicit UpgradeExecutor(Node& node) : node_(node) {}

  // The report's outcome is ok, refused or rolled_back (see upgrade_report.h);
  // its release names, modules, process counts, pauses and timing are
  // filled in for every outcome.
  UpgradeReport Run(const UpgradePlan& plan, const PlanContext& context,
                    const ExecuteOptions& options = {});

 private:
  Node& node_;
};

}  // namespace relup
