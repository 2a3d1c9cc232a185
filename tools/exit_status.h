// Named exit codes of the relup CLI. Pipelines branch on these.
#pragma once

namespace relup::cli {

enum ExitStatus : int {
  kExitOk = 0,
  kExitFailure = 1,      // the command failed (message on stderr)
  kExitUsage = 2,        // bad command line
  kExitRefused = 3,      // refused before any change: nothing was touched
  kExitRolledBack = 4,   // an upgrade failed part-way and was rolled back
  kExitNoNode = 5,       // no node is running at --root
  kExitVerifyFailed = 6, // a tarball failed verification
};

}  // namespace relup::cli
