// relup apply TARBALL: upgrades the running node to the tarball's release.
// The tarball is verified here first (a bad one never reaches the node),
// then the node unpacks, checks and runs the plan (node/release_handler.h).
#include <filesystem>

#include "cmd/node_client_util.h"
#include "cmd/upgrade_output.h"
#include "command.h"
#include "release/tarball.h"
#include "relup/release.h"

namespace relup::cli {
namespace {

// Refuses a tarball that fails its own checks; names every bad file.
// Checks the tarball here before the node does, and returns its release's
// vsn in *vsn.
int VerifyLocally(const std::string& path, std::string* vsn) {
  auto files = ReadTarball(path);
  if (!files.ok()) {
    return ReportFailure("apply", files.status().WithContext("refusing " + path), kExitVerifyFailed,
                         "verify");
  }
  std::vector<std::string> problems = VerifyManifest(*files);
  if (!problems.empty()) {
    std::string msg = "refusing " + path + ": it does not match its MANIFEST:";
    for (const auto& p : problems) msg += "\n  " + p;
    return ReportFailure("apply", Status::Corruption(msg), kExitVerifyFailed, "verify");
  }
  auto release = ReleaseFromFiles(*files, path);
  if (!release.ok()) {
    return ReportFailure("apply", release.status().WithContext("refusing " + path),
                         kExitVerifyFailed, "verify");
  }
  *vsn = release->vsn;
  return kExitOk;
}

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string root, tarball;
    bool permanent = false, json = false, dry_run = false, atomic = false, processes = false;
  };
  auto args = std::make_shared<Args>();
  sub.add_option("tarball", args->tarball, "release tarball built by `relup build`")->required();
  AddRootOption(sub, args->root);
  sub.add_flag("--permanent", args->permanent, "make the new release permanent on success");
  sub.add_flag("--json", args->json, "print the report as JSON");
  sub.add_flag("--dry-run", args->dry_run,
               "run every check and code_change on copies of the states; change nothing");
  sub.add_flag("--atomic", args->atomic,
               "keep every affected process suspended until all have changed (all or nothing)");
  sub.add_flag("--processes", args->processes,
               "also list every touched process with its pause (large for big nodes)");
  return [args] {
    if (args->json) EnableJsonErrors();
    std::error_code ec;
    std::string path = std::filesystem::absolute(args->tarball, ec).lexically_normal().string();
    if (Status readable = CheckReadableFile(path, "tarball " + args->tarball); !readable.ok()) {
      return ReportFailure("apply", readable, kExitUsage, "verify");
    }
    std::string vsn;
    if (int rc = VerifyLocally(path, &vsn); rc != kExitOk) return rc;
    return WithNode("apply", args->root, kNoReplyLimit, [&](ControlClient& client) {
      Term request = MakeRequest("apply", {{Term::atom("tarball"), Term(path)},
                                           {Term::atom("permanent"), Term(args->permanent)},
                                           {Term::atom("dry_run"), Term(args->dry_run)},
                                           {Term::atom("atomic"), Term(args->atomic)},
                                           {Term::atom("processes"), Term(args->processes)}});
      UpgradeRequestOptions options;
      options.json = args->json;
      options.permanent = args->permanent;
      options.root = client.root();
      options.target = vsn;
      return RunUpgradeRequest("apply", client, request, options);
    });
  };
}

RELUP_COMMAND("apply", "upgrade the running node to a release tarball, transactionally", Setup);

}  // namespace
}  // namespace relup::cli
