// RunRoundTrip: `relup check OLD NEW`, the CI gate for one upgrade.
//
// It boots a scratch node (a fresh 0700 directory under $TMPDIR, removed
// afterwards, whatever happens) on OLD, with OLD's own processes plus one
// process per entry of the states file, and then, through the node's
// control socket exactly as `relup apply` and `relup downgrade` would:
//   1. applies NEW            (S1: every state after the upgrade)
//   2. downgrades to OLD      (S2 must equal S0, the states before)
//   3. applies NEW again      (S3 must equal S1)
// It checks that no process crashed, that every process of a module whose
// version differs ran the new version after each up and the old one after
// the down, and it keeps each step's pause and time figures.
//
// Processes are followed by registered name, else by pid. One that a step
// stops or restarts (a plan's stop/start) is reported, not compared.
//
// States file: a YAML map from module name to a list of entries; each entry
// is the init args of one more process of that module (for modules whose
// init keeps its args, as most do, that is its state).
//
// Snapshot (check/snapshot.h): a live node's states, each put on the scratch
// node as one more process of its module, named "snapshot NAME" (or
// "snapshot <PID>", the pid it had on the live node), without running init.
//
// Bad input (a tarball that fails verification, two release names, no path
// from OLD to NEW or back, a states file naming an unknown module or an entry
// init refuses) is an error Status naming the file, the field and the fix;
// a step that is refused or rolled back, or a round trip that differs, is a
// CheckReport whose verdict says so.
#pragma once

#include <string>
#include <vector>

#include "relup/status.h"
#include "relup/term.h"
#include "upgrade/upgrade_report.h"

namespace relup::check {

struct CheckOptions {
  std::string old_tarball, new_tarball;  // absolute paths
  std::string states_file;               // optional
  std::string snapshot_file;             // optional: `relup ps --states --yaml` (snapshot.h)
  std::string relup_exe;                 // the relup binary that runs the scratch node
};

enum class Verdict {
  kOk,          // every round trip gave back the same states
  kStepFailed,  // an apply or the downgrade was refused or rolled back
  kDiffers,     // a state differs, a process crashed, or one did not change
};

struct CheckStep {
  std::string name;  // "up", "down", "up again"
  UpgradeReport report;
};

struct CheckedModule {
  std::string module, old_vsn, new_vsn;  // equal vsns: the module does not change
  size_t processes = 0;
  size_t changed_up = 0;  // on new_vsn after the first up
  size_t round_trip = 0;  // state after up and down == state before
  size_t up_twice = 0;    // state after up, down, up == state after one up
};

struct CheckProblem {
  std::string process;            // "blackode (demo_server)" or "<0.7.0> (demo_server)"
  std::string what;               // one line
  std::vector<std::string> diff;  // DiffTerms lines, when states differ
  std::string legend;             // what - and + mean in diff
};

struct CheckReport {
  std::string release, old_vsn, new_vsn;
  size_t from_states_file = 0;  // processes started from the states file
  size_t from_snapshot = 0;     // processes given a state from the snapshot
  std::vector<CheckStep> steps;
  std::vector<CheckedModule> modules;
  std::vector<CheckProblem> problems;  // differences, crashes, unchanged processes
  std::vector<std::string> notes;      // processes not compared, and why
  Verdict verdict = Verdict::kOk;
  Status step_failure;  // kStepFailed: the failed step's status

  Term ToTerm() const;
};

Result<CheckReport> RunRoundTrip(const CheckOptions& options);

}  // namespace relup::check
