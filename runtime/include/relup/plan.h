// The compiled upgrade plans of a release (releases/VSN/relup.yaml): OTP's
// relup file. `relup build` compiles the appup instructions of a release spec
// (update, load_module, add_module, delete_module, start, stop, apply) into
// ordered low-level steps; the node's upgrade executor runs them.
//
// A release R's PlanSet holds
//   up:   for each version R can be upgraded FROM (exact vsn or pattern), the
//         plan that takes a node running that version to R;
//   down: for each version R can be downgraded TO, the plan that takes a node
//         running R back to that version (whose release must be installed).
// Patterns are globs: '*' matches any run of characters, '?' one character
// ("1.*" matches "1.0" and "1.2.3"). find_up/find_down prefer an exact entry,
// then the first matching pattern in file order.
//
// "Target release": R for an up plan, the release being downgraded to for a
// down plan. A step's empty vsn means "the module's vsn in the target release"
// (read from its release.yaml): relup build leaves a vsn empty only when it
// cannot know it (a pattern, or a down plan built without --from).
//
// Step order as compiled (the executor may rely on it):
//   1. load_object_code   every library the plan needs, from the target
//                         release. Loading and checking happen here, before
//                         any process is touched; failing here touches nothing.
//   2. point_of_no_return  marker: from here on processes are touched. relup
//                         has no real point of no return: every later failure
//                         rolls every touched process back to its old code and
//                         state (snapshot/restore). Exactly one per plan.
//   3. the instructions, in the appup's order:
//        update       -> suspend(G), code_change (one per updated module of G,
//                        dependencies first), resume(G); G is the update's
//                        depends_on group. See "Update segments" below.
//        load_module  -> load (code switch, no state transform)
//        add_module   -> load (no process runs it yet; new spawns use it)
//        start / stop / apply -> the step of that name
//        update {supervisor: NAME} -> supervisor
//   4. purge / delete_module for the replaced or removed versions, last: they
//      drop old code and so end the possibility of rollback; the executor
//      runs them only once everything before has succeeded.
//
// Update segments: a suspend step is always followed by one or more
// code_change steps and then a resume step with the same module list; the
// segment does not nest. Every process running any module of the group is
// suspended before any code_change of the segment and resumed after all of
// them (processes of modules that must change together never see each other
// half-changed). For a group of one module the executor may pipeline per
// process (suspend, code_change, resume one process at a time) to keep each
// pause short.
//
// Pure data and pure functions: thread-compatible, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "relup/node.h"  // Millis, PurgeMode
#include "relup/release.h"
#include "relup/status.h"
#include "relup/term.h"

namespace relup {

inline constexpr int kPlanFormat = 1;

struct ModuleRef {
  std::string module;
  std::string vsn;  // empty: the module's vsn in the target release
};

// Loads (dlopen + descriptor checks) each listed version from the target
// release's files (path: ModuleLibraryPath). Nothing is paused.
struct LoadObjectCodeStep {
  std::vector<ModuleRef> modules;
};

struct PointOfNoReturnStep {};

// Suspends every process running any of `modules` (any version), waiting up
// to `timeout` for each to reach a message boundary. A timeout fails the plan.
struct SuspendStep {
  std::vector<std::string> modules;  // the depends_on group, sorted
  Millis timeout = kDefaultTimeout;
};

// Moves every (suspended) process running `module` to `to_vsn` through the
// code_change(old_vsn, state, extra) of the newer version (OTP's rule): on
// an upgrade to_vsn's, with old_vsn "FROM"; on a downgrade (down) that of
// the version the process runs, with old_vsn !tuple [:down, "TO"]. Implies
// the code switch: there is no separate load step inside an update segment.
// An error from any code_change fails the plan (and rolls back).
struct CodeChangeStep {
  std::string module;
  std::string from_vsn;  // the vsn left; empty if unknown at build time (the
                         // executor uses the vsn each process runs)
  std::string to_vsn;    // empty: the module's vsn in the target release
  bool down = false;     // part of a down plan
  Term extra;            // appup `extra`, nil if none

  // The old_vsn argument of code_change: from_vsn as a string on an upgrade
  // (`running_vsn` stands in for an empty one), DownVsn(to_vsn) on a
  // downgrade (`target_vsn` stands in for an empty one).
  Term old_vsn(std::string_view running_vsn = {}, std::string_view target_vsn = {}) const;
  // The vsn whose code_change runs, for a process running `running_vsn`
  // (to_vsn on an upgrade, the running one on a downgrade); "" if unknown.
  std::string runs_vsn(std::string_view running_vsn = {}) const {
    return down ? (from_vsn.empty() ? std::string(running_vsn) : from_vsn) : to_vsn;
  }
};

// Resumes every process suspended by the matching suspend step.
struct ResumeStep {
  std::vector<std::string> modules;  // same list as the suspend step
};

// Code-only change (OTP's load): every process running `module` moves to
// `vsn` at its next message boundary, state kept; new processes start on it.
struct LoadStep {
  std::string module;
  std::string vsn;  // empty: the module's vsn in the target release
};

// Starts processes, as a release.yaml process entry does at boot.
struct StartStep {
  ReleaseProcess process;
};

// Stops (exit with reason :shutdown, terminate runs) the process registered as
// `name` and the pool members name_1, name_2, ... that exist. None existing is
// not an error (the node may have stopped them already). Until the upgrade
// has committed they are only suspended and their names freed, so a later
// step may start processes under those names and a rollback can bring them
// back as they were.
struct StopStep {
  std::string name;
};

// Gives the running supervisor registered as `name` the child specs of the
// target release (OTP's `update supervisor`, made to do what users expect):
// `args` are its start args there (strategy, intensity, period_ms,
// children). Strategy and intensity apply at once; a changed child spec is
// used from the child's next restart; with start_stop, new children start
// and children gone from the specs are held like a stop step's processes
// and stopped once the commit is through. A rollback puts the old specs
// and children back (supervision/tree_change.h). The root supervisor
// (relup_root) gets start_stop false: its children come and go by start and
// stop steps.
struct SupervisorStep {
  std::string name;
  Term args;
  bool start_stop = true;
};

// Calls a function of a module once. The executor spawns a temporary,
// unregistered process of `module` (its vsn in the target release) with init
// args `init_args`, calls it with the request {apply: FUNCTION, args: ARGS}
// (a map; FUNCTION an atom), waits up to `timeout` for the reply, then stops
// the process. An error, an {error: ...} map reply or a timeout fails the plan.
struct ApplyStep {
  std::string module;
  std::string function;
  Term args;
  Term init_args;
  Millis timeout = kDefaultTimeout;

  Term request() const;  // {apply: :FUNCTION, args: ARGS}
};

// Drops every loaded version of `module` other than its vsn in the target
// release (Node::purge). kSoft: a version some process still runs is kept
// (and reported); kBrutal: such processes are killed first.
struct PurgeStep {
  std::string module;
  PurgeMode mode = PurgeMode::kSoft;
};

// The module is not part of the target release: processes still running it
// are killed and every loaded version of it is dropped (OTP's delete_module,
// whose purge is brutal).
struct DeleteModuleStep {
  std::string module;
};

using PlanStep =
    std::variant<LoadObjectCodeStep, PointOfNoReturnStep, SuspendStep, CodeChangeStep, ResumeStep,
                 LoadStep, StartStep, StopStep, SupervisorStep, ApplyStep, PurgeStep,
                 DeleteModuleStep>;

// The step's name as written in relup.yaml: "load_object_code", "suspend", ...
std::string_view StepName(const PlanStep& step);
// One readable line, e.g. "code_change demo_server 1 -> 2 (extra: ~)".
std::string DescribeStep(const PlanStep& step);

struct UpgradePlan {
  std::string vsn;         // up: the from-version; down: the to-version (exact or pattern)
  bool generated = false;  // generated by relup build from a release difference
  std::vector<PlanStep> steps;
};

struct PlanSet {
  std::string release;  // release name
  std::string vsn;      // this release's vsn
  std::vector<UpgradePlan> up;
  std::vector<UpgradePlan> down;

  // The plan to upgrade to this release from `running_vsn`, or nullptr.
  const UpgradePlan* find_up(std::string_view running_vsn) const;
  // The plan to downgrade from this release to `target_vsn`, or nullptr.
  const UpgradePlan* find_down(std::string_view target_vsn) const;
};

bool IsVersionPattern(std::string_view vsn);  // contains '*' or '?'
bool VersionMatches(std::string_view pattern, std::string_view vsn);

// Canonical YAML text of relup.yaml (deterministic). Shape:
//   format: 1
//   release: demo
//   vsn: "2"
//   up:
//     - from: "1"
//       generated: false
//       steps:
//         - {op: load_object_code, modules: [{module: demo_server, vsn: "2"}]}
//         - {op: point_of_no_return}
//         - {op: suspend, modules: [demo_server], timeout: 5000}
//         - {op: code_change, module: demo_server, from_vsn: "1", to_vsn: "2", extra: ~}
//         - {op: resume, modules: [demo_server]}
//         - {op: purge, module: demo_server, mode: soft}
//   down:
//     - to: "1"
//       ...
// Terms (extra, args, init_args) are in their YAML text form.
std::string PlanSetToYaml(const PlanSet& plans);

// Parses relup.yaml. Errors are Corruption "SOURCE:LINE:COL: what is wrong".
Result<PlanSet> ParsePlanSetYaml(std::string_view text, std::string_view source_name);

}  // namespace relup
