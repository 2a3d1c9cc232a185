// relup explain TARBALL [--from VSN] [--to VSN]: the compiled upgrade and
// downgrade plans of a release, step by step.
#include <cstdio>

#include "builder/inspect.h"
#include "cmd/build_common.h"
#include "command.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string tarball;
    std::string from, to;
  };
  auto args = std::make_shared<Args>();
  sub.add_option("tarball", args->tarball, "release tarball")->required();
  sub.add_option("--from", args->from, "only the plan that upgrades from this running vsn");
  sub.add_option("--to", args->to, "only the plan that downgrades to this vsn");
  return [args] {
    auto tarball = build::OpenReleaseTarball(args->tarball);
    if (!tarball.ok()) return TarballOpenFailure("explain", args->tarball, tarball.status());
    auto opt = [](const std::string& s) {
      return s.empty() ? std::nullopt : std::optional<std::string>(s);
    };
    auto text = build::ExplainRelease(*tarball, opt(args->from), opt(args->to));
    if (!text.ok()) {
      std::fprintf(stderr, "relup explain: %s\n", text.status().message().c_str());
      return static_cast<int>(kExitFailure);
    }
    std::fputs(text->c_str(), stdout);
    return static_cast<int>(kExitOk);
  };
}

RELUP_COMMAND("explain", "print the upgrade plans of a release tarball", Setup);

}  // namespace
}  // namespace relup::cli
