// relup inspect TARBALL [--json]: what a release tarball holds (modules,
// processes, upgrade and downgrade paths, manifest status). Exits like
// verify: kExitVerifyFailed when the manifest check finds a problem.
#include "builder/inspect.h"

#include <cstdio>

#include "cmd/build_common.h"
#include "cmd/node_client_util.h"
#include "command.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string tarball;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  sub.add_option("tarball", args->tarball, "release tarball")->required();
  sub.add_flag("--json", args->json, "print the summary as JSON");
  return [args] {
    auto tarball = build::OpenReleaseTarball(args->tarball);
    if (!tarball.ok()) return TarballOpenFailure("inspect", args->tarball, tarball.status());
    auto problems = build::VerifyReleaseFiles(tarball->files, args->tarball);
    if (args->json) {
      PrintLine(ToJson(build::InspectTerm(*tarball, problems)));
    } else {
      std::fputs(build::InspectText(*tarball, problems).c_str(), stdout);
    }
    // A tarball that fails verification is summarized, then reported the
    // way verify reports it: a pipeline must not take it for a good one.
    return static_cast<int>(problems.empty() ? kExitOk : kExitVerifyFailed);
  };
}

RELUP_COMMAND("inspect", "summarize a release tarball (--json for pipelines)", Setup);

}  // namespace
}  // namespace relup::cli
