// A release whose processes start the built-in supervisor: the node boots
// the tree, a killed child comes back under the same name, and relup state
// shows the supervisor's children with their restarts.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "cli_harness.h"

namespace relup::test {
namespace {

// The root supervisor's line for child `id` in `relup state root_sup`, e.g.
// "{id: w1, pid: !pid <0.3.0>, restarts: 1, ...}" (the spec is left out).
std::string ChildPid(const std::string& root, const std::string& id) {
  RunResult r = Relup({"state", "--root", root, "root_sup"});
  if (r.exit_code != 0) return "";
  std::smatch m;
  std::regex pat("id: " + id + "[^}]*?pid: (!pid <[0-9.]+>|~|null)");
  if (!std::regex_search(r.out, m, pat)) return "";
  return m[1];
}

}  // namespace

TEST_CASE("a release starts a supervision tree, and a killed child is restarted by it",
          "[cli][node]") {
  NodeRoot root;
  std::string dir = root.path() + "-spec";
  std::filesystem::create_directories(dir);
  std::string spec = dir + "/sup.yaml";
  std::ofstream(spec) << R"(release: sup
vsn: "1"
modules: [{name: rt_worker, vsn: "1"}]
processes:
  - module: supervisor
    name: root_sup
    args:
      strategy: one_for_one
      intensity: 5
      children:
        - {id: w1, module: rt_worker, name: w1, args: {id: w1}}
        - {id: w2, module: rt_worker, name: w2, args: {id: w2}}
)";
  std::string tarball = dir + "/sup-1.tar.gz";
  RunResult b =
      Relup({"build", spec, "-o", tarball, "--lib-dir", RELUP_TEST_MODULE_DIR, "--quiet"});
  INFO(b.both());
  REQUIRE(b.exit_code == 0);
  RunResult s = Relup({"node", "start", "--root", root.path(), "--release", tarball});
  INFO(s.both());
  REQUIRE(s.exit_code == 0);

  std::string w1 = ChildPid(root.path(), "w1"), w2 = ChildPid(root.path(), "w2");
  REQUIRE(w1.rfind("!pid", 0) == 0);
  REQUIRE(w2.rfind("!pid", 0) == 0);
  RunResult k = Relup({"kill", "--root", root.path(), "w1", ":boom"});
  INFO(k.both());
  REQUIRE(k.exit_code == 0);

  std::string again;
  for (int i = 0; i < 100; ++i) {
    again = ChildPid(root.path(), "w1");
    if (again.rfind("!pid", 0) == 0 && again != w1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(again.rfind("!pid", 0) == 0);
  CHECK(again != w1);
  CHECK(ChildPid(root.path(), "w2") == w2);
  CHECK(Relup({"state", "--root", root.path(), "w1"}).exit_code == 0);  // its name is back
  std::ifstream log(root.file("node.log"));
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(Contains(text, "child w1"));
  CHECK(Contains(text, "restarted as"));
  CHECK(Relup({"node", "stop", "--root", root.path()}).exit_code == 0);
  std::filesystem::remove_all(dir);
}

}  // namespace relup::test
