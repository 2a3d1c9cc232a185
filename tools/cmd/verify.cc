// relup verify TARBALL: checks a release tarball against its MANIFEST and its
// own release.yaml. Names every tampered, missing or extra file; exits
// kExitVerifyFailed if anything is wrong.
#include <cstdio>

#include "builder/inspect.h"
#include "cmd/build_common.h"
#include "cmd/node_client_util.h"
#include "command.h"
#include "release/tarball.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string tarball;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  sub.add_option("tarball", args->tarball, "release tarball")->required();
  sub.add_flag("--json", args->json, "print {ok, files, problems} as JSON");
  return [args] {
    auto files = ReadTarball(args->tarball);
    if (!files.ok()) return TarballOpenFailure("verify", args->tarball, files.status());
    std::vector<std::string> problems = build::VerifyReleaseFiles(*files, args->tarball);
    if (args->json) {
      std::vector<Term> list;
      for (const auto& p : problems) list.push_back(Term(p));
      PrintLine(
          ToJson(Term::map({{Term::atom("ok"), Term(problems.empty())},
                            {Term::atom("files"), Term(static_cast<long long>(files->size()))},
                            {Term::atom("problems"), Term::list(std::move(list))}})));
    } else if (problems.empty()) {
      std::printf("%s: ok (%zu files match MANIFEST)\n", args->tarball.c_str(), files->size() - 1);
    } else {
      for (const auto& p : problems)
        std::fprintf(stderr, "%s: %s\n", args->tarball.c_str(), p.c_str());
      std::fprintf(stderr, "relup verify: %s FAILED (%zu problem%s)\n", args->tarball.c_str(),
                   problems.size(), problems.size() == 1 ? "" : "s");
    }
    return static_cast<int>(problems.empty() ? kExitOk : kExitVerifyFailed);
  };
}

RELUP_COMMAND("verify", "check a release tarball against its MANIFEST", Setup);

}  // namespace
}  // namespace relup::cli
