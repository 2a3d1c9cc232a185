// relup downgrade VSN: runs the current release's down instructions back to
// release VSN (which must still be unpacked in the root).
#include "cmd/node_client_util.h"
#include "cmd/upgrade_output.h"
#include "command.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string root, vsn;
    bool json = false, dry_run = false, atomic = false, processes = false;
  };
  auto args = std::make_shared<Args>();
  sub.add_option("vsn", args->vsn, "the release version to go back to")->required();
  AddRootOption(sub, args->root);
  sub.add_flag("--json", args->json, "print the report as JSON");
  sub.add_flag("--dry-run", args->dry_run,
               "run every check on copies of the states; change nothing");
  sub.add_flag("--atomic", args->atomic, "keep every affected process suspended until all changed");
  sub.add_flag("--processes", args->processes,
               "also list every touched process with its pause (large for big nodes)");
  return [args] {
    if (args->json) EnableJsonErrors();
    return WithNode("downgrade", args->root, kNoReplyLimit, [&](ControlClient& client) {
      Term request = MakeRequest("downgrade", {{Term::atom("vsn"), Term(args->vsn)},
                                               {Term::atom("dry_run"), Term(args->dry_run)},
                                               {Term::atom("atomic"), Term(args->atomic)},
                                               {Term::atom("processes"), Term(args->processes)}});
      UpgradeRequestOptions options;
      options.json = args->json;
      options.root = client.root();
      return RunUpgradeRequest("downgrade", client, request, options);
    });
  };
}

RELUP_COMMAND("downgrade", "take the running node back to an earlier release", Setup);

}  // namespace
}  // namespace relup::cli
