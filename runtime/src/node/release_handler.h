// ReleaseHandler: OTP's release_handler for a relup node. It owns the
// release-level steps of an upgrade and leaves the process-level mechanics
// to UpgradeExecutor:
//
//   Unpack(tarball)    OTP unpack_release: verifies the tarball's manifest
//                      (and first, when the node trusts keys, its signature:
//                      set_trusted_keys) and unpacks it safely into the node
//                      root (absolute paths, "..", and links are refused;
//                      nothing is written outside ROOT): ROOT/releases/VSN/ and
//                      ROOT/lib/MODULE-VSN/. Each directory is written under a
//                      temporary name and renamed into place, then the store
//                      records the release as unpacked, so a crash leaves no
//                      half-written release the store believes complete.
//                      Unpacking a release the store already has is a no-op
//                      if the files match. With other files, a release that
//                      is unpacked and never ran (its apply was refused or
//                      rolled back) is replaced, with a note; any other is
//                      refused, naming the `relup remove` that frees the vsn
//                      (or, for the running or permanent release, asking for
//                      another vsn).
//   Install(vsn)       OTP install_release: refuses unless the release's up
//                      plan starts from the node's current release (the
//                      message names the current release and the accepted
//                      from-versions), then runs the plan through the
//                      executor (new modules loaded and checked, every
//                      code_change tried on a copy of each state, before any
//                      process is paused) and, on success, makes VSN the
//                      store's current release.
//   Apply(tarball)     Unpack + Install (+ MakePermanent with `permanent`):
//                      `relup apply`. The tarball is verified and its plan
//                      checked against the running release BEFORE anything is
//                      written, so a refusal leaves ROOT as it was. With
//                      dry_run the libraries are written to a temporary
//                      directory under ROOT that is removed afterwards; the
//                      store and the processes are untouched.
//   Downgrade(vsn)     runs the CURRENT release's down plan to VSN: the old
//                      module versions are re-loaded from ROOT/lib/, and each
//                      code_change runs on the older version with old_vsn
//                      !tuple [:down, "CURRENT_MODULE_VSN"], as in OTP. On
//                      success VSN becomes current.
//   MakePermanent(vsn) the release booted after a restart. A release
//                      installed but never made permanent does not survive a
//                      restart (as in OTP).
//   Boot(vsn)          at node start: loads the release's modules and spawns
//                      the processes its manifest lists, in order; VSN
//                      becomes current. On any failure the processes started
//                      so far are ended and the error names the process.
//                      `progress`, when set, is called before each step
//                      (a module load or a process start) with the steps
//                      done, the steps in all and what comes next, so a
//                      long boot can be told from a stuck one.
//
// Every operation that changes processes returns an UpgradeReport whose
// outcome tells ok / refused (nothing changed) / rolled_back (see
// upgrade_report.h); the report's failures name the process, step and reason.
// The node always stays on a release it can name: after a refusal or a
// rollback the store's current release is unchanged.
//
// Thread-safety: every method may be called from any non-scheduler thread.
// Operations are serialised: one that arrives while another runs is refused
// at once ("an upgrade to VSN is in progress"), never queued behind it.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "release/release_unpack.h"
#include "release/signing.h"
#include "relup/node.h"
#include "relup/status.h"
#include "upgrade/upgrade_executor.h"
#include "upgrade/upgrade_report.h"

namespace relup {

class ReleaseStore;  // release/release_store.h

struct ApplyOptions {
  bool dry_run = false;    // report what would happen; change nothing
  bool atomic = false;     // the whole plan is one group (all or nothing, exactly)
  bool permanent = false;  // Apply only: make the new release permanent on success
  // Processes done / in all, as the rollout advances, and as the precheck
  // advances (see ExecuteOptions). Either may be empty.
  std::function<void(size_t done, size_t total)> progress;
  std::function<void(size_t done, size_t total)> check_progress;
  // Called (from a watchdog thread, at most once per process) when a
  // code_change of the rollout runs past its step's timeout, with a sentence
  // naming the module, the process and the times. May be empty; must not
  // block for long.
  std::function<void(const std::string& what)> overdue;
};

class ReleaseHandler {
 public:
  // root: the node root (ROOT above). node and store must outlive this.
  ReleaseHandler(Node& node, ReleaseStore& store, std::string root);

  // Returns the unpacked release's version.
  // `check`, when given, sees the verified release before anything is
  // written; an error from it refuses the unpack.
  Result<std::string> Unpack(const std::string& tarball,
                             const std::function<Status(const Release&)>& check = {});
  UpgradeReport Install(std::string_view vsn, const ApplyOptions& options = {});
  UpgradeReport Apply(const std::string& tarball, const ApplyOptions& options = {});
  UpgradeReport Downgrade(std::string_view vsn, const ApplyOptions& options = {});
  Status MakePermanent(std::string_view vsn);
  // OTP's remove_release: forgets release `vsn` (refused for the running and
  // the permanent one, as ReleaseStore::remove), deletes its directory, and
  // deletes the ROOT/lib/NAME-VSN directories of its modules that no other
  // listed release uses (running code is unaffected: the code server loads
  // copies). Returns those lib directory names. When another release's
  // manifest cannot be read, no lib directory is deleted (they may be its).
  Result<std::vector<std::string>> Remove(std::string_view vsn);
  using BootProgress =
      std::function<void(size_t done, size_t total, const std::function<std::string()>& next)>;
  Status Boot(std::string_view vsn, const BootProgress& progress = {});

  const std::string& root() const { return root_; }

  // Where the keys a tarball must be signed by come from (node/node_trust.h):
  // the --trust paths and ROOT/trusted_keys. They are read again for every
  // tarball, as sshd reads authorized_keys at every login, so a signing key
  // is added or retired without a restart. `required`: the node started
  // with at least one key. Once it has seen a key (at start or later) it
  // keeps requiring signatures while it runs, and a trust that has become
  // empty refuses every tarball (fail closed) rather than accepting unsigned
  // ones. A tarball refused for its signature
  // is refused at the "verify" step, before anything is written. Set once,
  // before the handler serves any operation.
  void set_trust(std::vector<std::string> sources, bool required) {
    trust_sources_ = std::move(sources);
    trust_required_.store(required);
  }
  // The keys in force now (empty: any tarball, signed or not, is accepted);
  // an error naming the source when one cannot be read, or when every key
  // is gone from a node that requires signatures.
  Result<std::vector<PublicKey>> trusted_keys() const;

  // While an upgrade's code_change runs past its step's timeout: a sentence
  // naming it and for how long it has run (for relup status); else empty.
  std::string Overdue() const;

 private:
  // A tarball read, verified against its MANIFEST (and its signature, when
  // keys are trusted), and parsed.
  struct Verified {
    ReleaseFiles files;
    Release release;
    PlanSet plans;
  };
  Result<Verified> ReadVerified(const std::string& tarball) const;
  Status CheckUpgradable(const Verified& v) const;
  Result<std::string> UnpackLocked(const std::string& tarball,
                                   const std::function<Status(const Release&)>& check = {});
  // `notes`, when given, collects what a reader of the report should know
  // (a never-run release replaced).
  Result<std::string> UnpackVerified(const Verified& v, const std::string& tarball,
                                     std::vector<std::string>* notes = nullptr);
  // Which lib/NAME-VSN directories the store's releases other than
  // `except` use, and which release uses each; nullopt if a release's
  // manifest cannot be read (then none may be replaced).
  std::optional<LibUsers> LibDirUsers(std::string_view except) const;
  UpgradeReport InstallLocked(std::string_view vsn, const ApplyOptions& options);
  UpgradeReport DryRun(const Verified& v, const ApplyOptions& options);
  // Runs `plan` through the executor; when it succeeded and was not a dry
  // run, records context.to_release as the store's running release.
  UpgradeReport RunPlan(const UpgradePlan& plan, const PlanContext& context,
                        const ApplyOptions& options);
  // Refusal report when another operation holds busy_.
  UpgradeReport Busy(std::string_view to) const;
  void SetActivity(std::string what);

  Node& node_;
  ReleaseStore& store_;
  std::string root_;
  UpgradeExecutor executor_;
  std::vector<std::string> trust_sources_;
  mutable std::atomic<bool> trust_required_{false};  // set once a key is seen
  std::mutex busy_;                                  // try_lock'ed by every operation
  mutable std::mutex activity_mu_;
  std::string activity_;  // what holds busy_, for the refusal message; guarded by activity_mu_
  RolloutWatch watch_;    // of the upgrade running now
};

}  // namespace relup
