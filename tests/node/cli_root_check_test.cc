// The node trusts its root directory only as ssh's StrictModes trusts ~/.ssh:
// a root, or a releases/, lib/ or code/ inside it, that another user could
// change is refused before anything is loaded, with the fix in the message.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "cli_harness.h"

namespace relup::test {
namespace {

namespace fs = std::filesystem;

RunResult Start(const std::string& root) {
  return Relup({"node", "start", "--root", root, "--release", DemoTarball(1)});
}

}  // namespace

TEST_CASE("a root writable by others is refused, and the message says how to fix it",
          "[cli][node][root]") {
  NodeRoot root;
  REQUIRE(::chmod(root.path().c_str(), 0777) == 0);
  RunResult r = Start(root.path());
  INFO(r.both());
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.err, "refusing root " + root.path()));
  CHECK(Contains(r.err, "writable by group or others (mode 0777)"));
  CHECK(Contains(r.err, "fix: chmod go-w " + root.path()));
  CHECK(root.node_pid() < 0);
  REQUIRE(::chmod(root.path().c_str(), 0700) == 0);
  CHECK(Start(root.path()).exit_code == 0);  // fixed as told: it starts
}

TEST_CASE("a releases/ writable by others inside the root is refused", "[cli][node][root]") {
  NodeRoot root;
  fs::create_directories(root.file("releases"));
  REQUIRE(::chmod(root.file("releases").c_str(), 0757) == 0);
  RunResult r = Start(root.path());
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.err, root.file("releases") + " is writable by group or others (mode 0757)"));
}

TEST_CASE("a root under a directory others may write (without the sticky bit) is refused",
          "[cli][node][root]") {
  NodeRoot base;
  std::string shared = base.file("shared");
  fs::create_directories(shared);
  REQUIRE(::chmod(shared.c_str(), 0777) == 0);
  std::string root = shared + "/r";
  RunResult r = Start(root);
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.err, "the directory above it, " + shared +
                            ", is writable by group or others without the sticky bit"));
  REQUIRE(::chmod(shared.c_str(), 01777) == 0);  // as /tmp: sticky, so it is fine
  RunResult ok = Start(root);
  INFO(ok.both());
  CHECK(ok.exit_code == 0);
  Relup({"node", "stop", "--root", root});
}

TEST_CASE("a lib/ that is another user's symlink is refused (run as root only)",
          "[cli][node][root]") {
  if (::geteuid() != 0) {
    WARN("not root: cannot make a symlink owned by another user; skipped");
    return;
  }
  NodeRoot root;
  NodeRoot elsewhere;
  REQUIRE(::symlink(elsewhere.path().c_str(), root.file("lib").c_str()) == 0);
  REQUIRE(::lchown(root.file("lib").c_str(), 65534, 65534) == 0);
  RunResult r = Start(root.path());
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.err, root.file("lib") + " is a symlink owned by uid 65534"));
}

TEST_CASE("a node.log that is a symlink is refused, not followed", "[cli][node][root]") {
  NodeRoot root;
  NodeRoot elsewhere;
  REQUIRE(::symlink(elsewhere.file("target").c_str(), root.file("node.log").c_str()) == 0);
  RunResult r = Start(root.path());
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.err, "refusing " + root.file("node.log") + ": it is a symlink"));
  CHECK_FALSE(fs::exists(elsewhere.file("target")));
}

}  // namespace relup::test
