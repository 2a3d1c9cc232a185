// A live node's states, for `relup check OLD NEW --snapshot FILE`.
//
// FILE is what `relup ps --states --yaml` prints on a node that runs OLD:
// one relup Term, a list of {pid, name, module, vsn, state, server_state}
// maps (the YAML form keeps atoms, tuples and handles, which JSON would
// lose). relup check puts every server state in it onto its scratch node as
// a process of the same module (Node::adopt: init does not run), so the
// round trip runs on the states production has, not only on the init states
// of the spec.
//
// Rows are checked against OLD: a module OLD does not have, or another vsn
// of it, means the snapshot came from another release, and is an error that
// names the row and says where to take the snapshot. Supervisors are left
// out (their state is the tree, which the scratch node builds from OLD), and
// so is a row without a server state (the process was busy when the
// snapshot was taken) and one whose state holds a handle (a pid, ref, timer
// or socket means something only on the live node; Node::adopt refuses
// it); each is counted in `skipped` with the reason. A snapshot with no
// process left to check is an error: it would pass every upgrade.
#pragma once

#include <string>
#include <vector>

#include "relup/release.h"
#include "relup/status.h"
#include "relup/term.h"

namespace relup::check {

struct SnapshotProcess {
  std::string module;
  std::string label;  // "blackode" or "<0.7.0>": the row's name, else its pid
  Term state;
};

struct LiveSnapshot {
  std::vector<SnapshotProcess> processes;
  std::vector<std::string> skipped;  // "<0.1.0> (supervisor): ..." one line each
};

// The largest FILE read: well above what one `relup ps` reply can hold.
inline constexpr size_t kMaxSnapshotBytes = size_t{256} << 20;

Result<LiveSnapshot> ReadSnapshot(const std::string& path, const Release& old_release);

}  // namespace relup::check
