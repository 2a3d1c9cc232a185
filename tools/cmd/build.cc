// relup build SPEC -o OUT.tar.gz [--from OLD] [--lib-dir DIR]...
//   [--sign KEY] [--check-from OLD.tar.gz]: a release
// spec to a release tarball (tools/builder/builder.h). Every error is printed
// with file:line:column and a fix; on any error nothing is written. With
// --sign the key is read first (a bad one stops the build before anything
// is built) and the tarball gets a SIGNATURE entry (release/signing.h).
#include <cstdio>
#include <filesystem>

#include "cmd/build_common.h"
#include "cmd/check_output.h"
#include "cmd/node_client_util.h"
#include "command.h"
#include "release/signing.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    build::BuildOptions options;
    std::string out;
    std::string check_from;
    std::string sign;
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
  sub.add_option("--sign", args->sign,
                 "private key (NAME.key from relup keygen, mode 0600): add a SIGNATURE entry "
                 "that nodes started with --trust check");
  sub.add_option("--check-from", args->check_from,
                 "then run `relup check OLD.tar.gz` against the tarball just built: a "
                 "scratch node applies it, goes back down and up again, and every state "
                 "must round-trip (the exit status is relup check's)");
  return [args] {
    AddDefaultLibraryDirs(&args->options.search);
    // The key id signed with; "" when unsigned. (A future `build --json`
    // reports it as "key_id".)
    std::string key_id;
    if (!args->sign.empty()) {
      auto key = LoadPrivateKey(args->sign);
      if (!key.ok()) {
        return ReportFailure(
            "build",
            Status::FromCode(key.status().code(), key.status().message() + "; nothing written"),
            kExitFailure, "sign");
      }
      key_id = key->id();
      args->options.sign = [key = *std::move(key)](const std::string& manifest) {
        return SignManifest(key, manifest);
      };
    }
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
      if (!key_id.empty()) std::printf("  signed by key %s\n", key_id.c_str());
    }
    if (args->check_from.empty()) return static_cast<int>(kExitOk);
    check::CheckOptions check;
    std::error_code ec;
    check.old_tarball = std::filesystem::absolute(args->check_from, ec).lexically_normal();
    check.new_tarball = std::filesystem::absolute(args->out, ec).lexically_normal();
    if (!std::filesystem::is_regular_file(check.old_tarball, ec)) {
      return UsageError("build", Status::InvalidArgument("--check-from: tarball " +
                                                         args->check_from + " not found"));
    }
    return RunCheck(check, /*json=*/false);
  };
}

RELUP_COMMAND("build", "build a release tarball from a release spec", Setup);

}  // namespace
}  // namespace relup::cli
