// The seed article's story through the relup CLI against a real node, both
// ways: by relup apply (the README's main command), and step by step as in
// iex: start_link, add_money, :sys.get_state, :sys.suspend,
// c "demo_server_v2.ex", :sys.change_code, :sys.resume, add_money.
#include <catch2/catch.hpp>

#include "cli_harness.h"

namespace relup::test {
namespace {

// The seed's steps before any upgrade, on a node booted on demo 1:
// DemoServer.add_money(pid, 30000), then :sys.get_state(pid).
void AddMoneyOnDemo1(const std::string& r) {
  RunResult call = Relup({"call", "--root", r, "blackode", "{add: 30000}"});
  INFO(call.both());
  REQUIRE(call.exit_code == 0);
  CHECK(Trimmed(call.out) == "\"30000 added to blackode \"");

  RunResult state = Relup({"state", "--root", r, "blackode"});
  INFO(state.both());
  REQUIRE(state.exit_code == 0);
  CHECK(Trimmed(state.out) == "{money: 60000, name: blackode}");
}

TEST_CASE("the seed story runs by the manual steps: suspend, load v2, change-code, resume",
          "[cli][seed]") {
  NodeRoot root;
  root.start(DemoTarball(1));
  const std::string& r = root.path();

  AddMoneyOnDemo1(r);

  REQUIRE(Relup({"suspend", "--root", r, "blackode"}).exit_code == 0);
  RunResult status = Relup({"status", "--root", r});
  REQUIRE(status.exit_code == 0);
  CHECK(status.out.find("suspended: 1") != std::string::npos);

  RunResult load = Relup({"load", "--root", r, ExampleModule("demo_server-2.so")});
  INFO(load.both());
  REQUIRE(load.exit_code == 0);
  CHECK(load.out.find("loaded demo_server 2") != std::string::npos);

  RunResult change = Relup({"change-code", "--root", r, "blackode", "demo_server", "1"});
  INFO(change.both());
  REQUIRE(change.exit_code == 0);
  CHECK(change.out.find("demo_server 1 -> 2") != std::string::npos);

  REQUIRE(Relup({"resume", "--root", r, "blackode"}).exit_code == 0);

  RunResult add = Relup({"call", "--root", r, "blackode", "{add: 100000}"});
  INFO(add.both());
  REQUIRE(add.exit_code == 0);
  CHECK(Trimmed(add.out) == "{name: blackode, salary: 160000}");

  RunResult ps = Relup({"ps", "--root", r, "--json"});
  REQUIRE(ps.exit_code == 0);
  CHECK(ps.out.find("\"module\":\"demo_server\"") != std::string::npos);
  CHECK(ps.out.find("\"vsn\":\"2\"") != std::string::npos);
  root.stop();
}

TEST_CASE("the seed story runs by relup apply: demo 1 to demo 2 with the money kept as salary",
          "[cli][seed]") {
  NodeRoot root;
  root.start(DemoTarball(1));
  const std::string& r = root.path();

  AddMoneyOnDemo1(r);

  RunResult apply = Relup({"apply", DemoTarball(2), "--root", r});
  INFO(apply.both());
  REQUIRE(apply.exit_code == 0);

  RunResult after = Relup({"state", "--root", r, "blackode"});
  INFO(after.both());
  REQUIRE(after.exit_code == 0);
  CHECK(Trimmed(after.out) == "{name: blackode, salary: 60000}");

  RunResult add = Relup({"call", "--root", r, "blackode", "{add: 100000}"});
  INFO(add.both());
  REQUIRE(add.exit_code == 0);
  CHECK(Trimmed(add.out) == "{name: blackode, salary: 160000}");

  CHECK(Contains(Relup({"status", "--root", r}).out, "release:   demo 2"));
  root.stop();
  CHECK(root.node_pid() == -1);
}

// demo_server 1 is written as the seed's, with no code_change.
TEST_CASE("the seed story goes back down by relup downgrade: v2's code_change restores money",
          "[cli][seed]") {
  NodeRoot root;
  root.start(DemoTarball(1));
  const std::string& r = root.path();
  AddMoneyOnDemo1(r);
  REQUIRE(Relup({"apply", DemoTarball(2), "--root", r}).exit_code == 0);
  REQUIRE(Relup({"call", "--root", r, "blackode", "{add: 100000}"}).exit_code == 0);

  RunResult explain = Relup({"explain", DemoTarball(2), "--to", "1"});
  INFO(explain.both());
  CHECK(Contains(explain.out, "demo_server 2's code_change runs, old_vsn !tuple [:down, VSN]"));

  RunResult down = Relup({"downgrade", "1", "--root", r});
  INFO(down.both());
  REQUIRE(down.exit_code == 0);
  CHECK(Contains(down.out, "demo_server 2 -> 1 (update, 1 process)"));
  CHECK(Trimmed(Relup({"state", "--root", r, "blackode"}).out) ==
        "{money: 160000, name: blackode}");
  CHECK(Trimmed(Relup({"call", "--root", r, "blackode", "{add: 1}"}).out) ==
        "\"1 added to blackode \"");
  CHECK(Contains(Relup({"status", "--root", r}).out, "release:   demo 1"));
}

TEST_CASE("a message cast while a process is suspended is handled after resume", "[cli][seed]") {
  NodeRoot root;
  root.start(DemoTarball(1));
  const std::string& r = root.path();
  REQUIRE(Relup({"suspend", "--root", r, "blackode"}).exit_code == 0);
  REQUIRE(Relup({"cast", "--root", r, "blackode", "{add: 5}"}).exit_code == 0);
  RunResult ps = Relup({"ps", "--root", r});
  REQUIRE(ps.exit_code == 0);
  CHECK(ps.out.find("suspended") != std::string::npos);
  REQUIRE(Relup({"resume", "--root", r, "blackode"}).exit_code == 0);
  RunResult state = Relup({"state", "--root", r, "blackode"});
  CHECK(Trimmed(state.out) == "{money: 30005, name: blackode}");
}

TEST_CASE("a term argument that is not YAML text is refused with the expected form", "[cli]") {
  NodeRoot root;
  RunResult r = Relup({"call", "--root", root.path(), "blackode", "{add: "});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("is not a term in YAML text form") != std::string::npos);
}

TEST_CASE("relup kill sends an exit signal: :kill by default, or the reason given", "[cli][node]") {
  NodeRoot root;
  root.start(DemoTarball(1));
  RunResult spawned = Relup({"spawn", "--root", root.path(), "demo_server",
                             "{name: temp, money: 1}", "--name", "temp"});
  REQUIRE(spawned.exit_code == 0);
  RunResult k = Relup({"kill", "--root", root.path(), "temp", ":maintenance"});
  INFO(k.both());
  CHECK(k.exit_code == 0);
  CHECK(Contains(k.out, "sent exit signal :maintenance to temp"));
  CHECK(WaitUntil([&] { return !Contains(Relup({"ps", "--root", root.path()}).out, "temp"); }));
  // blackode is one of the release's processes: the root supervisor starts
  // it again, with its init state and a new pid.
  std::string before = Relup({"ps", "--root", root.path(), "--json"}).out;
  k = Relup({"kill", "--root", root.path(), "blackode"});
  CHECK(k.exit_code == 0);
  CHECK(WaitUntil([&] {
    std::string now = Relup({"ps", "--root", root.path(), "--json"}).out;
    return Contains(now, "blackode") && now != before;
  }));
  CHECK(Contains(root.log(), "child blackode"));
  RunResult log = Relup({"kill", "--root", root.path(), "nobody"});
  CHECK(log.exit_code == 1);
  CHECK(Contains(log.err, "no process is registered as 'nobody'"));
}

TEST_CASE("a term argument cannot carry a handle: pids and refs come only from the node", "[cli]") {
  NodeRoot root;
  for (const char* term : {"{use: !socket 1}", "!pid <0.1.0>", "[!timer 3]"}) {
    RunResult r = Relup({"call", "--root", root.path(), "blackode", term});
    INFO(term << ": " << r.both());
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("handles cannot be written as text") != std::string::npos);
  }
  RunResult k = Relup({"kill", "--root", root.path(), "blackode", "!ref 1"});
  CHECK(k.exit_code == 2);
}

}  // namespace
}  // namespace relup::test
