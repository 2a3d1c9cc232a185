// A node that trusts keys (relup node start --trust, ROOT/trusted_keys/)
// through the real `relup` binary: it refuses every tarball not signed by
// one of them, before anything is unpacked, with exit 6 for `relup apply`,
// and says in `relup status` what it requires.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "cli_harness.h"
#include "cli_signing.h"

namespace relup::test {
namespace {

namespace fs = std::filesystem;

// `relup node start --root R --release T --trust ...`; the test fails unless
// it starts.
void StartTrusting(const NodeRoot& root, const std::string& tarball,
                   const std::vector<std::string>& trust) {
  std::vector<std::string> args = {"node", "start", "--root", root.path(), "--release", tarball};
  for (const std::string& t : trust) args.insert(args.end(), {"--trust", t});
  RunResult r = Relup(args);
  INFO(r.both());
  REQUIRE(r.exit_code == 0);
}

// Release 2 is nowhere on the node: not listed, nothing unpacked.
void CheckNothingOf2(const NodeRoot& root) {
  CHECK_FALSE(Contains(Relup({"releases", "--root", root.path()}).out, "demo  2"));
  CHECK_FALSE(fs::exists(root.file("releases/2")));
  CHECK_FALSE(fs::exists(root.file("lib/demo_server-2")));
  CHECK(Contains(Relup({"status", "--root", root.path()}).out, "release:   demo 1 (permanent)"));
  CHECK(Trimmed(Relup({"state", "--root", root.path(), "blackode"}).out) ==
        "{money: 30000, name: blackode}");
}

TEST_CASE("a node started with --trust applies a tarball signed by a trusted key, end to end",
          "[cli][signing][node]") {
  NodeRoot root;
  NodeRoot dist;
  KeyPair k = Keygen(dist.file("keys"), "relup");
  StartTrusting(root, BuildDemo(1, dist.file("demo-1.tar.gz"), k.key), {k.pub});

  RunResult status = Relup({"status", "--root", root.path()});
  CHECK(Contains(status.out, "signatures: required, by one of " + k.id));
  RunResult json = Relup({"status", "--root", root.path(), "--json"});
  CHECK(Contains(json.out, "\"signatures\":{\"required\":true,\"trusted\":[{\"id\":\"" + k.id));

  RunResult r = Relup({"apply", BuildDemo(2, dist.file("demo-2.tar.gz"), k.key), "--root",
                       root.path(), "--permanent"});
  INFO(r.both());
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.out, "upgrade 1 -> 2: done"));
  CHECK(Trimmed(Relup({"call", "--root", root.path(), "blackode", "{add: 100000}"}).out) ==
        "{name: blackode, salary: 130000}");
  CHECK(fs::exists(root.file("releases/2/SIGNATURE")));  // kept beside MANIFEST
}

TEST_CASE(
    "a node that trusts keys refuses an unsigned, an unknown-key and a tampered tarball with exit "
    "6, before unpacking anything",
    "[cli][signing][node]") {
  NodeRoot root;
  NodeRoot dist;
  KeyPair k = Keygen(dist.file("keys"), "relup");
  KeyPair stranger = Keygen(dist.file("elsewhere"), "stranger");
  StartTrusting(root, BuildDemo(1, dist.file("demo-1.tar.gz"), k.key), {k.pub});

  ReleaseFiles good = FilesOf(BuildDemo(2, dist.file("good.tar.gz"), k.key));
  ReleaseFiles forged = good;
  forged[kSignaturePath] = ForgedSignature(good);
  struct Case {
    std::string name;
    std::string tarball;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"unsigned", BuildDemo(2, dist.file("plain.tar.gz")),
       "is not signed, and keys are trusted: sign it with relup build --sign KEY"},
      {"unknown key", BuildDemo(2, dist.file("stranger.tar.gz"), stranger.key),
       "is signed by key " + stranger.id + ", which is not trusted (trusted: " + k.id},
      {"tampered", WriteFiles(dist.file("forged.tar.gz"), forged),
       "does not verify with trusted key " + k.id},
  };
  for (const Case& c : cases) {
    RunResult r = Relup({"apply", c.tarball, "--root", root.path()});
    INFO(c.name + ": " + r.both());
    CHECK(r.exit_code == 6);  // kExitVerifyFailed
    CHECK(Contains(r.err, c.message));
    CHECK(Contains(r.both(), "upgrade 1 -> 2: refused"));  // the version asked for, named
    CheckNothingOf2(root);
    RunResult json = Relup({"apply", c.tarball, "--root", root.path(), "--json"});
    CHECK(json.exit_code == 6);
    CHECK(Contains(json.out, "\"step\":\"verify\""));
  }
  CHECK(Contains(root.log(), "not trusted"));
}

TEST_CASE("a node with two trusted keys accepts a tarball signed by either (key rotation)",
          "[cli][signing][node]") {
  NodeRoot root;
  NodeRoot dist;
  std::string trusted = dist.file("trusted");
  KeyPair old_key = Keygen(trusted, "2024");
  KeyPair new_key = Keygen(trusted, "2025");
  // The private keys do not belong with the trusted public ones.
  fs::rename(old_key.key, dist.file("2024.key"));
  fs::rename(new_key.key, dist.file("2025.key"));
  StartTrusting(root, BuildDemo(1, dist.file("demo-1.tar.gz"), dist.file("2024.key")), {trusted});
  CHECK(Contains(Relup({"status", "--root", root.path()}).out,
                 "signatures: required, by one of " + old_key.id));
  RunResult r = Relup({"apply", BuildDemo(2, dist.file("demo-2.tar.gz"), dist.file("2025.key")),
                       "--root", root.path()});
  INFO(r.both());
  CHECK(r.exit_code == 0);
  CHECK(Contains(Relup({"status", "--root", root.path()}).out, "release:   demo 2"));
}

TEST_CASE("ROOT/trusted_keys makes a node require signatures, even when started without --trust",
          "[cli][signing][node]") {
  NodeRoot root;
  NodeRoot dist;
  KeyPair k = Keygen(dist.file("keys"), "relup");
  fs::create_directories(root.file("trusted_keys"));
  fs::copy_file(k.pub, root.file("trusted_keys/relup.pub"));

  // The first release itself must be signed.
  RunResult refused = Relup({"node", "start", "--root", root.path(), "--release", DemoTarball(1)});
  INFO(refused.both());
  CHECK(refused.exit_code == 6);
  CHECK(Contains(refused.err, "is not signed, and keys are trusted"));
  CHECK_FALSE(fs::exists(root.file("releases/1")));

  root.start(BuildDemo(1, dist.file("demo-1.tar.gz"), k.key));
  CHECK(Contains(
      Relup({"status", "--root", root.path()}).out,
      "signatures: required, by one of " + k.id + " (" + root.file("trusted_keys/relup.pub")));
  RunResult r = Relup({"apply", DemoTarball(2), "--root", root.path()});
  CHECK(r.exit_code == 6);
  CheckNothingOf2(root);
}

TEST_CASE(
    "ROOT/trusted_keys is read again for every tarball: a key is rotated without a restart, and "
    "emptying it refuses every tarball rather than accepting unsigned ones",
    "[cli][signing][node]") {
  NodeRoot root;
  NodeRoot dist;
  KeyPair old_key = Keygen(dist.file("old"), "2025");
  KeyPair new_key = Keygen(dist.file("new"), "2026");
  fs::create_directories(root.file("trusted_keys"));
  fs::copy_file(old_key.pub, root.file("trusted_keys/2025.pub"));
  root.start(BuildDemo(1, dist.file("demo-1.tar.gz"), old_key.key));
  std::string signed_new = BuildDemo(2, dist.file("demo-2.tar.gz"), new_key.key);

  // Not trusted yet: refused, nothing unpacked.
  RunResult refused = Relup({"apply", signed_new, "--root", root.path()});
  INFO(refused.both());
  CHECK(refused.exit_code == 6);
  CheckNothingOf2(root);

  SECTION("the new key's .pub is added: the next apply takes it, and status shows both") {
    fs::copy_file(new_key.pub, root.file("trusted_keys/2026.pub"));
    std::string shown = Relup({"status", "--root", root.path()}).out;
    CHECK(Contains(shown, old_key.id));
    CHECK(Contains(shown, new_key.id));
    RunResult r = Relup({"apply", signed_new, "--root", root.path()});
    INFO(r.both());
    CHECK(r.exit_code == 0);
    CHECK(Contains(Relup({"status", "--root", root.path()}).out, "release:   demo 2"));
  }
  SECTION("every key removed: still required, every tarball refused, status says why") {
    fs::remove(root.file("trusted_keys/2025.pub"));
    RunResult empty_dir = Relup({"apply", DemoTarball(2), "--root", root.path()});
    INFO(empty_dir.both());
    CHECK(empty_dir.exit_code == 6);
    CHECK(Contains(empty_dir.err, "trusted_keys holds no *.pub file"));
    CHECK(Contains(empty_dir.err, "remove the directory and restart the node"));
    CheckNothingOf2(root);

    fs::remove(root.file("trusted_keys"));
    RunResult no_dir = Relup({"apply", DemoTarball(2), "--root", root.path()});
    INFO(no_dir.both());
    CHECK(no_dir.exit_code == 6);
    CHECK(Contains(no_dir.err, "keeps requiring them while it runs"));
    CheckNothingOf2(root);
    CHECK(Contains(Relup({"status", "--root", root.path()}).out,
                   "signatures: required, but every tarball is refused now: no trusted key is "
                   "left"));
  }
  SECTION("a key file made writable by others: refused until it is fixed") {
    fs::copy_file(new_key.pub, root.file("trusted_keys/2026.pub"));
    ::chmod(root.file("trusted_keys/2026.pub").c_str(), 0666);
    RunResult r = Relup({"apply", signed_new, "--root", root.path()});
    INFO(r.both());
    CHECK(r.exit_code == 6);
    CHECK(Contains(r.err, "trusted keys cannot be read"));
    CheckNothingOf2(root);
    ::chmod(root.file("trusted_keys/2026.pub").c_str(), 0644);
    CHECK(Relup({"apply", signed_new, "--root", root.path()}).exit_code == 0);
  }
}

TEST_CASE("a --trust file that goes away while the node runs refuses every tarball at verify",
          "[cli][signing][node]") {
  NodeRoot root;
  NodeRoot dist;
  KeyPair k = Keygen(dist.file("keys"), "relup");
  StartTrusting(root, BuildDemo(1, dist.file("demo-1.tar.gz"), k.key), {k.pub});
  fs::remove(k.pub);
  RunResult r =
      Relup({"apply", BuildDemo(2, dist.file("demo-2.tar.gz"), k.key), "--root", root.path()});
  INFO(r.both());
  CHECK(r.exit_code == 6);
  CHECK(Contains(r.err, "verify: the node's trusted keys cannot be read"));
  CheckNothingOf2(root);
}

TEST_CASE(
    "a node that started without keys and was given one keeps requiring signatures when the key "
    "goes again",
    "[cli][signing][node]") {
  NodeRoot root;
  NodeRoot dist;
  KeyPair k = Keygen(dist.file("keys"), "relup");
  root.start(DemoTarball(1));
  fs::create_directories(root.file("trusted_keys"));
  fs::copy_file(k.pub, root.file("trusted_keys/relup.pub"));
  CHECK(Relup({"apply", DemoTarball(2), "--root", root.path()}).exit_code == 6);

  fs::remove_all(root.file("trusted_keys"));  // as a config tool rewriting it would
  RunResult r = Relup({"apply", DemoTarball(2), "--root", root.path()});
  INFO(r.both());
  CHECK(r.exit_code == 6);
  CHECK(Contains(r.err, "keeps requiring them while it runs"));
  CheckNothingOf2(root);
}

TEST_CASE(
    "a release installed unsigned, or signed by an old key, can be given again signed anew: the "
    "same release, whose new signature is kept",
    "[cli][signing][node]") {
  NodeRoot root;
  NodeRoot dist;
  KeyPair k = Keygen(dist.file("keys"), "relup");
  root.start(BuildDemo(1, dist.file("demo-1-plain.tar.gz")));
  root.stop();
  std::string resigned = BuildDemo(1, dist.file("demo-1-signed.tar.gz"), k.key);
  RunResult again =
      Relup({"node", "start", "--root", root.path(), "--release", resigned, "--trust", k.pub});
  INFO(again.both());
  REQUIRE(again.exit_code == 0);
  CHECK(Contains(Relup({"status", "--root", root.path()}).out, "release:   demo 1 (permanent)"));
  std::ifstream kept(root.file("releases/1/SIGNATURE"));
  std::string first_line;
  std::getline(kept, first_line);
  CHECK(first_line == "relup-signature 1");
}

TEST_CASE("a node without trusted keys accepts signed and unsigned tarballs and says so",
          "[cli][signing][node]") {
  NodeRoot root;
  NodeRoot dist;
  KeyPair k = Keygen(dist.file("keys"), "relup");
  root.start(DemoTarball(1));
  RunResult status = Relup({"status", "--root", root.path()});
  CHECK(Contains(status.out, "signatures: not required"));
  CHECK(Contains(Relup({"status", "--root", root.path(), "--json"}).out,
                 "\"signatures\":{\"required\":false,\"trusted\":[]}"));
  RunResult r =
      Relup({"apply", BuildDemo(2, dist.file("demo-2.tar.gz"), k.key), "--root", root.path()});
  INFO(r.both());
  CHECK(r.exit_code == 0);
}

TEST_CASE("relup node start refuses a bad --trust or a trusted_keys writable by others",
          "[cli][signing][node]") {
  NodeRoot root;
  NodeRoot dist;
  RunResult missing = Relup({"node", "start", "--root", root.path(), "--release", DemoTarball(1),
                             "--trust", dist.file("nowhere.pub")});
  CHECK(missing.exit_code == 2);
  CHECK(Contains(missing.err, dist.file("nowhere.pub") + ": no such file or directory"));
  fs::create_directories(dist.file("empty"));
  RunResult empty = Relup({"node", "start", "--root", root.path(), "--release", DemoTarball(1),
                           "--trust", dist.file("empty")});
  CHECK(empty.exit_code == 2);
  CHECK(Contains(empty.err, "holds no *.pub file"));
  CHECK(root.node_pid() == -1);

  KeyPair k = Keygen(dist.file("keys"), "relup");
  fs::create_directories(root.file("trusted_keys"));
  fs::copy_file(k.pub, root.file("trusted_keys/relup.pub"));
  fs::permissions(root.file("trusted_keys"), fs::perms::group_write, fs::perm_options::add);
  RunResult writable = Relup({"node", "start", "--root", root.path(), "--release",
                              BuildDemo(1, dist.file("demo-1.tar.gz"), k.key)});
  CHECK(writable.exit_code == 1);
  CHECK(Contains(writable.err, "writable by group or others"));
  CHECK(Contains(writable.err, "chmod go-w " + root.file("trusted_keys")));
  CHECK(root.node_pid() == -1);
}

TEST_CASE(
    "a trusted key owned by another user, under a directory others may write, or a dangling "
    "trusted_keys is refused: no way to trust nothing by accident",
    "[cli][signing][node]") {
  NodeRoot root;
  NodeRoot dist;
  KeyPair k = Keygen(dist.file("keys"), "relup");
  std::string tarball = BuildDemo(1, dist.file("demo-1.tar.gz"), k.key);
  auto start = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"node", "start", "--root", root.path(), "--release", tarball};
    args.insert(args.end(), extra.begin(), extra.end());
    return Relup(args);
  };
  if (::geteuid() == 0) {  // only root can give a file away
    std::string theirs = dist.file("theirs.pub");
    fs::copy_file(k.pub, theirs);
    REQUIRE(::chown(theirs.c_str(), 65534, 65534) == 0);
    RunResult r = start({"--trust", theirs});
    INFO(r.both());
    CHECK(r.exit_code != 0);
    CHECK(Contains(r.err, "is owned by uid 65534, neither this node's user nor root"));
  }
  std::string open_dir = dist.file("open");
  fs::create_directories(open_dir + "/keys");
  fs::copy_file(k.pub, open_dir + "/keys/relup.pub");
  fs::permissions(open_dir, static_cast<fs::perms>(0777));  // no sticky bit
  RunResult r = start({"--trust", open_dir + "/keys"});
  INFO(r.both());
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.err, "the directory " + open_dir + " above it is writable by group or others"));

  fs::create_directory_symlink(dist.file("gone"), root.file("trusted_keys"));
  RunResult dangling = start({});
  INFO(dangling.both());
  CHECK(dangling.exit_code != 0);
  CHECK(Contains(dangling.err, root.file("trusted_keys")));
  CHECK(root.node_pid() == -1);
}

}  // namespace
}  // namespace relup::test
