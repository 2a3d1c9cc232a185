// Helpers for the tests of signed tarballs through the real `relup` binary:
// key pairs made with `relup keygen`, demo releases built with and without
// --sign, and tarballs rewritten entry by entry (a SIGNATURE swapped,
// truncated or forged), which relup build would never write.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "cli_harness.h"
#include "release/tarball.h"
#include "relup/release.h"

namespace relup::test {

struct KeyPair {
  std::string key;  // DIR/NAME.key
  std::string pub;  // DIR/NAME.pub
  std::string id;   // as relup keygen printed it
};

// `relup keygen -o dir --name name`; the test fails unless it succeeds.
inline KeyPair Keygen(const std::string& dir, const std::string& name) {
  RunResult r = Relup({"keygen", "-o", dir, "--name", name});
  INFO(r.both());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out.rfind("key id ", 0) == 0);
  return {dir + "/" + name + ".key", dir + "/" + name + ".pub", r.out.substr(7, 16)};
}

// release-specs/demo-N.yaml built into `out`, signed with `key` unless empty.
inline std::string BuildDemo(int n, const std::string& out, const std::string& key = "") {
  std::vector<std::string> args = {
      "build", std::string(RELUP_SOURCE_DIR) + "/release-specs/demo-" + std::to_string(n) + ".yaml",
      "-o", out, "--quiet"};
  if (!key.empty()) args.insert(args.end(), {"--sign", key});
  RunResult r = Relup(args);
  INFO(r.both());
  REQUIRE(r.exit_code == 0);
  return out;
}

// The files of a tarball, for a test to change and write back.
inline ReleaseFiles FilesOf(const std::string& tarball) {
  auto files = ReadTarball(tarball);
  REQUIRE(files.ok());
  return *files;
}

// Writes `files` as a tarball at `path` and returns path.
inline std::string WriteFiles(const std::string& path, const ReleaseFiles& files) {
  REQUIRE(WriteTarballAtomically(path, files).ok());
  return path;
}

// The SIGNATURE of `files` with its signature line's first hex digit changed
// (the manifest-sha256 left right): a forged or damaged signature.
inline std::string ForgedSignature(const ReleaseFiles& files) {
  std::string sig = files.at(kSignaturePath);
  size_t at = sig.find("\nsignature ") + 11;
  sig[at] = sig[at] == '0' ? '1' : '0';
  return sig;
}

}  // namespace relup::test
