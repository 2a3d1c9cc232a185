// The client side shared by `relup apply` and `relup downgrade`: send the
// request, draw progress, print the report (text or JSON) and pick the exit
// status: kExitOk, kExitRefused (nothing changed; kExitVerifyFailed when the
// node refused at its "verify" step: a tarball that fails its MANIFEST, or,
// on a node that trusts keys, its signature), kExitRolledBack.
#pragma once

#include <string>
#include <string_view>

#include "node/control_client.h"
#include "relup/term.h"
#include "upgrade/upgrade_report.h"

namespace relup::cli {

struct UpgradeRequestOptions {
  bool json = false;
  bool permanent = false;  // the request asked to make the new release permanent
  std::string root;        // for hints in the text output
  std::string target;      // the release asked for, for a report that could not tell it
};

// Runs the exchange and prints the outcome. `cmd` names the command in
// messages ("apply").
int RunUpgradeRequest(std::string_view cmd, ControlClient& client, const Term& request,
                      const UpgradeRequestOptions& options);

// The human-readable report (several lines, each ending in a newline).
std::string FormatUpgradeReport(const UpgradeReport& report, const UpgradeRequestOptions& options);

}  // namespace relup::cli
