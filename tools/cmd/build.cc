// relup build SPEC -o OUT.tar.gz [--from OLD] [--lib-dir DIR]...
//   [--sign KEY] [--check-from OLD.tar.gz] [--json]: a release
// spec to a release tarball (tools/builder/builder.h). Every error is printed
// with file:line:column and a fix; on any error nothing is written. With
// --sign the key is read first (a bad one stops the build before anything
// is built) and the tarball gets a SIGNATURE entry (release/signing.h).
//
// --json prints one object on stdout, for pipelines, whether the build
// succeeded or not (errors go to stderr as well):
//   {"ok": true, "tarball": PATH, "sha256": HEX, "key_id": ID|null,
//    "release": NAME, "vsn": VSN, "modules": [{"name", "vsn"}],
//    "upgrade_from": [{"vsn", "generated"}], "downgrade_to": [...],
//    "diagnostics": []}
// and on failure {"ok": false, "tarball": null, "diagnostics": [{"file",
// "line", "column", "message", "fix"}]} (a bad --sign key is one diagnostic
// on the key file).
#include <cstdio>
#include <filesystem>

#include "cmd/build_common.h"
#include "cmd/check_output.h"
#include "cmd/node_client_util.h"
#include "command.h"
#include "release/signing.h"
#include "relup/code_server.h"  // Sha256File

namespace relup::cli {
namespace {

Term DiagnosticsJson(const build::Diagnostics& diags) {
  std::vector<Term> list;
  for (const build::Diagnostic& d : diags.items()) {
    list.push_back(Term::map({})
                       .put("file", Term(d.loc.file))
                       .put("line", d.loc.line)
                       .put("column", d.loc.column)
                       .put("message", Term(d.message))
                       .put("fix", Term(d.fix)));
  }
  return Term::list(std::move(list));
}

Term PlansJson(const std::vector<UpgradePlan>& plans) {
  std::vector<Term> list;
  for (const UpgradePlan& p : plans) {
    list.push_back(Term::map({}).put("vsn", Term(p.vsn)).put("generated", p.generated));
  }
  return Term::list(std::move(list));
}

// The --json object of a failed build.
void PrintFailureJson(const build::Diagnostics& diags) {
  PrintLine(ToJson(Term::map({})
                       .put("ok", false)
                       .put("tarball", Term())
                       .put("diagnostics", DiagnosticsJson(diags))));
}

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    build::BuildOptions options;
    std::string out;
    std::string check_from;
    std::string sign;
    bool quiet = false;
    bool json = false;
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
  CLI::Option* json =
      sub.add_flag("--json", args->json,
                   "print one JSON object (tarball, sha256, key_id, release, vsn, modules, "
                   "upgrade_from, downgrade_to, diagnostics), on failure too");
  sub.add_option("--sign", args->sign,
                 "private key (NAME.key from relup keygen, mode 0600): add a SIGNATURE entry "
                 "that nodes started with --trust check");
  CLI::Option* check_from =
      sub.add_option("--check-from", args->check_from,
                     "then run `relup check OLD.tar.gz` against the tarball just built: a "
                     "scratch node applies it, goes back down and up again, and every state "
                     "must round-trip (the exit status is relup check's)");
  // One JSON object on stdout: run `relup check --json` on its own instead.
  json->excludes(check_from);
  return [args] {
    AddDefaultLibraryDirs(&args->options.search);
    // The key id signed with; "" when unsigned.
    std::string key_id;
    if (!args->sign.empty()) {
      auto key = LoadPrivateKey(args->sign);
      if (!key.ok()) {
        if (args->json) {
          build::Diagnostics diags;
          const std::string& why = key.status().message();
          diags.error({args->sign, 0, 0}, why,
                      why.find("too open") != std::string::npos
                          ? "chmod 600 " + args->sign
                          : "give --sign the private key (NAME.key) that relup keygen wrote");
          PrintFailureJson(diags);
        }
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
      if (args->json) PrintFailureJson(diags);
      return static_cast<int>(kExitFailure);
    }
    if (args->json) {
      auto sha = Sha256File(args->out);
      if (!sha.ok()) {
        diags.error({args->out, 0, 0}, sha.status().message(),
                    "check that the output can be read back");
        PrintFailureJson(diags);
        return ReportError("build", sha.status());
      }
      std::vector<Term> modules;
      for (const auto& m : out->release.modules) {
        modules.push_back(Term::map({}).put("name", Term(m.name)).put("vsn", Term(m.vsn)));
      }
      std::error_code ec;
      std::string path = std::filesystem::absolute(args->out, ec).lexically_normal().string();
      PrintLine(ToJson(Term::map({})
                           .put("ok", true)
                           .put("tarball", Term(path))
                           .put("sha256", Term(*sha))
                           .put("key_id", key_id.empty() ? Term() : Term(key_id))
                           .put("release", Term(out->release.name))
                           .put("vsn", Term(out->release.vsn))
                           .put("modules", Term::list(std::move(modules)))
                           .put("upgrade_from", PlansJson(out->plans.up))
                           .put("downgrade_to", PlansJson(out->plans.down))
                           .put("diagnostics", DiagnosticsJson(diags))));
    } else if (!args->quiet) {
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
