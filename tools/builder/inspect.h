// Reading a built release tarball back: for `relup inspect`, `relup verify`
// and `relup explain`. Library code: returns text and data, never prints.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "relup/plan.h"
#include "relup/release.h"
#include "relup/status.h"
#include "relup/term.h"

namespace relup::build {

struct ReleaseTarball {
  std::string path;
  ReleaseFiles files;
  Release release;
  PlanSet plans;
};

// Reads a tarball (with the node's safety checks) and parses its
// release.yaml and relup.yaml. Does not check the MANIFEST.
Result<ReleaseTarball> OpenReleaseTarball(const std::string& path);

// Every problem with a tarball's files, one line each, naming the file: the
// MANIFEST (missing, tampered, missing or extra files), release.yaml and
// relup.yaml (unreadable, or a plan naming another release), and each
// module's library (missing, or not the sha256 release.yaml records). Empty:
// the tarball is intact.
std::vector<std::string> VerifyReleaseFiles(const ReleaseFiles& files, const std::string& source);

// Numbered steps of one plan, one per line, indented by `indent`.
std::string ExplainSteps(const UpgradePlan& plan, std::string_view indent = "  ");

// The readable plan text of `relup explain`: every plan, or with from_vsn
// the plan that upgrades from that version (NotFound listing the versions
// there are plans for), or with to_vsn the plan that downgrades to it.
Result<std::string> ExplainRelease(const ReleaseTarball& tarball,
                                   const std::optional<std::string>& from_vsn,
                                   const std::optional<std::string>& to_vsn);

// Who signed the tarball, for people: "signed by key 0123456789abcdef",
// "unsigned", or "bad SIGNATURE entry ..." (the signature is not checked:
// that needs the signer's public key, relup verify --trust).
std::string SignatureText(const ReleaseFiles& files);

// `relup inspect`: a readable summary, and the same as a Term for --json
// (with "signed" and "key_id", nil when unsigned). `problems` (from
// VerifyReleaseFiles) is summarized.
std::string InspectText(const ReleaseTarball& tarball, const std::vector<std::string>& problems);
Term InspectTerm(const ReleaseTarball& tarball, const std::vector<std::string>& problems);

}  // namespace relup::build
