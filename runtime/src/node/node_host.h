// RunNodeHost: the life of one relup node process at a root directory.
//
//   1. takes DIR/node.lock (NodeLock: a second node on the root is refused);
//   2. reads the keys it trusts (node/node_trust.h: every `trust` path and
//      ROOT/trusted_keys/), opens the release store and boots a release:
//        - with `release` (a tarball) on an empty store: unpacks it, boots it
//          and makes it permanent (the first release of a root);
//        - with `release` on a store whose permanent release has the same
//          vsn: boots that one (the tarball is checked against it);
//        - without `release`: boots the PERMANENT release. A release that was
//          installed but never made permanent goes back to unpacked (OTP);
//        - with `release` and `release_if_empty` on a store that holds a
//          permanent release: as without `release` (a service unit's first
//          release, given on every start: it is used until one boots);
//   3. serves DIR/node.sock (ControlServer + NodeService);
//   4. calls ready(Ok) — or, if 1-3 fail, releases everything it took (the
//      lock included) and only then calls ready(error) and returns it, so
//      the caller may start another node on the root at once;
//   5. runs until a `stop` request, SIGTERM or SIGINT; then stops accepting,
//      lets requests in flight finish, ends every process (terminate runs)
//      and returns Ok. The lock is released when the process exits. If that
//      takes longer than shutdown_timeout (a callback that never returns),
//      it logs so and ends the process with _exit(1).
//
// Log lines ("<UTC time> <level> <text>") go to DIR/node.log, and to stderr
// as well with log_to_stderr. Loaded libraries are copied under DIR/code,
// which is emptied at start (the lock proves no other node uses it).
//
// Call it from a single-threaded process (it blocks SIGTERM/SIGINT/SIGHUP in
// the calling thread before it creates any thread, and waits for them with
// signalfd). It never exits the process, but for the shutdown timeout.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "relup/status.h"

namespace relup {

struct NodeHostOptions {
  std::string root;               // made absolute; created if missing
  std::string release;            // tarball to install; empty: boot the permanent release
  bool release_if_empty = false;  // use `release` only on a store with no permanent release
  // Public key files or directories of *.pub whose keys must sign every
  // tarball the node unpacks (with ROOT/trusted_keys/; node/node_trust.h).
  std::vector<std::string> trust;
  unsigned workers = 0;  // scheduler threads; 0: one per core
  bool log_to_stderr = false;
  // How long stopping may take before the node gives up on a stuck callback.
  std::chrono::milliseconds shutdown_timeout{20000};
  // While the release boots: called (from another thread, at most every
  // 250 ms, before ready) with the step the boot is at when it moved on:
  // "step 4 of 9: starting counter as c3". Steps are module loads and
  // process starts (each init). Unset: not reported.
  std::function<void(const std::string&)> boot_progress;
};

// How the log line of a node that gave up on a stuck callback while stopping
// begins; `relup node stop` looks for it.
inline constexpr std::string_view kShutdownGaveUp = "shutdown did not finish";

Status RunNodeHost(const NodeHostOptions& options, const std::function<void(const Status&)>& ready);

}  // namespace relup
