// relup build SPEC -o OUT.tar.gz [--from OLD] [--lib-dir DIR]...: a release
// spec to a release tarball (tools/builder/builder.h). Every error is printed
// with file:line:column and a fix; on any error nothing is written.
#include <cstdio>

#include "cmd/build_common.h"
#include "command.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    build::BuildOptions options;
    std::string out;
    bool quiet = false;
  };
  auto args = std::make_shared<Args>();
  sub.add_option("spec", args->options.spec_path, "release spec (YAML)")->required();
  sub.add_option("-o,--output", args->out, "tarball to write (e.g. dist/demo-2.tar.gz)")
      ->required();
  sub.add_option("--from", args->options.from,
                 "previous release (spec or tarball): check it and generate the appup "
                 "entries the spec does not write for its version");
  AddLibDirOption(sub, &args->options.search);
  sub.add_flag("-q,--quiet", args->quiet, "print nothing on success");
  return [args] {
    AddDefaultLibraryDirs(&args->options.search);
    build::Diagnostics diags;
    auto out = build::BuildTarball(args->options, args->out, &diags);
    if (!out) {
      PrintDiagnostics("build", diags, "nothing written");
      return static_cast<int>(kExitFailure);
    }
    if (!args->quiet) {
      auto versions = [](const std::vector<UpgradePlan>& plans) {
        std::string list;
        for (const auto& p : plans) {
          list += (list.empty() ? "" : ", ") + p.vsn + (p.generated ? " (generated)" : "");
        }
        return list.empty() ? std::string("none") : list;
      };
      std::printf(
          "built %s %s -> %s\n  %zu module%s, %zu process entr%s\n  upgrades from: %s\n"
          "  downgrades to: %s\n",
          out->release.name.c_str(), out->release.vsn.c_str(), args->out.c_str(),
          out->release.modules.size(), out->release.modules.size() == 1 ? "" : "s",
          out->release.processes.size(), out->release.processes.size() == 1 ? "y" : "ies",
          versions(out->plans.up).c_str(), versions(out->plans.down).c_str());
    }
    return static_cast<int>(kExitOk);
  };
}

RELUP_COMMAND("build", "build a release tarball from a release spec", Setup);

}  // namespace
}  // namespace relup::cli
