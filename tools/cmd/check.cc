// relup check OLD.tar.gz NEW.tar.gz [--states FILE] [--snapshot FILE] [--json]: the CI gate
// for one upgrade. Boots a scratch node on OLD, applies NEW, downgrades back
// and applies NEW again, and fails unless every state round-trips
// (tools/check/round_trip.h). Exit status: 0 ok, 4 a round trip differs (or
// a process crashed or did not change), 3 a step was refused or rolled back,
// 6 a tarball fails verification, 2 bad arguments (two release names, no
// path between them, a bad states or snapshot file), 1 the scratch node failed.
#include <filesystem>

#include "cmd/check_output.h"
#include "cmd/node_client_util.h"
#include "command.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string old_tarball, new_tarball, states, snapshot;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  sub.add_option("old", args->old_tarball, "the release tarball a node runs now")->required();
  sub.add_option("new", args->new_tarball, "the release tarball to upgrade it to")->required();
  sub.add_option("--states", args->states,
                 "YAML file: module -> list of init args, one more process each");
  sub.add_option("--snapshot", args->snapshot,
                 "a live node's states (`relup ps --states --yaml > FILE` on a node running OLD): "
                 "each becomes one more process, so the round trip runs on production's states");
  sub.add_flag("--json", args->json, "print the result as one JSON object");
  return [args]() -> int {
    check::CheckOptions options;
    std::error_code ec;
    for (auto [from, to] : {std::pair{&args->old_tarball, &options.old_tarball},
                            std::pair{&args->new_tarball, &options.new_tarball}}) {
      *to = std::filesystem::absolute(*from, ec).lexically_normal().string();
      if (!std::filesystem::is_regular_file(*to, ec)) {
        return UsageError("check", Status::InvalidArgument("tarball " + *from + " not found"));
      }
    }
    options.states_file = args->states;
    options.snapshot_file = args->snapshot;
    return RunCheck(options, args->json);
  };
}

RELUP_COMMAND("check",
              "prove an upgrade round-trips: apply NEW on a scratch node of OLD, go back down and "
              "up again, and compare every state",
              Setup);

}  // namespace
}  // namespace relup::cli
