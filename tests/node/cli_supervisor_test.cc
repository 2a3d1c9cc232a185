// A release whose processes start the built-in supervisor: the node boots
// the tree, a killed child comes back under the same name, and relup state
// shows the supervisor's children with their restarts.
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "cli_harness.h"

namespace relup::test {
namespace {

// The pid of child `id` in `relup call SUP :which_children`, or "".
std::string ChildPidOf(const std::string& root, const std::string& sup, const std::string& id) {
  RunResult r = Relup({"call", "--root", root, sup, ":which_children"});
  if (r.exit_code != 0) return "";
  std::smatch m;
  std::regex pat("id: " + id + ", [^}]*?pid: (!pid <[0-9.]+>|~|null)");
  if (!std::regex_search(r.out, m, pat)) return "";
  return m[1];
}

}  // namespace

TEST_CASE("every process of a release runs under relup_root, supervisor: entries as subtrees",
          "[cli][node]") {
  NodeRoot root;
  std::string tarball = BuildTestSpec(root.path() + "-spec", "tree", R"(release: tree
vsn: "1"
modules: [{name: rt_worker, vsn: "1"}]
processes:
  - {module: rt_worker, name: solo, args: {id: solo}}
  - supervisor:
      name: pool_sup
      strategy: one_for_all
      intensity: 3
      children:
        - {module: rt_worker, name: w, count: 3, args: {id: w}, shutdown: 1000}
        - supervisor:
            name: jobs
            strategy: simple_one_for_one
            children: [{module: rt_worker, restart: transient}]
)");
  RunResult inspect = Relup({"inspect", tarball});
  INFO(inspect.both());
  CHECK(Contains(inspect.out, "relup_root  (one_for_one, at most 5 restarts in 10000 ms)"));
  CHECK(Contains(inspect.out, "└─ pool_sup  supervisor (one_for_all, at most 3 restarts"));
  CHECK(Contains(inspect.out, "├─ w_1  rt_worker  shutdown 1000  args {id: w}"));
  CHECK(Contains(inspect.out, "└─ (template)  rt_worker  restart transient"));
  root.start(tarball);
  // Every state at once (issue 14): relup ps --states.
  RunResult states = Relup({"ps", "--root", root.path(), "--states"});
  INFO(states.both());
  CHECK(Contains(states.out, " solo (rt_worker 1): {id: solo}\n"));
  CHECK(Contains(states.out, " w_2 (rt_worker 1): {id: w}\n"));
  CHECK(Contains(states.out, " pool_sup (supervisor 1): {children: ["));
  RunResult json = Relup({"ps", "--root", root.path(), "--states", "--json"});
  CHECK(Contains(json.out, "\"queue\":0,\"server_state\":{\"id\":\"solo\"}"));
  RunResult top = Relup({"call", "--root", root.path(), "relup_root", ":which_children"});
  INFO(top.both());
  REQUIRE(top.exit_code == 0);
  CHECK(std::regex_search(top.out, std::regex("id: solo.*id: pool_sup")));
  RunResult pool = Relup({"call", "--root", root.path(), "pool_sup", ":which_children"});
  INFO(pool.both());
  CHECK(std::regex_search(pool.out, std::regex("id: w_1.*id: w_2.*id: w_3.*id: jobs")));

  // one_for_all: a crash in the pool restarts all of it, and solo stays.
  std::string solo = ChildPidOf(root.path(), "relup_root", "solo");
  std::string w3 = ChildPidOf(root.path(), "pool_sup", "w_3");
  REQUIRE(Relup({"kill", "--root", root.path(), "w_1"}).exit_code == 0);
  CHECK(WaitUntil([&] {
    std::string now = ChildPidOf(root.path(), "pool_sup", "w_3");
    return now.rfind("!pid", 0) == 0 && now != w3;
  }));
  CHECK(ChildPidOf(root.path(), "relup_root", "solo") == solo);
  root.stop();
}

TEST_CASE("the root supervisor giving up stops the node, non-zero, saying why in node.log",
          "[cli][node]") {
  NodeRoot root;
  std::string tarball = BuildTestSpec(root.path() + "-spec", "fragile", R"(release: fragile
vsn: "1"
modules: [{name: rt_worker, vsn: "1"}]
root: {intensity: 1, period_ms: 60000}
processes:
  - {module: rt_worker, name: crashy, args: {id: crashy}}
)");
  RunResult fg;
  std::thread node([&] {
    fg = Relup({"node", "start", "--foreground", "--root", root.path(), "--release", tarball});
  });
  CHECK(WaitUntil([&] {
    return Relup({"state", "--root", root.path(), "crashy"}).exit_code == 0;
  }));
  REQUIRE(Relup({"kill", "--root", root.path(), "crashy"}).exit_code == 0);  // restarted: 1 of 1
  CHECK(WaitUntil([&] { return Contains(root.log(), "restarted as"); }));
  REQUIRE(Relup({"kill", "--root", root.path(), "crashy"}).exit_code == 0);  // one too many
  node.join();
  INFO(fg.both());
  CHECK(fg.exit_code != 0);
  CHECK(Contains(fg.err, "the root supervisor relup_root ended"));
  std::string log = root.log();
  CHECK(Contains(log, "reached_max_restart_intensity"));
  CHECK(Contains(log, "the root supervisor relup_root ended"));
}

TEST_CASE("a child whose init fails at boot: the node does not start, naming it, why and where",
          "[cli][node]") {
  NodeRoot root;
  std::string tarball = BuildTestSpec(root.path() + "-spec", "badinit", R"(release: badinit
vsn: "1"
modules: [{name: rt_worker, vsn: "1"}]
processes:
  - {module: rt_worker, name: fine, args: {id: fine}}
  - {module: rt_worker, name: broken, args: {id: broken, fail: true}}
)");
  RunResult s = Relup({"node", "start", "--root", root.path(), "--release", tarball});
  INFO(s.both());
  CHECK(s.exit_code != 0);
  CHECK(Contains(s.err, "child broken (rt_worker) did not start"));
  CHECK(Contains(s.err, "told to fail"));
  CHECK(std::regex_search(s.err, std::regex("release\\.yaml:[0-9]+, process broken")));
  CHECK(root.node_pid() <= 0);
}

TEST_CASE("a release starts a supervision tree, and a killed child is restarted by it",
          "[cli][node]") {
  NodeRoot root;
  std::string dir = root.path() + "-spec";
  std::string tarball = BuildTestSpec(dir, "sup-1", R"(release: sup
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
)");
  root.start(tarball);

  std::string w1 = ChildPidOf(root.path(), "root_sup", "w1"),
              w2 = ChildPidOf(root.path(), "root_sup", "w2");
  REQUIRE(w1.rfind("!pid", 0) == 0);
  REQUIRE(w2.rfind("!pid", 0) == 0);
  RunResult k = Relup({"kill", "--root", root.path(), "w1", ":boom"});
  INFO(k.both());
  REQUIRE(k.exit_code == 0);

  std::string again;
  for (int i = 0; i < 100; ++i) {
    again = ChildPidOf(root.path(), "root_sup", "w1");
    if (again.rfind("!pid", 0) == 0 && again != w1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(again.rfind("!pid", 0) == 0);
  CHECK(again != w1);
  CHECK(ChildPidOf(root.path(), "root_sup", "w2") == w2);
  CHECK(Relup({"state", "--root", root.path(), "w1"}).exit_code == 0);  // its name is back
  std::ifstream log(root.file("node.log"));
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(Contains(text, "child w1"));
  CHECK(Contains(text, "restarted as"));
  CHECK(Relup({"node", "stop", "--root", root.path()}).exit_code == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE(
    "relup tree shows the live tree, relup sup drives a supervisor, relup status the restarts",
    "[cli][node]") {
  NodeRoot root;
  std::string tarball = BuildTestSpec(root.path() + "-spec", "api", R"(release: api
vsn: "1"
modules: [{name: rt_worker, vsn: "1"}]
processes:
  - {module: rt_worker, name: solo, args: {id: solo}}
  - supervisor:
      name: pool_sup
      intensity: 10
      children:
        - {module: rt_worker, name: w, count: 20, args: {id: w}}
        - supervisor: {name: jobs, strategy: simple_one_for_one,
                       children: [{module: rt_worker, restart: temporary}]}
)");
  root.start(tarball);
  const std::string r = root.path();
  REQUIRE(Relup({"kill", "--root", r, "w_7"}).exit_code == 0);
  CHECK(WaitUntil([&] { return Contains(root.log(), "child w_7 restarted as"); }));

  RunResult tree = Relup({"tree", "--root", r});
  INFO(tree.both());
  REQUIRE(tree.exit_code == 0);
  CHECK(Contains(tree.out, "relup_root  <0.1.0>  supervisor 1 (one_for_one, at most 5 restarts"));
  CHECK(Contains(tree.out, "├─ solo  <"));
  CHECK(Contains(tree.out, "└─ pool_sup  <"));
  CHECK(Contains(tree.out, "├─ w_1  <"));
  CHECK(Contains(tree.out, "... 17 more rt_worker 1 (w_4 to w_20), restarted 1x in all"));
  CHECK(Contains(tree.out, "└─ jobs  <"));
  CHECK(Contains(tree.out, "0 processes outside the tree"));
  RunResult all = Relup({"tree", "--root", r, "pool_sup", "--all"});
  CHECK(Contains(all.out, "├─ w_7  <"));
  CHECK(Contains(all.out, "restarted 1x"));

  RunResult status = Relup({"status", "--root", r});
  INFO(status.both());
  CHECK(Contains(status.out, "restarts:  1 by 3 supervisors"));
  CHECK(Contains(status.out, "w_7 under pool_sup, after it ended with :killed"));

  // The API: a dynamic child, then stop, restart and forget a static one.
  RunResult started = Relup({"sup", "start-child", "--root", r, "jobs", "{id: job1}"});
  INFO(started.both());
  REQUIRE(started.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(started.out, m, std::regex("started (<[0-9.]+>)")));
  std::string job = m[1];
  CHECK(Contains(Relup({"sup", "which-children", "--root", r, "jobs"}).out, job));
  CHECK(Relup({"sup", "terminate-child", "--root", r, "jobs", job}).exit_code == 0);
  CHECK(!Contains(Relup({"sup", "which-children", "--root", r, "jobs"}).out, job));

  CHECK(Relup({"sup", "terminate-child", "--root", r, "pool_sup", "w_20"}).exit_code == 0);
  CHECK(Relup({"state", "--root", r, "w_20"}).exit_code != 0);  // stopped, not restarted
  RunResult busy = Relup({"sup", "delete-child", "--root", r, "pool_sup", "w_1"});
  CHECK(busy.exit_code == 1);
  CHECK(Contains(busy.err, "w_1 is running; terminate_child it first"));
  CHECK(Relup({"sup", "restart-child", "--root", r, "pool_sup", "w_20"}).exit_code == 0);
  CHECK(Relup({"state", "--root", r, "w_20"}).exit_code == 0);
  CHECK(Relup({"sup", "terminate-child", "--root", r, "pool_sup", "w_20"}).exit_code == 0);
  CHECK(Relup({"sup", "delete-child", "--root", r, "pool_sup", "w_20"}).exit_code == 0);
  CHECK(!Contains(Relup({"sup", "which-children", "--root", r, "pool_sup"}).out, "w_20"));

  // A hostile or mistaken internal request is refused; the root lives on.
  RunResult hostile = Relup({"call", "--root", r, "relup_root", "{restore_specs: 1}"});
  INFO(hostile.both());
  CHECK(Contains(hostile.out, "restore_specs takes the `saved` that change_specs replied"));
  hostile = Relup({"call", "--root", r, "pool_sup",
                   "{restore_specs: {strategy: :one_for_one, intensity: x, period_ms: 1, "
                   "template: ~, children: []}}"});
  CHECK(Contains(hostile.out, "restore_specs takes the `saved`"));
  CHECK(Contains(Relup({"tree", "--root", r}).out, "relup_root  <0.1.0>"));
  RunResult unknown_module =
      Relup({"sup", "start-child", "--root", r, "pool_sup", "{id: x, module: nope}"});
  INFO(unknown_module.both());
  CHECK(unknown_module.exit_code == 1);
  CHECK(Contains(unknown_module.err, "start_child"));
  CHECK(Contains(unknown_module.err, "nope"));
  CHECK(!Contains(Relup({"sup", "which-children", "--root", r, "pool_sup"}).out, " x "));
  RunResult not_sup = Relup({"sup", "which-children", "--root", r, "solo"});
  CHECK(not_sup.exit_code == 1);
  CHECK(Contains(not_sup.err, "solo is not a supervisor (it runs rt_worker)"));
  RunResult unknown = Relup({"sup", "restart-child", "--root", r, "pool_sup", "nobody"});
  CHECK(unknown.exit_code == 1);
  CHECK(Contains(unknown.err, "no child nobody"));
  root.stop();
}

namespace {

constexpr const char* kTree1 = R"(release: tr
vsn: "1"
modules: [{name: rt_worker, vsn: "1"}]
processes:
  - {module: rt_worker, name: solo, args: {id: solo}}
  - supervisor:
      name: pool_sup
      intensity: 3
      children:
        - {module: rt_worker, name: a, args: {id: a}}
        - {module: rt_worker, name: b, args: {id: b}}
)";

// Version 2 of the tree: pool_sup one_for_all with intensity 7, a's args
// changed, b gone, c new; solo's shutdown changed (a root spec).
std::string Tree2(const std::string& vsn, const std::string& more_processes) {
  return "release: tr\nvsn: \"" + vsn + "\"\n" + R"(modules: [{name: rt_worker, vsn: "1"}]
processes:
  - {module: rt_worker, name: solo, args: {id: solo}, shutdown: 100}
  - supervisor:
      name: pool_sup
      strategy: one_for_all
      intensity: 7
      children:
        - {module: rt_worker, name: a, args: {id: a, v: 2}}
        - {module: rt_worker, name: c, args: {id: c}}
)" + more_processes;
}

}  // namespace

TEST_CASE("an appup generated from two trees starts new children under load and stops removed ones",
          "[cli][node]") {
  NodeRoot root;
  const std::string r = root.path(), dir = r + "-spec";
  std::string one = BuildTestSpec(dir, "tr-1", kTree1);
  std::string two = BuildTestSpec(dir, "tr-2", Tree2("2", ""), one);
  RunResult explain = Relup({"explain", two});
  CHECK(Contains(explain.out, "supervisor pool_sup: the target release's child specs"));
  CHECK(Contains(explain.out, "supervisor relup_root: the target release's child specs"));
  // relup check knows the child the tree change stops is meant to go.
  RunResult check = Relup({"check", one, two});
  INFO(check.both());
  CHECK(check.exit_code == 0);
  CHECK(Contains(check.out, "b (rt_worker): stopped by the upgrade, not compared"));
  root.start(one);
  std::string a = ChildPidOf(r, "pool_sup", "a");

  // A client keeps calling a (which stays) through the upgrade.
  std::atomic<bool> done{false};
  std::atomic<int> calls{0}, errors{0};
  std::thread client([&] {
    while (!done) {
      RunResult c = Relup({"call", "--root", r, "a", ":ping"});
      (c.exit_code == 0 && Contains(c.out, "pong") ? calls : errors)++;
    }
  });
  CHECK(WaitUntil([&] { return calls > 2; }));
  RunResult up = Relup({"apply", "--root", r, two});
  INFO(up.both());
  CHECK(up.exit_code == 0);
  CHECK(Contains(up.out, "supervisors:\n  relup_root: new child specs\n"));
  CHECK(Contains(up.out, "  pool_sup: new child specs; started c; stopped b\n"));
  CHECK(WaitUntil([&] { return calls > 6; }));
  done = true;
  client.join();
  CHECK(errors == 0);

  CHECK(Contains(Relup({"call", "--root", r, "c", ":ping"}).out, "pong"));  // started, serves
  CHECK(Relup({"state", "--root", r, "b"}).exit_code != 0);                 // stopped
  CHECK(ChildPidOf(r, "pool_sup", "a") == a);                               // kept its process
  RunResult tree = Relup({"tree", "--root", r});
  CHECK(Contains(tree.out, "pool_sup  <0.3.0>  supervisor 1 (one_for_all, at most 7 restarts"));
  // The changed spec is used at the next restart: a comes back with v: 2.
  REQUIRE(Relup({"kill", "--root", r, "a"}).exit_code == 0);
  CHECK(WaitUntil([&] { return Contains(Relup({"state", "--root", r, "a"}).out, "v: 2"); }));

  RunResult down = Relup({"downgrade", "--root", r, "1"});
  INFO(down.both());
  CHECK(down.exit_code == 0);
  CHECK(Contains(Relup({"call", "--root", r, "b", ":ping"}).out, "pong"));
  CHECK(Relup({"state", "--root", r, "c"}).exit_code != 0);
  CHECK(Contains(Relup({"tree", "--root", r}).out, "(one_for_one, at most 3 restarts"));
  root.stop();
}

TEST_CASE(
    "a failure after the tree changed rolls it back: the removed child is back with its state",
    "[cli][node]") {
  NodeRoot root;
  const std::string r = root.path(), dir = r + "-spec";
  std::string one = BuildTestSpec(dir, "tr-1", kTree1);
  // The start of `broken` comes after the tree change, and fails.
  std::string bad = BuildTestSpec(
      dir, "tr-2",
      Tree2("2", "  - {module: rt_worker, name: broken, args: {id: broken, fail: true}}\n"), one);
  root.start(one);
  std::string b = ChildPidOf(r, "pool_sup", "b");
  std::string b_state = Relup({"state", "--root", r, "b"}).out;
  RunResult up = Relup({"apply", "--root", r, bad});
  INFO(up.both());
  CHECK(up.exit_code != 0);
  CHECK(Contains(up.out, "failed and rolled back"));
  CHECK(Contains(up.out, "told to fail"));

  CHECK(ChildPidOf(r, "pool_sup", "b") == b);  // the same process
  CHECK(Relup({"state", "--root", r, "b"}).out == b_state);
  CHECK(Contains(Relup({"call", "--root", r, "b", ":ping"}).out, "pong"));
  CHECK(Relup({"state", "--root", r, "c"}).exit_code != 0);
  CHECK(Contains(Relup({"tree", "--root", r}).out, "(one_for_one, at most 3 restarts"));
  // Linked again: pool_sup restarts it when it dies.
  REQUIRE(Relup({"kill", "--root", r, "b"}).exit_code == 0);
  CHECK(WaitUntil([&] {
    std::string now = ChildPidOf(r, "pool_sup", "b");
    return now.rfind("!pid", 0) == 0 && now != b;
  }));
  root.stop();
}

TEST_CASE("killing a supervisor while an upgrade suspends its children loses nothing",
          "[cli][node]") {
  NodeRoot root;
  const std::string r = root.path(), dir = r + "-spec";
  auto spec = [](const std::string& vsn, const std::string& appup) {
    return "release: ks\nvsn: \"" + vsn + "\"\nmodules: [{name: counter, vsn: \"" + vsn + "\"}]\n" +
           R"(processes:
  - supervisor:
      name: csup
      intensity: 10
      children:
        - {module: counter, name: c, count: 6, args: {id: 1}}
)" + appup;
  };
  std::string one = BuildTestSpec(dir, "ks-1", spec("1", ""));
  // Each code_change takes 300 ms in the node: the upgrade lasts about 2 s.
  std::string two = BuildTestSpec(dir, "ks-2", spec("2", R"(appup:
  up: [{from: "1", instructions: [{update: {module: counter, extra: {slow_in_node_ms: 300}}}]}]
  down: [{to: "1", instructions: [update: counter]}]
)"));
  root.start(one);
  RunResult up;
  std::thread apply([&] { up = Relup({"apply", "--root", r, two}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  RunResult k = Relup({"kill", "--root", r, "csup"});
  INFO(k.both());
  apply.join();
  INFO(up.both());
  CHECK((up.exit_code == 0 || up.exit_code == 4));  // done, or rolled back: never half
  // csup is back (the root restarted it) with all six counters, all on one
  // version: the upgraded one, or the old one after a rollback.
  CHECK(WaitUntil([&] {
    std::string ps = Relup({"ps", "--root", r}).out;
    return Occurrences(ps, "counter") == 6 && Contains(ps, "csup");
  }));
  std::string want = up.exit_code == 0 ? "counter 2: 6 processes" : "counter 1: 6 processes";
  CHECK(Contains(Relup({"status", "--root", r}).out, want));
  for (int i = 1; i <= 6; ++i) {
    CHECK(Relup({"call", "--root", r, "c_" + std::to_string(i), ":get"}).exit_code == 0);
  }
  CHECK(Contains(root.log(), "child csup"));
  root.stop();
}

}  // namespace relup::test
