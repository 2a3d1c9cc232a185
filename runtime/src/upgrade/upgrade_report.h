// UpgradeReport: what an apply, a downgrade or a dry run did, for people and
// pipelines. It travels over the control socket as a Term (ToTerm/FromTerm)
// and is printed by the CLI as text or JSON.
//
// Outcomes:
//   ok          every affected process runs the new code; the node is on the
//               new release (the store's current release switched).
//   refused     stopped before any process was paused; nothing changed (bad
//               tarball, wrong from-version, a module that fails to load, a
//               code_change that fails on a copy of a state, an upgrade
//               already in progress...).
//   rolled_back a process failed part-way; every touched process is back on
//               its old code with its old state (or, where it had already
//               resumed on the new code, taken back through the down
//               code_change), newly loaded versions are unloaded, and the
//               node stays on its old release.
// A straggler (a process that does not reach a message boundary within its
// instruction's timeout) rolls the upgrade back and is named in `failures`.
// `failures` names the process, the step and the reason; the first entry is
// the cause, later ones are further stragglers or rollback problems.
//
// PauseStats measure, per process, the time from the start of its suspend to
// the end of its resume, in microseconds rounded up (so "1 us" means at most
// one microsecond).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relup/module_abi.h"
#include "relup/status.h"
#include "relup/term.h"

namespace relup {

enum class UpgradeOutcome : uint8_t { kOk, kRefused, kRolledBack };
std::string_view UpgradeOutcomeName(UpgradeOutcome outcome);  // "ok", "refused", "rolled_back"

// One module the plan changes.
struct ModuleChangeReport {
  std::string module;
  std::string from_vsn;     // empty for a module the release adds
  std::string to_vsn;       // empty for a module the release deletes
  std::string instruction;  // "update" (code_change), "load_module" (code only), "add_module",
                            // "delete_module"
  size_t processes = 0;     // processes moved from from_vsn to to_vsn
};

// How many live processes run one version of a module, after the operation.
struct ProcessCount {
  std::string module;
  std::string vsn;
  size_t count = 0;
};

// One process the operation suspended (or, in a dry run, checked).
struct TouchedProcess {
  Pid pid;
  std::string name;  // registered name or empty
  std::string module;
  std::string from_vsn;
  std::string to_vsn;
  int64_t pause_us = 0;  // suspend start .. resume end; 0 in a dry run
};

struct PauseStats {
  size_t count = 0;  // processes paused
  int64_t p50_us = 0;
  int64_t p99_us = 0;
  int64_t max_us = 0;
  // Nearest-rank percentiles of the given pauses (the vector is reordered).
  static PauseStats Of(std::vector<int64_t>& pauses_us);
};

struct UpgradeFailure {
  Pid pid;              // invalid when the failure is not about one process
  std::string process;  // registered name, else "<0.N.0>", else empty
  std::string module;
  // "read" (the node cannot read the tarball), "verify", "unpack", "from_version", "load",
  // "precheck", "suspend", "code_change", "switch_code", "resume", "rollback", "purge", "record"
  // (the release store could not record the new release: rolled back). The CLI adds "usage",
  // "verify", "connect", "client" and "reply" for failures before the node sent a report (relup
  // apply --json)
  std::string step;
  Status reason;
};

struct UpgradeReport {
  std::string from_release;
  std::string to_release;
  // The node's permanent release after the operation (what a restart boots);
  // empty when not known (a report made before the store was consulted).
  std::string permanent_release;
  bool downgrade = false;
  bool dry_run = false;
  UpgradeOutcome outcome = UpgradeOutcome::kOk;
  std::vector<ModuleChangeReport> modules;
  std::vector<ProcessCount> processes;  // after the operation
  // Every process touched, with its pause. A report sent without process
  // details (ToTerm(false), the default over the control socket: at a million
  // processes the list is tens of megabytes) has this empty and only
  // touched_count set; touched_total() is right either way.
  std::vector<TouchedProcess> touched;
  size_t touched_count = 0;
  size_t touched_total() const { return touched.empty() ? touched_count : touched.size(); }
  size_t upgraded = 0;  // processes now running their target version
  PauseStats pause;
  double total_ms = 0;
  std::vector<UpgradeFailure> failures;
  // Things that did not stop the operation but need a look (an old version
  // a process still runs, so it stayed loaded).
  std::vector<std::string> warnings;
  // The release configuration the operation changes, per module:
  // [{module, changed: {K: V}, added: {K: V}, removed: [K...]}], sorted by
  // module (release_config.h). A dry run shows it too.
  Term config_changes = Term::list({});
  // What supervisor steps did: [{supervisor, started: [ID...], stopped:
  // [ID...], stopped_names: [NAME...]}] (stopped: in the commit; the
  // registered names of those that had one), in step order.
  Term tree_changes = Term::list({});

  bool ok() const { return outcome == UpgradeOutcome::kOk; }
  // Ok when outcome is ok; else the first failure's reason with its process
  // and step in front ("<0.512.0> (counter), code_change: ...").
  Status status() const;

  // A map; see upgrade_report.cc for the keys. FromTerm(ToTerm(r)) == r in
  // every field but touched_count, which comes back as touched_total().
  // with_touched = false leaves the per-process list out (touched_count stays).
  Term ToTerm(bool with_touched = true) const;
  static Result<UpgradeReport> FromTerm(const Term& term);
};

// A refused report with a single failure.
UpgradeReport RefusedReport(std::string from_release, std::string to_release, std::string step,
                            Status reason);

}  // namespace relup
