// Signed release tarballs through the real `relup` binary, without a node:
// `relup keygen`, `relup build --sign`, `relup verify [--trust]` and `relup
// inspect`. (The node's side: cli_signed_node_test.cc.)
#include "cli_signing.h"

#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "cli_harness.h"
#include "raw_tarball.h"
#include "release/signing.h"
#include "relup/code_server.h"

namespace relup::test {
namespace {

namespace fs = std::filesystem;

unsigned Mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST_CASE("relup keygen writes a 0600 private key and a 0644 public key and prints the key id",
          "[cli][signing]") {
  NodeRoot dir;
  std::string keys = dir.file("keys");
  RunResult r = Relup({"keygen", "-o", keys});
  INFO(r.both());
  REQUIRE(r.exit_code == 0);
  CHECK(Mode(keys) == 0700);
  CHECK(Mode(keys + "/relup.key") == 0600);  // NAME defaults to relup
  CHECK(Mode(keys + "/relup.pub") == 0644);
  auto pub = LoadPublicKey(keys + "/relup.pub");
  REQUIRE(pub.ok());
  CHECK(Contains(r.out, "key id " + pub->id + "\n"));
  CHECK(Contains(r.out, "--sign " + keys + "/relup.key"));

  KeyPair named = Keygen(keys, "ci-2025");
  CHECK(Mode(named.key) == 0600);
  CHECK(LoadPublicKey(named.pub)->id == named.id);
  CHECK(named.id != pub->id);
}

TEST_CASE("relup keygen refuses to overwrite a key pair, leaving it as it was", "[cli][signing]") {
  NodeRoot dir;
  KeyPair first = Keygen(dir.path(), "relup");
  std::string before = Slurp(first.key);
  RunResult again = Relup({"keygen", "-o", dir.path()});
  INFO(again.both());
  CHECK(again.exit_code == 1);
  CHECK(Contains(again.err, first.key + " already exists: relup keygen never overwrites a key"));
  CHECK(Slurp(first.key) == before);
  CHECK(Mode(first.key) == 0600);
}

TEST_CASE("relup build --sign is reproducible and adds only a SIGNATURE entry", "[cli][signing]") {
  NodeRoot dir;
  KeyPair k = Keygen(dir.file("keys"), "relup");
  std::string a = BuildDemo(2, dir.file("a.tar.gz"), k.key);
  std::string b = BuildDemo(2, dir.file("b.tar.gz"), k.key);
  CHECK(Slurp(a) == Slurp(b));  // byte for byte
  std::string plain = BuildDemo(2, dir.file("plain.tar.gz"));
  ReleaseFiles signed_files = FilesOf(a);
  ReleaseFiles unsigned_files = FilesOf(plain);
  REQUIRE(signed_files.count(kSignaturePath) == 1);
  CHECK(unsigned_files.count(kSignaturePath) == 0);
  signed_files.erase(kSignaturePath);
  CHECK(signed_files == unsigned_files);  // MANIFEST does not list SIGNATURE
  CHECK(Contains(FilesOf(a).at(kSignaturePath), "key-id " + k.id + "\n"));

  RunResult loud = Relup({"build", std::string(RELUP_SOURCE_DIR) + "/release-specs/demo-2.yaml",
                          "-o", dir.file("c.tar.gz"), "--sign", k.key});
  INFO(loud.both());
  CHECK(loud.exit_code == 0);
  CHECK(Contains(loud.out, "signed by key " + k.id));
}

TEST_CASE("relup build --sign refuses a bad key and leaves no tarball behind", "[cli][signing]") {
  NodeRoot dir;
  KeyPair k = Keygen(dir.file("keys"), "relup");
  std::string lax = dir.file("lax.key");
  fs::copy_file(k.key, lax);
  fs::permissions(lax, static_cast<fs::perms>(0644));
  std::ofstream(dir.file("garbage.key")) << "not a key at all\n";
  fs::permissions(dir.file("garbage.key"), static_cast<fs::perms>(0600));
  struct Case {
    std::string key;
    std::string message;
  };
  const std::vector<Case> cases = {
      {lax, lax +
                ": permissions 0644 are too open: the private key must be readable only by "
                "you (chmod 600 " +
                lax + ")"},
      {k.pub, k.pub + " holds a public key: --sign takes the private key"},
      {dir.file("garbage.key"), "is not a PEM private key"},
      {dir.file("missing.key"), "cannot open " + dir.file("missing.key")},
  };
  std::string out = dir.file("out.tar.gz");
  for (const Case& c : cases) {
    RunResult r = Relup({"build", std::string(RELUP_SOURCE_DIR) + "/release-specs/demo-1.yaml",
                         "-o", out, "--sign", c.key});
    INFO(c.key + ": " + r.both());
    CHECK(r.exit_code == 1);
    CHECK(Contains(r.err, c.message));
    CHECK(Contains(r.err, "nothing written"));
    CHECK_FALSE(fs::exists(out));
  }
  // Nothing else was left in the output directory either (no temporary file).
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    CHECK(entry.path().filename().string().find(".tar.gz") == std::string::npos);
  }
}

TEST_CASE(
    "relup build --json gives a pipeline the tarball, its sha256, the key id, the versions and "
    "the diagnostics as one object, on failure too",
    "[cli][signing]") {
  NodeRoot dir;
  KeyPair k = Keygen(dir.file("keys"), "relup");
  const std::string specs = std::string(RELUP_SOURCE_DIR) + "/release-specs/";
  std::string out = dir.file("demo-2.tar.gz");
  RunResult built = Relup({"build", specs + "demo-2.yaml", "-o", out, "--from",
                           specs + "demo-1.yaml", "--sign", k.key, "--json"});
  INFO(built.both());
  REQUIRE(built.exit_code == 0);
  CHECK(std::count(built.out.begin(), built.out.end(), '\n') == 1);  // one object, one line
  CHECK(Contains(built.out, "\"ok\":true"));
  CHECK(Contains(built.out, "\"tarball\":\"" + out + "\""));
  CHECK(Contains(built.out, "\"sha256\":\"" + *Sha256File(out) + "\""));
  CHECK(Contains(built.out, "\"key_id\":\"" + k.id + "\""));
  CHECK(Contains(built.out, "\"release\":\"demo\""));
  CHECK(Contains(built.out, "\"vsn\":\"2\""));
  CHECK(Contains(built.out, "\"modules\":[{\"name\":\"demo_server\",\"vsn\":\"2\"}]"));
  CHECK(Contains(built.out, "\"upgrade_from\":[{\"generated\":false,\"vsn\":\"1\"}]"));
  CHECK(Contains(built.out, "\"diagnostics\":[]"));

  RunResult plain = Relup({"build", specs + "demo-1.yaml", "-o", dir.file("d1.tar.gz"), "--json"});
  CHECK(Contains(plain.out, "\"key_id\":null"));
  CHECK(Contains(plain.out, "\"upgrade_from\":[]"));

  std::ofstream(dir.file("bad.yaml")) << "release: demo\nvsn: \"3\"\nmodules: 7\n";
  RunResult bad = Relup({"build", dir.file("bad.yaml"), "-o", dir.file("bad.tar.gz"), "--json"});
  INFO(bad.both());
  CHECK(bad.exit_code == 1);
  CHECK(Contains(bad.out, "\"ok\":false"));
  CHECK(Contains(bad.out, "\"tarball\":null"));
  CHECK(Contains(bad.out, "{\"column\":"));
  CHECK(Contains(bad.out, "\"file\":\"" + dir.file("bad.yaml") + "\""));
  CHECK(Contains(bad.out, "\"fix\":\""));
  CHECK(Contains(bad.err, "nothing written"));  // and the same, for people, on stderr
  CHECK_FALSE(fs::exists(dir.file("bad.tar.gz")));

  fs::permissions(k.key, static_cast<fs::perms>(0640));
  RunResult lax = Relup(
      {"build", specs + "demo-1.yaml", "-o", dir.file("x.tar.gz"), "--sign", k.key, "--json"});
  CHECK(lax.exit_code == 1);
  CHECK(Contains(lax.out, "\"ok\":false"));
  CHECK(Contains(lax.out, "permissions 0640 are too open"));
  CHECK(Contains(lax.out, "\"fix\":\"chmod 600 " + k.key + "\""));

  // relup check's output is not mixed into the object.
  RunResult both = Relup(
      {"build", specs + "demo-2.yaml", "-o", out, "--json", "--check-from", dir.file("d1.tar.gz")});
  CHECK(both.exit_code == 2);
}

TEST_CASE("relup verify says who signed a tarball, and with --trust accepts a trusted signer",
          "[cli][signing]") {
  NodeRoot dir;
  KeyPair a = Keygen(dir.file("keys"), "a");
  KeyPair b = Keygen(dir.file("keys"), "b");
  std::string plain = BuildDemo(2, dir.file("plain.tar.gz"));
  std::string signed_a = BuildDemo(2, dir.file("a.tar.gz"), a.key);

  RunResult r = Relup({"verify", plain});
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.out, "ok (3 files match MANIFEST), unsigned\n"));
  r = Relup({"verify", signed_a});
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.out, "ok (3 files match MANIFEST), signed by key " + a.id + "\n"));
  r = Relup({"verify", signed_a, "--trust", a.pub});
  INFO(r.both());
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.out, "signed by trusted key " + a.id));
  // A directory of keys (rotation: both trusted), and --trust before the tarball.
  r = Relup({"verify", "--trust", dir.file("keys"), signed_a});
  CHECK(r.exit_code == 0);
  r = Relup({"verify", signed_a, "--trust", b.pub, "--trust", a.pub});
  CHECK(r.exit_code == 0);

  r = Relup({"verify", signed_a, "--json", "--trust", a.pub});
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.out, "\"signed\":true"));
  CHECK(Contains(r.out, "\"key_id\":\"" + a.id + "\""));
  CHECK(Contains(r.out, "\"trusted\":true"));
  r = Relup({"verify", plain, "--json"});
  CHECK(Contains(r.out, "\"signed\":false"));
  CHECK(Contains(r.out, "\"key_id\":null"));
}

TEST_CASE("relup verify --trust fails with exit 6 and its own message for each bad signature",
          "[cli][signing]") {
  NodeRoot dir;
  KeyPair a = Keygen(dir.file("keys"), "a");
  KeyPair b = Keygen(dir.file("other"), "b");
  std::string plain = BuildDemo(2, dir.file("plain.tar.gz"));
  std::string signed_a = BuildDemo(2, dir.file("a.tar.gz"), a.key);
  std::string signed_b = BuildDemo(2, dir.file("b.tar.gz"), b.key);
  ReleaseFiles files_a = FilesOf(signed_a);

  // A SIGNATURE copied from another tarball (demo 1, signed by the same key).
  ReleaseFiles copied = FilesOf(plain);
  copied[kSignaturePath] = FilesOf(BuildDemo(1, dir.file("one.tar.gz"), a.key)).at(kSignaturePath);
  // A library changed and MANIFEST rewritten to match it, the SIGNATURE kept.
  ReleaseFiles tampered = files_a;
  tampered["lib/demo_server-2/demo_server.so"] += '\0';
  tampered[kManifestPath] = MakeManifest(tampered);
  // The signature itself altered.
  ReleaseFiles forged = files_a;
  forged[kSignaturePath] = ForgedSignature(files_a);
  ReleaseFiles truncated = files_a;
  truncated[kSignaturePath].resize(60);

  struct Case {
    std::string name;
    std::string tarball;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"unsigned", plain,
       plain + " is not signed, and keys are trusted: sign it with relup build --sign KEY"},
      {"unknown key", signed_b,
       signed_b + " is signed by key " + b.id + ", which is not trusted (trusted: " + a.id + " (" +
           a.pub + ")"},
      {"copied", WriteFiles(dir.file("copied.tar.gz"), copied),
       "SIGNATURE was made for another MANIFEST"},
      {"tampered", WriteFiles(dir.file("tampered.tar.gz"), tampered),
       "MANIFEST was changed after signing, or SIGNATURE was copied from another tarball"},
      {"forged", WriteFiles(dir.file("forged.tar.gz"), forged),
       "the signature in SIGNATURE does not verify with trusted key " + a.id},
      {"truncated", WriteFiles(dir.file("truncated.tar.gz"), truncated),
       "the SIGNATURE entry is truncated or garbled"},
  };
  for (const Case& c : cases) {
    RunResult r = Relup({"verify", c.tarball, "--trust", a.pub});
    INFO(c.name + ": " + r.both());
    CHECK(r.exit_code == 6);  // kExitVerifyFailed
    CHECK(Contains(r.err, c.message));
    CHECK(Contains(r.err, "FAILED"));
  }
  // A SIGNATURE that does not fit this MANIFEST, or does not parse, fails
  // even without --trust; one by an unknown key only says who signed it.
  for (const char* name : {"copied.tar.gz", "tampered.tar.gz", "truncated.tar.gz"}) {
    RunResult r = Relup({"verify", dir.file(name)});
    INFO(std::string(name) + ": " + r.both());
    CHECK(r.exit_code == 6);
  }
  CHECK(Relup({"verify", signed_b}).exit_code == 0);
}

TEST_CASE("relup verify refuses an oversized SIGNATURE entry without reading it",
          "[cli][signing]") {
  NodeRoot dir;
  ReleaseFiles files = FilesOf(BuildDemo(2, dir.file("plain.tar.gz")));
  std::vector<RawEntry> entries;
  for (const auto& [path, content] : files) entries.push_back({path, AE_IFREG, content, ""});
  entries.push_back({kSignaturePath, AE_IFREG, std::string(100000, 'x'), ""});
  std::string tarball = dir.file("big.tar.gz");
  std::ofstream(tarball, std::ios::binary) << RawTarball(entries);
  RunResult r = Relup({"verify", tarball});
  INFO(r.both());
  CHECK(r.exit_code == 6);
  CHECK(Contains(r.err, "entry 'SIGNATURE' is 100000 bytes; a relup signature is at most 1024"));
}

TEST_CASE("relup verify --trust with a bad key path is a usage error naming it", "[cli][signing]") {
  NodeRoot dir;
  KeyPair a = Keygen(dir.file("keys"), "a");
  std::string tarball = BuildDemo(2, dir.file("a.tar.gz"), a.key);
  fs::create_directories(dir.file("empty"));
  std::ofstream(dir.file("junk.pub")) << "junk\n";
  struct Case {
    std::string trust;
    std::string message;
  };
  const std::vector<Case> cases = {
      {dir.file("nowhere"), "--trust: trusted keys " + dir.file("nowhere") + ": no such file"},
      {dir.file("empty"), dir.file("empty") + " holds no *.pub file"},
      {a.key, a.key + " holds a private key"},
      {dir.file("junk.pub"), dir.file("junk.pub") + " is not a PEM public key"},
  };
  for (const Case& c : cases) {
    RunResult r = Relup({"verify", tarball, "--trust", c.trust});
    INFO(c.trust + ": " + r.both());
    CHECK(r.exit_code == 2);
    CHECK(Contains(r.err, c.message));
  }
}

TEST_CASE("relup inspect shows who signed a tarball", "[cli][signing]") {
  NodeRoot dir;
  KeyPair a = Keygen(dir.file("keys"), "a");
  RunResult r = Relup({"inspect", BuildDemo(2, dir.file("a.tar.gz"), a.key)});
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.out, "manifest: ok (3 files checked)"));
  CHECK(Contains(r.out, "signature: signed by key " + a.id));
  r = Relup({"inspect", BuildDemo(2, dir.file("plain.tar.gz"))});
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.out, "signature: unsigned"));
  r = Relup({"inspect", dir.file("a.tar.gz"), "--json"});
  CHECK(Contains(r.out, "\"signed\":true,"));
  CHECK(Contains(r.out, "\"key_id\":\"" + a.id + "\""));
}

}  // namespace
}  // namespace relup::test
