// UpgradeExecutor: runs a resolved upgrade (or downgrade) plan against a live
// relup::Node, transactionally. It knows nothing about tarballs, release
// files or the release store: ReleaseHandler turns a release's compiled plan
// into an ExecutionPlan (library paths resolved under the node root) and
// records the result in the store.
//
// Run(plan) goes through these phases; the first failure stops it.
//   1. load      every step's target library is loaded and checked by the
//                code server. A new version does not yet become the one new
//                processes start on. Failure: refused, nothing paused, the
//                versions loaded here are unloaded.
//   2. precheck  the affected processes are found by asking the node
//                (Node::processes_running(module, from_vsn) — never a static
//                list), and each one's state is read at a message boundary
//                and passed, as a copy, to the target version's code_change
//                (and, where a down path exists, the result back through the
//                old version's down code_change). Failure: refused, nothing
//                paused. A dry run stops after this phase and unloads.
//   3. rollout   per process: suspend -> code_change (or switch_code) ->
//                resume, in plan order. Processes of one depends_on group,
//                of a module without a down path, or of the whole plan with
//                `atomic`, are suspended together and resumed only once all
//                of them have changed, each with a snapshot (code + state).
//   4. commit    the target versions become current (spawn starts new
//                processes on them); processes spawned on an old version
//                during the rollout are found again and changed too; the
//                old versions are purged (soft).
// A failure in 3 or 4 rolls back: suspended processes are restored from
// their snapshots (old code, old state, exactly, in place); processes already
// resumed on the new code are taken back through the appup's down path
// (code_change on the old version with old_vsn !tuple [:down, "TO_VSN"]);
// the old versions stay current; the new versions are unloaded. Messages sent
// meanwhile wait in the mailboxes and are handled after resume, in order: no
// message is lost. A straggler (suspend does not complete within the step's
// timeout) is resumed if it got suspended late, named, and rolls back.
//
// Pauses: between a process's suspend and its resume the executor does no
// I/O, no logging and no allocation beyond what code_change itself needs;
// everything is resolved before the first suspend.
//
// Thread-safety: one Run at a time per executor (ReleaseHandler serialises
// upgrades). Run blocks the calling thread, which must not be a scheduler
// worker. The progress callback is called on that thread, never while a
// process is suspended by the per-process rollout.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "node/upgrade_report.h"
#include "relup/node.h"
#include "relup/term.h"

namespace relup {

// What happens to the processes of one module (OTP appup instructions).
enum class StepKind : uint8_t {
  kUpdate,  // update: suspend, code_change (state transform), resume
  kSwitch,  // load_module: code-only change, state kept as it is
  kAdd,     // add_module: load only; no process runs it yet
  kDelete,  // delete_module: the module's processes are ended (reason :killed)
            // and its code purged, at commit
};
std::string_view StepKindName(StepKind kind);  // "update", "load_module", ...

struct ModuleStep {
  StepKind kind = StepKind::kUpdate;
  std::string module;
  std::string from_vsn;  // version the affected processes run now; empty for kAdd
  std::string to_vsn;    // empty for kDelete
  std::string library;   // path of to_vsn's library (kUpdate, kSwitch, kAdd)
  // code_change's old_vsn: the string from_vsn on an upgrade, the tuple
  // !tuple [:down, "FROM_VSN"] on a downgrade (ReleaseHandler fills it in).
  Term old_vsn;
  Term extra;  // code_change's extra
  // Modules whose processes must change together with this one's (OTP
  // DepMods): all of them are suspended before any changes, and resumed
  // after all have changed; code_change runs on dependencies first.
  std::vector<std::string> depends_on;
  // Suspend timeout per process: a process that does not reach a message
  // boundary in time is a straggler.
  Millis timeout = kDefaultTimeout;
  // The release's down plan can take this module's processes back by a
  // code_change (old version has one and handles {down, to_vsn}). Without
  // it the module's processes change as one group, so rollback stays exact.
  bool has_down_path = false;
  Term down_extra;  // extra for that down code_change
};

struct ExecutionPlan {
  std::string from_release;
  std::string to_release;
  bool downgrade = false;
  std::vector<ModuleStep> steps;  // in the plan's order
};

struct ExecuteOptions {
  bool dry_run = false;  // phases 1-2 only, then unload: nothing changes
  bool atomic = false;   // the whole plan is one group
  // Called with (done, total) processes as the rollout advances, and once
  // with (total, total) at the end. May be empty.
  std::function<void(size_t done, size_t total)> progress;
};

class UpgradeExecutor {
 public:
  explicit UpgradeExecutor(Node& node) : node_(node) {}

  // The report's outcome is ok, refused or rolled_back (see upgrade_report.h);
  // its release names, modules, process counts, pauses and timing are
  // filled in for every outcome.
  UpgradeReport Run(const ExecutionPlan& plan, const ExecuteOptions& options = {});

 private:
  Node& node_;
};

}  // namespace relup
