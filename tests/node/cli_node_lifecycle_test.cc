// relup node start/stop and the release store across restarts, driven
// through the real binary: one node per root, the socket's permissions,
// terminate on stop, the permanent release after a restart or a kill -9.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "apply_fixture.h"
#include "cli_harness.h"

namespace relup::test {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_CASE("node start returns once the node answers, and node stop waits until it is gone",
          "[cli][node]") {
  NodeRoot root;
  RunResult start = Relup({"node", "start", "--root", root.path(), "--release", DemoTarball(1)});
  INFO(start.both());
  REQUIRE(start.exit_code == 0);
  CHECK(Contains(start.out, "release demo 1"));
  REQUIRE(root.node_pid() > 0);
  // Answers at once: no waiting between start and the first command.
  CHECK(Relup({"status", "--root", root.path()}).exit_code == 0);

  RunResult stop = Relup({"node", "stop", "--root", root.path()});
  INFO(stop.both());
  REQUIRE(stop.exit_code == 0);
  CHECK(root.node_pid() == -1);
  CHECK_FALSE(std::filesystem::exists(root.file("node.sock")));
}

TEST_CASE("a second node on the same root is refused, naming the running node's pid",
          "[cli][node]") {
  NodeRoot root;
  root.start(DemoTarball(1));
  pid_t pid = root.node_pid();
  RunResult second = Relup({"node", "start", "--root", root.path(), "--release", DemoTarball(1)});
  CHECK(second.exit_code != 0);
  CHECK(Contains(second.err, "already running at " + root.path()));
  CHECK(Contains(second.err, "pid " + std::to_string(pid)));
  // The first node is untouched.
  CHECK(root.node_pid() == pid);
  CHECK(Relup({"state", "--root", root.path(), "blackode"}).exit_code == 0);
}

TEST_CASE("every command says no node is running, and how to start one, with exit status 5",
          "[cli][node]") {
  NodeRoot root;
  // Every command that talks to a node (releases reads the store file when no
  // node runs, and this root has none).
  for (std::vector<std::string> cmd : {std::vector<std::string>{"status"},
                                       {"ps"},
                                       {"state", "blackode"},
                                       {"call", "blackode", "{add: 1}"},
                                       {"cast", "blackode", "{add: 1}"},
                                       {"spawn", "demo_server", "{name: x, money: 1}"},
                                       {"suspend", "blackode"},
                                       {"resume", "blackode"},
                                       {"kill", "blackode"},
                                       {"load", ExampleModule("demo_server-2.so")},
                                       {"change-code", "blackode", "demo_server", "1"},
                                       {"apply", DemoTarball(2)},
                                       {"downgrade", "1"},
                                       {"make-permanent", "1"},
                                       {"remove", "1"},
                                       {"releases"},
                                       {"node", "stop"}}) {
    cmd.push_back("--root");
    cmd.push_back(root.path());
    RunResult r = Relup(cmd);
    INFO(cmd[0] << " " << cmd[1] << ": " << r.both());
    CHECK(r.exit_code == 5);
    CHECK(Contains(r.err, "no relup node is running at " + root.path()));
    CHECK(Contains(r.err, "relup node start --root " + root.path()));
  }
}

TEST_CASE("a command without --root or RELUP_ROOT is a usage error", "[cli][node]") {
  RunResult r = Relup({"status"});
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "--root"));
}

TEST_CASE("RELUP_ROOT in the environment stands for --root, and --root wins over it",
          "[cli][node]") {
  NodeRoot root;
  const std::vector<std::string> env = {"RELUP_ROOT=" + root.path()};
  RunResult start =
      Relup({"node", "start", "--release", DemoTarball(1)}, std::chrono::seconds(60), env);
  INFO(start.both());
  REQUIRE(start.exit_code == 0);
  CHECK(root.node_pid() > 0);

  RunResult status = Relup({"status"}, std::chrono::seconds(60), env);
  INFO(status.both());
  CHECK(status.exit_code == 0);
  CHECK(Contains(status.out, "release:   demo 1"));
  RunResult call = Relup({"call", "blackode", "{add: 5}"}, std::chrono::seconds(60), env);
  INFO(call.both());
  CHECK(Trimmed(call.out) == "\"5 added to blackode \"");
  RunResult state = Relup({"state", "blackode"}, std::chrono::seconds(60), env);
  CHECK(Trimmed(state.out) == "{money: 30005, name: blackode}");

  // --root wins over RELUP_ROOT.
  NodeRoot empty;
  RunResult elsewhere = Relup({"status", "--root", empty.path()}, std::chrono::seconds(60), env);
  CHECK(elsewhere.exit_code == 5);
  CHECK(Contains(elsewhere.err, "no relup node is running at " + empty.path()));

  RunResult stop = Relup({"node", "stop"}, std::chrono::seconds(60), env);
  INFO(stop.both());
  CHECK(stop.exit_code == 0);
  CHECK(root.node_pid() == -1);
}

TEST_CASE(
    "node start --foreground runs the node in its own process, logging to DIR/node.log and "
    "stderr, until node stop ends it with exit status 0",
    "[cli][node]") {
  NodeRoot root;
  const std::string tarball = DemoTarball(1);  // built here: Catch is for this thread only
  auto foreground = std::async(std::launch::async, [&] {
    return Relup({"node", "start", "--foreground", "--root", root.path(), "--release", tarball});
  });
  // Whatever fails below, the node goes before `foreground` waits for it.
  struct KillNode {
    NodeRoot& root;
    ~KillNode() { root.kill_node(); }
  } kill_node{root};
  auto exited = [&] {
    return foreground.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  };
  bool answers = WaitUntil(
      [&] {
        return exited() || Relup({"status", "--root", root.path()}).exit_code == 0;
      },
      std::chrono::seconds(30));
  REQUIRE(answers);
  REQUIRE_FALSE(exited());
  pid_t pid = root.node_pid();
  REQUIRE(pid > 0);
  CHECK(Trimmed(Relup({"call", "--root", root.path(), "blackode", "{add: 1}"}).out) ==
        "\"1 added to blackode \"");

  root.stop();
  RunResult ended = foreground.get();
  INFO(ended.both());
  CHECK(ended.exit_code == 0);
  // It was this process that served the node, and it said how to stop it.
  CHECK(Contains(ended.err,
                 "relup node running at " + root.path() + " (pid " + std::to_string(pid) + ")"));
  std::string log = ReadFile(root.file("node.log"));
  INFO("node.log:\n" << log);
  CHECK(Contains(log, "control: call {request: {add: 1}, target: blackode"));
  CHECK(Contains(log, "stop requested"));
  // The log lines go to stderr as well.
  std::string first_line = log.substr(0, log.find('\n'));
  CHECK_FALSE(first_line.empty());
  CHECK(Contains(ended.err, first_line));
  CHECK(Contains(ended.err, "control: call {request: {add: 1}, target: blackode"));
}

TEST_CASE("the control socket is readable and writable by the node's user only", "[cli][node]") {
  NodeRoot root;
  root.start(DemoTarball(1));
  struct stat st {};
  REQUIRE(::stat(root.file("node.sock").c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(st.st_uid == ::geteuid());
}

TEST_CASE("node stop runs every process's terminate before the node exits", "[cli][node]") {
  NodeRoot root;
  root.start(DemoTarball(1));
  const std::string& r = root.path();
  std::string marker = root.file("terminated");
  REQUIRE(Relup({"load", "--root", r, TestModule("terminate_probe-1.so")}).exit_code == 0);
  RunResult spawn =
      Relup({"spawn", "--root", r, "terminate_probe", "{file: " + marker + "}", "--name", "probe"});
  INFO(spawn.both());
  REQUIRE(spawn.exit_code == 0);
  CHECK(Contains(spawn.out, "probe"));
  REQUIRE_FALSE(std::filesystem::exists(marker));

  root.stop();
  // stop returned: the node is gone, so terminate has already run.
  CHECK(ReadFile(marker).find("shutdown") != std::string::npos);
}

TEST_CASE("a restarted node boots the permanent release from its store", "[cli][node]") {
  NodeRoot root;
  const std::string& r = root.path();
  root.start(DemoTarball(1));
  REQUIRE(Relup({"call", "--root", r, "blackode", "{add: 30000}"}).exit_code == 0);
  root.stop();

  root.start("");  // no --release: the store's permanent release
  RunResult status = Relup({"status", "--root", r});
  INFO(status.both());
  CHECK(Contains(status.out, "release:   demo 1 (permanent)"));
  // A fresh process: in-memory state does not survive a stop.
  CHECK(Trimmed(Relup({"state", "--root", r, "blackode"}).out) == "{money: 30000, name: blackode}");
}

TEST_CASE(
    "node start --first-release installs a release on an empty root only: later starts boot the "
    "permanent "
    "one, as a service unit that gives it every time needs",
    "[cli][node]") {
  NodeRoot root;
  const std::string& r = root.path();
  auto start = [&](const std::string& tarball) {
    return Relup({"node", "start", "--root", r, "--first-release", tarball});
  };
  RunResult first = start(DemoTarball(1));
  INFO(first.both());
  REQUIRE(first.exit_code == 0);
  CHECK(Contains(Relup({"status", "--root", r}).out, "release:   demo 1 (permanent)"));
  REQUIRE(Relup({"apply", DemoTarball(2), "--root", r, "--permanent"}).exit_code == 0);
  root.stop();

  // --release, by contrast, insists: it says how to reach release 1 instead.
  RunResult insisted = Relup({"node", "start", "--root", r, "--release", DemoTarball(1)});
  CHECK(insisted.exit_code != 0);
  CHECK(Contains(insisted.err, "already holds permanent release demo 2"));
  CHECK(Contains(insisted.err, "or go back with `relup downgrade 1 --root " + r + "`"));

  // Given again (or gone by now), it is not used: release 2 boots.
  for (const std::string& tarball : {DemoTarball(1), root.file("deleted-since.tar.gz")}) {
    RunResult again = start(tarball);
    INFO(again.both());
    REQUIRE(again.exit_code == 0);
    CHECK(Contains(Relup({"status", "--root", r}).out, "release:   demo 2 (permanent)"));
    CHECK(Contains(root.log(), "the first release " + tarball + " is not used"));
    root.stop();
  }

  // On an empty root a missing first release is an error, and the node says so.
  NodeRoot empty;
  RunResult missing =
      Relup({"node", "start", "--root", empty.path(), "--first-release", empty.file("no.tar.gz")});
  CHECK(missing.exit_code != 0);
  CHECK(Contains(missing.err, "cannot open " + empty.file("no.tar.gz")));
  CHECK(Relup({"node", "start", "--root", r, "--first-release", DemoTarball(1), "--release",
               DemoTarball(1)})
            .exit_code == 2);
}

TEST_CASE(
    "a first release whose boot failed does not block the next start with --first-release: the "
    "fixed release boots",
    "[cli][node]") {
  NodeRoot root;
  const std::string& r = root.path();
  auto spec = [](bool fail) {
    return std::string(R"(release: first
vsn: "1"
modules: [{name: rt_worker, vsn: "1"}]
processes:
  - {module: rt_worker, name: w, args: {id: w, fail: )") +
           (fail ? "true" : "false") + "}}\n";
  };
  std::string broken = BuildTestSpec(r + "-broken", "first", spec(true));
  RunResult failed = Relup({"node", "start", "--root", r, "--first-release", broken});
  INFO(failed.both());
  REQUIRE(failed.exit_code != 0);
  CHECK(Contains(failed.both(), "told to fail"));

  // The same vsn, fixed (a new build of it), as a unit would retry it.
  std::string fixed = BuildTestSpec(r + "-fixed", "first", spec(false));
  RunResult again = Relup({"node", "start", "--root", r, "--first-release", fixed});
  INFO(again.both());
  REQUIRE(again.exit_code == 0);
  CHECK(Contains(Relup({"status", "--root", r}).out, "release:   first 1 (permanent)"));
}

TEST_CASE("an applied release never made permanent does not survive a restart", "[cli][node]") {
  NodeRoot root;
  const std::string& r = root.path();
  root.start(DemoTarball(1));
  RunResult apply = Relup({"apply", DemoTarball(2), "--root", r});
  INFO(apply.both());
  REQUIRE(apply.exit_code == 0);
  RunResult releases = Relup({"releases", "--root", r, "--json"});
  CHECK(Contains(releases.out, "\"state\":\"current\""));
  root.stop();

  root.start("");
  CHECK(Contains(Relup({"status", "--root", r}).out, "release:   demo 1 (permanent)"));
  RunResult after = Relup({"releases", "--root", r});
  INFO(after.both());
  CHECK(Contains(after.out, "unpacked"));

  // Made permanent, it is what the next restart boots.
  REQUIRE(Relup({"apply", DemoTarball(2), "--root", r, "--permanent"}).exit_code == 0);
  root.stop();
  root.start("");
  CHECK(Contains(Relup({"status", "--root", r}).out, "release:   demo 2 (permanent)"));
  RunResult old = Relup({"releases", "--root", r});
  CHECK(Contains(old.out, "old"));

  // Run again by a downgrade, then left by a restart: still old, not unpacked.
  RunResult down = Relup({"downgrade", "1", "--root", r});
  REQUIRE(down.exit_code == 0);
  CHECK(Contains(down.out,
                 "the node now runs release 1 (not permanent: release 2 is, so a "
                 "restart boots 2;"));
  root.stop();
  root.start("");
  RunResult again = Relup({"releases", "--root", r, "--json"});
  INFO(again.both());
  CHECK(Contains(again.out, "{\"name\":\"demo\",\"state\":\"old\""));
  CHECK(Occurrences(again.out, "\"state\":\"old\"") == 1);
}

TEST_CASE("after kill -9 the socket is stale, and a restart boots from the intact store",
          "[cli][node]") {
  NodeRoot root;
  const std::string& r = root.path();
  root.start(DemoTarball(1));
  root.kill_node();

  RunResult dead = Relup({"status", "--root", r});
  CHECK(dead.exit_code == 5);
  CHECK(Contains(dead.err, "stale"));
  // The root holds releases: no tarball is needed to start it again.
  CHECK(Contains(dead.err, "start it with `relup node start --root " + r +
                               "` (it boots the permanent release)"));

  // The store file is read without a node.
  RunResult offline = Relup({"releases", "--root", r});
  INFO(offline.both());
  CHECK(offline.exit_code == 0);
  CHECK(Contains(offline.out, "permanent"));

  root.start("");
  CHECK(Trimmed(Relup({"call", "--root", r, "blackode", "{add: 1}"}).out) ==
        "\"1 added to blackode \"");
}

TEST_CASE("starting on a root without releases and without --release says how to install one",
          "[cli][node]") {
  NodeRoot root;
  RunResult r = Relup({"node", "start", "--root", root.path()});
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.err, "--release TARBALL"));
  CHECK(Contains(r.err, "--first-release TARBALL, for relup@NAME"));
  CHECK(root.node_pid() == -1);
}

TEST_CASE("a start that fails on a root it made leaves no root behind, so a retry starts clean",
          "[cli][node]") {
  NodeRoot parent;
  std::string r = parent.file("a/b/svc");  // a and b are made by the start too
  std::ofstream(parent.file("garbage.tar.gz")) << "not a tarball";
  RunResult failed =
      Relup({"node", "start", "--root", r, "--release", parent.file("garbage.tar.gz")});
  INFO(failed.both());
  CHECK(failed.exit_code != 0);
  CHECK(Contains(failed.err, "was made by this start and is removed again"));
  CHECK_FALSE(fs::exists(parent.file("a")));

  RunResult foreground = Relup({"node", "start", "--foreground", "--root", r});
  CHECK(foreground.exit_code != 0);
  CHECK_FALSE(fs::exists(parent.file("a")));

  SECTION("a root that was there before is kept, with its log") {
    fs::create_directories(r);
    RunResult kept =
        Relup({"node", "start", "--root", r, "--release", parent.file("garbage.tar.gz")});
    CHECK(kept.exit_code != 0);
    CHECK(Contains(kept.err, "(log: " + r + "/node.log)"));
    CHECK(fs::exists(r + "/node.log"));
  }
}

TEST_CASE("remove refuses the permanent release and make-permanent names an unknown one",
          "[cli][node]") {
  NodeRoot root;
  const std::string& r = root.path();
  root.start(DemoTarball(1));
  RunResult remove = Relup({"remove", "1", "--root", r});
  CHECK(remove.exit_code != 0);
  CHECK(Contains(remove.err, "release 1 is permanent"));
  RunResult unknown = Relup({"make-permanent", "7", "--root", r});
  CHECK(unknown.exit_code != 0);
  CHECK(Contains(unknown.err, "release 7"));

  // Once 2 is permanent, removing 1 deletes its library too.
  REQUIRE(Relup({"apply", DemoTarball(2), "--root", r, "--permanent"}).exit_code == 0);
  RunResult removed = Relup({"remove", "1", "--root", r});
  INFO(removed.both());
  CHECK(removed.exit_code == 0);
  CHECK(Trimmed(removed.out) ==
        "release 1 removed; deleted lib/demo_server-1 (used by no other release)");
  CHECK_FALSE(fs::exists(root.file("lib/demo_server-1")));
  CHECK(fs::exists(root.file("lib/demo_server-2/demo_server.so")));

  // A start that gives another release than the permanent one is refused
  // before anything is written.
  root.stop();
  RunResult other = Relup({"node", "start", "--root", r, "--release", DemoTarball(1)});
  CHECK(other.exit_code != 0);
  CHECK(Contains(other.err, "already holds permanent release demo 2"));
  CHECK_FALSE(fs::exists(root.file("releases/1")));
  CHECK_FALSE(fs::exists(root.file("lib/demo_server-1")));
  CHECK_FALSE(Contains(Relup({"releases", "--root", r}).out, "demo  1"));
}

TEST_CASE(
    "a command gives up on a node that sends nothing within RELUP_REPLY_TIMEOUT and says what to "
    "do, and a bad value is a usage error",
    "[cli][node]") {
  NodeRoot root;
  root.start(DemoTarball(1));
  pid_t pid = root.node_pid();
  REQUIRE(pid > 0);
  REQUIRE(::kill(pid, SIGSTOP) == 0);
  struct Continue {
    pid_t pid;
    ~Continue() { ::kill(pid, SIGCONT); }
  } resume_node{pid};

  RunResult stuck = Relup({"status", "--root", root.path()}, std::chrono::seconds(60),
                          {"RELUP_REPLY_TIMEOUT=0.3"});
  INFO(stuck.both());
  CHECK(stuck.exit_code == 1);
  CHECK(Contains(stuck.err, "sent nothing for 0.3 s"));
  CHECK(Contains(stuck.err, "RELUP_REPLY_TIMEOUT=SECONDS"));

  // releases connects on its own (it reads the store when no node runs): the same limit.
  RunResult releases = Relup({"releases", "--root", root.path()}, std::chrono::seconds(60),
                             {"RELUP_REPLY_TIMEOUT=0.3"});
  INFO(releases.both());
  CHECK(releases.exit_code == 1);
  CHECK(Contains(releases.err, "sent nothing for 0.3 s"));

  RunResult bad = Relup({"status", "--root", root.path()}, std::chrono::seconds(60),
                        {"RELUP_REPLY_TIMEOUT=soon"});
  CHECK(bad.exit_code == 2);
  CHECK(Contains(bad.err, "RELUP_REPLY_TIMEOUT='soon' is not a number of seconds"));

  REQUIRE(::kill(pid, SIGCONT) == 0);
  CHECK(Relup({"status", "--root", root.path()}).exit_code == 0);
}

TEST_CASE(
    "node stop gives up on a callback that never returns after --shutdown-timeout, and says so "
    "with exit status 1",
    "[cli][node]") {
  ScratchDir dir;
  ReleaseProcess stuck;
  stuck.module = "counter";
  stuck.name = "stuck";
  stuck.args = Map("{id: 1}");
  std::string tarball = WriteTarball(dir.path(), MakeRelease("1", {{"counter", "1"}}, {stuck}), "");
  NodeRoot root;
  RunResult start = Relup(
      {"node", "start", "--root", root.path(), "--release", tarball, "--shutdown-timeout", "300"});
  INFO(start.both());
  REQUIRE(start.exit_code == 0);
  // Ten minutes in handle_cast: the mark file says the callback is running.
  std::string mark = dir.path() + "/busy";
  REQUIRE(
      Relup({"cast", "--root", root.path(), "stuck", "{sleep_ms: 600000, mark: \"" + mark + "\"}"})
          .exit_code == 0);
  REQUIRE(WaitUntil([&] { return std::filesystem::exists(mark); }));

  RunResult stop = Relup({"node", "stop", "--root", root.path()});
  INFO(stop.both());
  CHECK(stop.exit_code == 1);
  CHECK(Contains(stop.out, "stopped"));
  CHECK(Contains(stop.err, "shutdown did not finish within 300 ms"));
  CHECK(Contains(stop.err, "did not run terminate"));
  CHECK(root.node_pid() == -1);
  CHECK(Contains(ReadFile(root.file("node.log")), "shutdown did not finish within 300 ms"));
}

}  // namespace
}  // namespace relup::test
