// The node trusts its root directory only as ssh's StrictModes trusts ~/.ssh:
// a root, or a releases/, lib/ or code/ inside it, or a release or library
// in those, that another user could change is refused before anything is
// loaded, with the fix in the message.
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

TEST_CASE("a root that a detached node start creates is 0700 whatever the umask",
          "[cli][node][root]") {
  NodeRoot parent;
  mode_t old = ::umask(022);
  std::string detached = parent.file("detached");
  RunResult r = Start(detached);
  ::umask(old);
  INFO(r.both());
  REQUIRE(r.exit_code == 0);
  struct stat st {};
  REQUIRE(::stat(detached.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  CHECK(Relup({"node", "stop", "--root", detached}).exit_code == 0);
}

TEST_CASE("a releases/ writable by others inside the root is refused", "[cli][node][root]") {
  NodeRoot root;
  fs::create_directories(root.file("releases"));
  REQUIRE(::chmod(root.file("releases").c_str(), 0757) == 0);
  RunResult r = Start(root.path());
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.err, root.file("releases") + " is writable by group or others (mode 0757)"));
}

TEST_CASE("a module library inside lib/ that others may write is refused, not loaded",
          "[cli][node][root]") {
  NodeRoot root;
  REQUIRE(Start(root.path()).exit_code == 0);
  REQUIRE(Relup({"node", "stop", "--root", root.path()}).exit_code == 0);
  std::string planted;  // the first library the release installed
  for (const auto& dir : fs::directory_iterator(root.file("lib"))) {
    for (const auto& f : fs::directory_iterator(dir.path())) planted = f.path().string();
  }
  REQUIRE_FALSE(planted.empty());
  REQUIRE(::chmod(planted.c_str(), 0666) == 0);
  RunResult r = Relup({"node", "start", "--root", root.path()});
  INFO(r.both());
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.err, planted + " is writable by group or others (mode 0666)"));
  CHECK(Contains(r.err, "fix: chmod go-w " + planted));
  CHECK(root.node_pid() < 0);
  REQUIRE(::chmod(planted.c_str(), 0644) == 0);
  CHECK(Relup({"node", "start", "--root", root.path()}).exit_code == 0);
  Relup({"node", "stop", "--root", root.path()});
}

TEST_CASE("a release directory that is a symlink to elsewhere is checked where it points",
          "[cli][node][root]") {
  NodeRoot root;
  NodeRoot elsewhere;
  fs::create_directories(root.file("releases"));
  fs::create_directories(elsewhere.file("9"));
  REQUIRE(::chmod(elsewhere.file("9").c_str(), 0777) == 0);
  REQUIRE(::symlink(elsewhere.file("9").c_str(), root.file("releases/9").c_str()) == 0);
  RunResult r = Start(root.path());
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.err, root.file("releases/9") + " is writable by group or others (mode 0777)"));
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
