// ReleaseStore: the releases installed in a node root and their states, as in
// OTP's release_handler (which_releases / make_permanent / remove_release).
//
// Layout of a root DIR:
//   DIR/releases/RELEASES.yaml   this store: every release and its state
//   DIR/releases/<vsn>/          one unpacked release (release.yaml, relup.yaml)
//   DIR/lib/<module>-<vsn>/      module libraries, shared between releases
//   DIR/releases/.staging-*      scratch space for unpacking (never listed)
//
// States:
//   unpacked   on disk, known, not running (never installed, or installed
//              and then left by a downgrade / upgrade / restart)
//   current    running now, but not permanent: a restart boots the permanent
//              release instead and this one goes back to unpacked (or to old,
//              if it was permanent once)
//   permanent  what a restart boots; also what runs when no release is current
//   old        was permanent once, superseded by make_permanent; it stays
//              old when a downgrade runs it again and then leaves it, or a
//              restart boots the permanent release instead (was_permanent)
// At most one release is current and at most one is permanent. The running
// release is the current one if there is one, else the permanent one.
//
// Every change is written to RELEASES.yaml atomically (temporary file, fsync,
// rename, fsync of the directory) BEFORE it becomes visible in memory: a
// failed write leaves both the file and the store as they were, and a kill -9
// at any moment leaves either the old or the new file, never a mix.
//
// Unpacking is the release handler's job, not the store's: it extracts a
// tarball into a staging directory (DIR/releases/.staging-*), renames it into place,
// then calls add_unpacked(). remove() deletes only release_dir(vsn): lib/
// directories may be shared with other releases. A directory under releases/ that the file does not
// list is ignored (left over by a crash) and may be replaced.
//
// Thread-safe: every method may be called from any thread; each mutation is
// atomic with respect to the others.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relup/status.h"

namespace relup {

enum class ReleaseState { kUnpacked, kCurrent, kPermanent, kOld };
std::string_view ReleaseStateName(ReleaseState s);  // "unpacked", "current", ...
Result<ReleaseState> ParseReleaseState(std::string_view text);

struct ReleaseEntry {
  std::string name;  // release name, e.g. "demo"
  std::string vsn;   // release version, e.g. "2"; unique in a store
  ReleaseState state = ReleaseState::kUnpacked;
  std::string unpacked_at;  // UTC, "2024-05-01T12:00:00Z"
  // Whether the node has ever run it. An unpacked release that never ran
  // (its apply was refused or rolled back) may be replaced by a tarball of
  // the same vsn with other content: OTP's half-installed release that
  // blocks the retry (deployex #276) does not exist here. Files written
  // before this field read as true, the safe side.
  bool ran = false;
  // Whether it has ever been permanent: a release that leaves `current`
  // goes back to old if so, else to unpacked. Files written before this
  // field read it from the state (old: true).
  bool was_permanent = false;
};

// A release vsn must be usable as one directory name: [A-Za-z0-9._+-]{1,64},
// not starting with '.'. The error names the vsn and the rule.
Status ValidateReleaseVsn(std::string_view vsn);

class ReleaseStore {
 public:
  // Opens (creating DIR/releases if missing) the store of a root. No file yet
  // is an empty store; an unreadable or malformed one is Corruption naming the
  // file and the field. Two processes must not open the same root for writing:
  // the node holds DIR/node.lock for that.
  static Result<std::unique_ptr<ReleaseStore>> Open(const std::string& root);

  // Reads the store of a root without creating anything (for `relup releases`
  // while no node runs). A missing file is an empty list.
  static Result<std::vector<ReleaseEntry>> ReadFile(const std::string& root);

  const std::string& root() const { return root_; }
  std::string file_path() const;                        // DIR/releases/RELEASES.yaml
  std::string releases_dir() const;                     // DIR/releases
  std::string release_dir(std::string_view vsn) const;  // DIR/releases/<vsn>

  // Snapshots: copies, in the order the releases were unpacked.
  std::vector<ReleaseEntry> releases() const;
  std::optional<ReleaseEntry> find(std::string_view vsn) const;
  std::optional<ReleaseEntry> running() const;  // current, else permanent
  std::optional<ReleaseEntry> permanent() const;
  bool empty() const;

  // Records a release whose files are in release_dir(vsn). AlreadyExists if
  // the vsn is known in any state but unpacked; a known unpacked release with
  // the same name is left as it is (ok), with another name refused.
  Status add_unpacked(const std::string& name, const std::string& vsn);

  // The node now runs `vsn` (after an upgrade, a downgrade or at boot): it
  // becomes current, or stays permanent if it is the permanent one, and is
  // marked as having run. A previously current release goes back to unpacked,
  // or to old if it was ever permanent. NotFound if unknown.
  Status set_running(std::string_view vsn);

  // Makes a release permanent (empty vsn: the running one). Only the running
  // release may be made permanent (FailedPrecondition otherwise, saying how to
  // install it first). The previous permanent release becomes old.
  Status make_permanent(std::string_view vsn = {});

  // At node boot: a current release goes back to unpacked (old, if it was
  // permanent once), so the permanent one is running. FailedPrecondition when the
  // store has releases but none is permanent.
  Status revert_to_permanent();

  // Forgets a release and deletes release_dir(vsn). Refuses (FailedPrecondition)
  // the running and the permanent release; NotFound if unknown.
  Status remove(std::string_view vsn);

 private:
  explicit ReleaseStore(std::string root) : root_(std::move(root)) {}
  // Writes `next` atomically, then makes it the in-memory state. Caller holds mu_.
  Status commit_locked(std::vector<ReleaseEntry> next);

  const std::string root_;
  mutable std::mutex mu_;
  std::vector<ReleaseEntry> entries_;  // guarded by mu_
};

}  // namespace relup
