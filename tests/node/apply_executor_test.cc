// The upgrade executor against an in-process relup::Node: what an upgrade
// does to live processes when it succeeds, and what is left when it fails.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "apply_fixture.h"

namespace relup::test {
namespace {

// Casts {add: 1} round-robin to `pids` from its own thread until stopped,
// counting what each process was sent.
class CastLoad {
 public:
  CastLoad(Node& node, std::vector<Pid> pids)
      : node_(node), pids_(std::move(pids)), sent_(pids_.size(), 0) {
    // Parsed here, on the test's thread: Catch2 assertions (inside Map) are
    // not thread-safe, and the load thread only copies the ready Term.
    thread_ = std::thread([this, add = Map("{add: 1}")] {
      for (size_t i = 0; !stop_.load(); i = (i + 1) % pids_.size()) {
        if (node_.cast(pids_[i], add).ok()) ++sent_[i];
        // Paced (at most ~600k casts/s): unpaced, on a loaded machine this
        // thread outran the workers and the test's own calls timed out
        // behind seconds of queued casts.
        if (++casts_ % 64 == 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    });
  }
  ~CastLoad() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Waits until at least n casts went out (so load overlaps what follows).
  void WaitFor(size_t n) {
    while (casts_.load() < n) std::this_thread::yield();
  }
  int64_t sent(size_t i) const { return sent_[i]; }

 private:
  Node& node_;
  std::vector<Pid> pids_;
  std::vector<int64_t> sent_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> casts_{0};
  std::thread thread_;
};

bool AllRun(Node& node, const std::vector<Pid>& pids, const std::string& module,
            const std::string& vsn) {
  auto running = node.processes_running(module, vsn);
  for (Pid p : pids) {
    if (std::find(running.begin(), running.end(), p) == running.end()) return false;
  }
  return true;
}

TEST_CASE("An upgrade moves every counter from 1 to 2, transforms each state, and reports it") {
  UpgradeFixture f;
  f.Load("counter", "1");
  f.Install("counter", "2");
  std::vector<Pid> pids = f.Spawn("counter", 100);
  for (Pid p : pids) REQUIRE(f.node().call(p, Map("{add: 7}")).ok());
  PlanSet plans = Plans(CounterPlans({"counter"}));
  Release r2 = MakeRelease("2", {{"counter", "2"}});

  UpgradeReport report = f.Run(plans.up[0], r2, &plans.down[0]);

  INFO(report.status().ToString());
  REQUIRE(report.outcome == UpgradeOutcome::kOk);
  for (size_t i = 0; i < pids.size(); ++i) {
    CHECK(f.State(pids[i]) == Map("{id: " + std::to_string(i) + ", total: 7}"));
  }
  CHECK(AllRun(f.node(), pids, "counter", "2"));
  REQUIRE(report.modules.size() == 1);
  CHECK(report.modules[0].module == "counter");
  CHECK(report.modules[0].from_vsn == "1");
  CHECK(report.modules[0].to_vsn == "2");
  CHECK(report.modules[0].instruction == "update");
  CHECK(report.modules[0].processes == 100);
  CHECK(report.upgraded == 100);
  CHECK(report.pause.count == 100);
  CHECK(report.touched.size() == 100);
  CHECK(report.pause.max_us >= report.pause.p99_us);
  CHECK(report.pause.p99_us >= report.pause.p50_us);
  // The plan's soft purge dropped version 1; new processes start on 2.
  CHECK(f.node().code_server().find("counter", "1") == nullptr);
  auto fresh = f.node().spawn("counter", Map("{id: 100}"));
  REQUIRE(fresh.ok());
  CHECK(f.Vsn(*fresh) == "2");
  auto back = UpgradeReport::FromTerm(report.ToTerm());
  REQUIRE(back.ok());
  CHECK(back->ToTerm() == report.ToTerm());
  // Without process details (the control socket's default) the list is left
  // out but the count of touched processes still travels.
  auto summary = UpgradeReport::FromTerm(report.ToTerm(false));
  REQUIRE(summary.ok());
  CHECK(summary->touched.empty());
  CHECK(summary->touched_total() == 100);
  CHECK(summary->pause.count == 100);
  CHECK(summary->upgraded == 100);
}

// The 500th process is made to fail only after the precheck passed, so the
// failure happens mid-rollout.
void FailMidRollout(UpgradeFixture& f, Pid victim, ExecuteOptions& options) {
  options.progress = [&f, victim, armed = false](size_t done, size_t) mutable {
    if (done == 0 && !armed) {
      armed = true;
      REQUIRE(f.node().call(victim, Map("{set: fail_on_upgrade, to: true}")).ok());
    }
  };
}

void CheckRolledBackExactly(UpgradeFixture& f, const std::vector<Pid>& pids, const CastLoad& load,
                            size_t victim) {
  CHECK(AllRun(f.node(), pids, "counter", "1"));
  for (size_t i = 0; i < pids.size(); ++i) {
    std::string expected = "{id: " + std::to_string(i) +
                           ", count: " + std::to_string(load.sent(i)) +
                           (i == victim ? ", fail_on_upgrade: true}" : "}");
    INFO("process " << i);
    CHECK(f.Get(pids[i]) == Map(expected));
  }
  // The node is back on its old code: version 2 unloaded, spawn uses 1.
  CHECK(f.node().code_server().find("counter", "2") == nullptr);
  auto fresh = f.node().spawn("counter", Map("{id: 9999}"));
  REQUIRE(fresh.ok());
  CHECK(f.Vsn(*fresh) == "1");
}

TEST_CASE(
    "A code_change that fails in the 500th of 1,000 processes mid-rollout takes all 1,000 back to "
    "version 1 with their exact state, and no cast sent meanwhile is lost") {
  UpgradeFixture f;
  f.Load("counter", "1");
  f.Install("counter", "2");
  std::vector<Pid> pids = f.Spawn("counter", 1000);
  PlanSet plans = Plans(CounterPlans({"counter"}));
  Release r2 = MakeRelease("2", {{"counter", "2"}});
  CastLoad load(f.node(), pids);
  load.WaitFor(2000);
  ExecuteOptions options;
  FailMidRollout(f, pids[499], options);

  UpgradeReport report = f.Run(plans.up[0], r2, &plans.down[0], options);
  load.Stop();

  REQUIRE(report.outcome == UpgradeOutcome::kRolledBack);
  REQUIRE(!report.failures.empty());
  CHECK(report.failures[0].pid == pids[499]);
  CHECK(report.failures[0].step == "code_change");
  CHECK_THAT(report.status().message(), Catch::Contains("fail_on_upgrade"));
  CHECK_THAT(report.status().message(), Catch::Contains(pids[499].to_string()));
  CHECK(report.upgraded == 0);
  // The first 499 had resumed on version 2 and were taken back by version
  // 2's code_change with {down, "1"}: version 1 has no code_change at all.
  CHECK(report.pause.count >= 500);
  CheckRolledBackExactly(f, pids, load, 499);
}

TEST_CASE(
    "Without a down path a module's processes change as one group, and a failure restores every "
    "one of them from its snapshot") {
  UpgradeFixture f;
  f.Load("counter", "1");
  f.Install("counter", "2");
  std::vector<Pid> pids = f.Spawn("counter", 1000);
  PlanSet plans = Plans(CounterPlans({"counter"}, "~", /*with_down=*/false));
  Release r2 = MakeRelease("2", {{"counter", "2"}});
  CastLoad load(f.node(), pids);
  load.WaitFor(2000);
  ExecuteOptions options;
  FailMidRollout(f, pids[499], options);

  UpgradeReport report = f.Run(plans.up[0], r2, /*back=*/nullptr, options);
  load.Stop();

  REQUIRE(report.outcome == UpgradeOutcome::kRolledBack);
  CHECK(report.failures[0].pid == pids[499]);
  CHECK(report.failures.size() == 1);
  // All 1,000 were held suspended together: each paused exactly once.
  CHECK(report.pause.count == 1000);
  CheckRolledBackExactly(f, pids, load, 499);
}

TEST_CASE("With --atomic the whole plan is one group, restored exactly on a failure") {
  UpgradeFixture f;
  f.Load("counter", "1");
  f.Install("counter", "2");
  std::vector<Pid> pids = f.Spawn("counter", 200);
  PlanSet plans = Plans(CounterPlans({"counter"}));
  Release r2 = MakeRelease("2", {{"counter", "2"}});
  CastLoad load(f.node(), pids);
  load.WaitFor(500);
  ExecuteOptions options;
  options.atomic = true;
  FailMidRollout(f, pids[150], options);

  UpgradeReport report = f.Run(plans.up[0], r2, &plans.down[0], options);
  load.Stop();

  REQUIRE(report.outcome == UpgradeOutcome::kRolledBack);
  CHECK(report.pause.count == 200);
  CheckRolledBackExactly(f, pids, load, 150);
}

TEST_CASE("The processes of a depends_on group are all restored when one of them fails") {
  UpgradeFixture f;
  f.Load("counter", "1");
  f.Load("ledger", "1");
  f.Install("counter", "2");
  f.Install("ledger", "2");
  std::vector<Pid> counters = f.Spawn("counter", 50);
  std::vector<Pid> ledgers = f.Spawn("ledger", 50);
  for (Pid p : counters) REQUIRE(f.node().call(p, Map("{add: 3}")).ok());
  PlanSet plans = Plans(CounterPlans({"counter", "ledger"}));
  Release r2 = MakeRelease("2", {{"counter", "2"}, {"ledger", "2"}});
  ExecuteOptions options;
  options.progress = [&f, victim = ledgers[49], armed = false](size_t done, size_t) mutable {
    if (done == 0 && !armed) {
      armed = true;
      REQUIRE(f.node().call(victim, Map("{set: fail_on_upgrade, to: true}")).ok());
    }
  };

  UpgradeReport report = f.Run(plans.up[0], r2, &plans.down[0], options);

  REQUIRE(report.outcome == UpgradeOutcome::kRolledBack);
  CHECK(report.failures[0].pid == ledgers[49]);
  CHECK(report.failures[0].module == "ledger");
  CHECK(AllRun(f.node(), counters, "counter", "1"));
  CHECK(AllRun(f.node(), ledgers, "ledger", "1"));
  for (size_t i = 0; i < counters.size(); ++i) {
    CHECK(f.State(counters[i]) == Map("{id: " + std::to_string(i) + ", count: 3}"));
  }
  // Every counter had changed before the ledger failed: each paused once,
  // for the whole group, and came back from its snapshot.
  CHECK(report.pause.count == 100);
  CHECK(report.upgraded == 0);
}

TEST_CASE("Under concurrent casts an upgrade loses no message: every process's sum adds up") {
  UpgradeFixture f;
  f.Load("counter", "1");
  f.Install("counter", "2");
  std::vector<Pid> pids = f.Spawn("counter", 500);
  PlanSet plans = Plans(CounterPlans({"counter"}));
  Release r2 = MakeRelease("2", {{"counter", "2"}});
  CastLoad load(f.node(), pids);
  load.WaitFor(2000);

  UpgradeReport report = f.Run(plans.up[0], r2, &plans.down[0]);
  load.WaitFor(4000);
  load.Stop();

  REQUIRE(report.outcome == UpgradeOutcome::kOk);
  int64_t total = 0, expected = 0;
  for (size_t i = 0; i < pids.size(); ++i) {
    Term s = f.Get(pids[i]);
    CHECK(s == Map("{id: " + std::to_string(i) + ", total: " + std::to_string(load.sent(i)) + "}"));
    total += s.at("total").as_int();
    expected += load.sent(i);
  }
  CHECK(total == expected);
}

TEST_CASE("A dry run changes nothing and names the process whose code_change would fail") {
  UpgradeFixture f;
  f.Load("counter", "1");
  f.Install("counter", "2");
  std::vector<Pid> pids = f.Spawn("counter", 20);
  auto bad = f.node().spawn("counter", Map("{id: 20, fail_on_upgrade: true}"));
  REQUIRE(bad.ok());
  PlanSet plans = Plans(CounterPlans({"counter"}));
  Release r2 = MakeRelease("2", {{"counter", "2"}});
  ExecuteOptions options;
  options.dry_run = true;

  UpgradeReport report = f.Run(plans.up[0], r2, &plans.down[0], options);

  CHECK(report.dry_run);
  REQUIRE(report.outcome == UpgradeOutcome::kRefused);
  REQUIRE(report.failures.size() == 1);
  CHECK(report.failures[0].pid == *bad);
  CHECK(report.failures[0].step == "precheck");
  CHECK(report.touched.size() == 21);  // every process checked...
  CHECK(report.pause.count == 0);      // ...none paused
  CHECK(AllRun(f.node(), pids, "counter", "1"));
  CHECK(f.State(pids[3]) == Map("{id: 3, count: 0}"));
  CHECK(f.node().code_server().find("counter", "2") == nullptr);
  CHECK(f.node().code_server().current("counter")->vsn() == "1");

  SECTION("and without the failing process it reports ok, still changing nothing") {
    REQUIRE(f.node().exit(*bad, Term::atom("shutdown")).ok());
    UpgradeReport ok = f.Run(plans.up[0], r2, &plans.down[0], options);
    CHECK(ok.outcome == UpgradeOutcome::kOk);
    CHECK(ok.modules[0].processes == 20);
    CHECK(AllRun(f.node(), pids, "counter", "1"));
    CHECK(f.node().code_server().find("counter", "2") == nullptr);
  }
}

TEST_CASE(
    "A code_change that fails on a copy of a state refuses the upgrade before anything is paused") {
  UpgradeFixture f;
  f.Load("counter", "1");
  f.Install("counter", "2");
  std::vector<Pid> pids = f.Spawn("counter", 10);
  PlanSet plans = Plans(CounterPlans({"counter"}, "{fail_id: 4}"));
  Release r2 = MakeRelease("2", {{"counter", "2"}});

  UpgradeReport report = f.Run(plans.up[0], r2, &plans.down[0]);

  REQUIRE(report.outcome == UpgradeOutcome::kRefused);
  CHECK(report.failures[0].pid == pids[4]);
  CHECK(report.failures[0].step == "precheck");
  CHECK_THAT(report.status().message(), Catch::Contains("fail_id"));
  CHECK(report.pause.count == 0);
  CHECK(AllRun(f.node(), pids, "counter", "1"));
  CHECK(f.node().code_server().find("counter", "2") == nullptr);
}

TEST_CASE("A new library that fails to load refuses the upgrade before anything is paused") {
  UpgradeFixture f;
  f.Load("counter", "1");
  std::vector<Pid> pids = f.Spawn("counter", 10);
  // lib/counter-2/counter.so is a library with an undefined symbol.
  std::filesystem::create_directories(f.root() + "/lib/counter-2");
  std::filesystem::copy_file(std::string(RELUP_TEST_MODULE_DIR) + "/missing-symbol.so",
                             f.root() + "/lib/counter-2/counter.so");
  PlanSet plans = Plans(CounterPlans({"counter"}));
  Release r2 = MakeRelease("2", {{"counter", "2"}});

  UpgradeReport report = f.Run(plans.up[0], r2, &plans.down[0]);

  REQUIRE(report.outcome == UpgradeOutcome::kRefused);
  CHECK(report.failures[0].step == "load");
  CHECK(report.failures[0].module == "counter");
  CHECK_THAT(report.status().message(), Catch::Contains("counter.so"));
  CHECK(report.touched.empty());
  CHECK(AllRun(f.node(), pids, "counter", "1"));
}

TEST_CASE(
    "A process busy beyond the timeout while the precheck reads it refuses the upgrade, named") {
  UpgradeFixture f;
  f.Load("counter", "1");
  f.Install("counter", "2");
  std::vector<Pid> pids = f.Spawn("counter", 5);
  ScratchDir marks;
  std::string mark = marks.path() + "/busy";
  REQUIRE(f.node().cast(pids[2], Map("{sleep_ms: 600, mark: \"" + mark + "\"}")).ok());
  while (!std::filesystem::exists(mark)) std::this_thread::yield();
  PlanSet plans = Plans(CounterPlans({"counter"}, "~", true, /*timeout_ms=*/100));
  Release r2 = MakeRelease("2", {{"counter", "2"}});

  UpgradeReport report = f.Run(plans.up[0], r2, &plans.down[0]);

  REQUIRE(report.outcome == UpgradeOutcome::kRefused);
  CHECK(report.failures[0].pid == pids[2]);
  CHECK(report.failures[0].reason.code() == StatusCode::kTimeout);
  CHECK(report.pause.count == 0);
  CHECK(AllRun(f.node(), pids, "counter", "1"));
}

TEST_CASE("A straggler during the rollout rolls the upgrade back and is named") {
  UpgradeFixture f;
  f.Load("counter", "1");
  f.Install("counter", "2");
  std::vector<Pid> pids = f.Spawn("counter", 10);
  ScratchDir marks;
  std::string mark = marks.path() + "/busy";
  PlanSet plans = Plans(CounterPlans({"counter"}, "~", true, /*timeout_ms=*/100));
  Release r2 = MakeRelease("2", {{"counter", "2"}});
  ExecuteOptions options;
  options.progress = [&, armed = false](size_t done, size_t) mutable {
    if (done != 0 || armed) return;
    armed = true;  // after the precheck: process 7 starts a 600 ms callback
    REQUIRE(f.node().cast(pids[7], Map("{sleep_ms: 600, mark: \"" + mark + "\"}")).ok());
    while (!std::filesystem::exists(mark)) std::this_thread::yield();
  };

  UpgradeReport report = f.Run(plans.up[0], r2, &plans.down[0], options);

  REQUIRE(report.outcome == UpgradeOutcome::kRolledBack);
  CHECK(report.failures[0].pid == pids[7]);
  CHECK(report.failures[0].step == "suspend");
  CHECK_THAT(report.status().message(), Catch::Contains("straggler"));
  CHECK(AllRun(f.node(), pids, "counter", "1"));
  for (size_t i = 0; i < pids.size(); ++i) {
    CHECK(f.State(pids[i]) == Map("{id: " + std::to_string(i) + ", count: 0}"));
  }
}

TEST_CASE("A process spawned while the upgrade runs starts on the old code and is upgraded too") {
  UpgradeFixture f;
  f.Load("counter", "1");
  f.Install("counter", "2");
  std::vector<Pid> pids = f.Spawn("counter", 10);
  PlanSet plans = Plans(CounterPlans({"counter"}));
  Release r2 = MakeRelease("2", {{"counter", "2"}});
  Pid late;
  ExecuteOptions options;
  options.progress = [&, armed = false](size_t done, size_t) mutable {
    if (done != 0 || armed) return;
    armed = true;
    auto pid = f.node().spawn("counter", Map("{id: 10, count: 5}"));
    REQUIRE(pid.ok());
    late = *pid;
    CHECK(f.Vsn(late) == "1");  // version 2 is loaded but not current yet
  };

  UpgradeReport report = f.Run(plans.up[0], r2, &plans.down[0], options);

  REQUIRE(report.outcome == UpgradeOutcome::kOk);
  CHECK(report.upgraded == 11);
  CHECK(f.Vsn(late) == "2");
  CHECK(f.State(late) == Map("{id: 10, total: 5}"));
  CHECK(f.node().processes_running("counter", "1").empty());
}

TEST_CASE("A process suspended before the upgrade is upgraded and left suspended, with a warning") {
  UpgradeFixture f;
  f.Load("counter", "1");
  f.Install("counter", "2");
  std::vector<Pid> pids = f.Spawn("counter", 5);
  REQUIRE(f.node().suspend(pids[2]).ok());
  PlanSet plans = Plans(CounterPlans({"counter"}));
  Release r2 = MakeRelease("2", {{"counter", "2"}});

  UpgradeReport report = f.Run(plans.up[0], r2, &plans.down[0]);

  REQUIRE(report.outcome == UpgradeOutcome::kOk);
  auto status = f.node().get_status(pids[2]);
  REQUIRE(status.ok());
  CHECK(status->state == ProcessState::kSuspended);
  CHECK(status->vsn == "2");
  CHECK(f.State(pids[2]) == Map("{id: 2, total: 0}"));
  REQUIRE(report.warnings.size() == 1);
  CHECK_THAT(report.warnings[0], Catch::Contains(pids[2].to_string()));
  CHECK(f.node().get_status(pids[1])->state != ProcessState::kSuspended);
  REQUIRE(f.node().resume(pids[2]).ok());
}

TEST_CASE("load_module switches the code of a module without code_change and keeps its state") {
  UpgradeFixture f;
  f.Load("plain", "1");
  f.Install("plain", "2");
  auto pid = f.node().spawn("plain", Map("{kept: [1, 2]}"));
  REQUIRE(pid.ok());
  PlanSet plans = Plans(R"(format: 1
release: test
vsn: "2"
up:
  - from: "1"
    steps:
      - {op: load_object_code, modules: [{module: plain, vsn: "2"}]}
      - {op: point_of_no_return}
      - {op: load, module: plain, vsn: "2"}
      - {op: purge, module: plain, mode: soft}
)");
  Release r2 = MakeRelease("2", {{"plain", "2"}});

  UpgradeReport report = f.Run(plans.up[0], r2, nullptr);

  REQUIRE(report.outcome == UpgradeOutcome::kOk);
  CHECK(report.modules[0].instruction == "load_module");
  CHECK(*f.node().call(*pid, Term::atom("vsn")) == Term("2"));
  CHECK(f.State(*pid) == Map("{kept: [1, 2]}"));
}

// Node on counter 1 and plain 1 (a process `temp`); the plan to 2 updates
// counter, adds ledger with a process `books`, stops `temp`, deletes plain,
// and then runs `apply_step` (empty: none).
std::string MixedPlans(const std::string& apply_step) {
  return R"(format: 1
release: test
vsn: "2"
up:
  - from: "1"
    steps:
      - {op: load_object_code, modules: [{module: counter, vsn: "2"}, {module: ledger, vsn: "1"}]}
      - {op: point_of_no_return}
      - {op: suspend, modules: [counter], timeout: 5000}
      - {op: code_change, module: counter, from_vsn: "1", to_vsn: "2", extra: ~}
      - {op: resume, modules: [counter]}
      - {op: load, module: ledger, vsn: "1"}
      - {op: start, module: ledger, name: books, args: {id: 7}}
      - {op: stop, name: temp}
)" + apply_step +
         R"(      - {op: delete_module, module: plain}
      - {op: purge, module: counter, mode: soft}
down:
  - to: "1"
    steps:
      - {op: load_object_code, modules: [{module: counter, vsn: "1"}]}
      - {op: point_of_no_return}
      - {op: suspend, modules: [counter], timeout: 5000}
      - {op: code_change, module: counter, from_vsn: "2", to_vsn: "1", down: true, extra: ~}
      - {op: resume, modules: [counter]}
)";
}

TEST_CASE(
    "A downgrade runs the code_change of the version being left: counter 2 takes 1,000 processes "
    "down to 1, whose library has none, and a down code_change failing mid-way at the 500th takes "
    "every one back to 2 with its exact state") {
  UpgradeFixture f;
  f.Load("counter", "1");
  f.Install("counter", "2");
  std::vector<Pid> pids = f.Spawn("counter", 1000);
  PlanSet plans = Plans(CounterPlans({"counter"}));
  Release r1 = MakeRelease("1", {{"counter", "1"}});
  Release r2 = MakeRelease("2", {{"counter", "2"}});
  REQUIRE(f.Run(plans.up[0], r2, &plans.down[0]).outcome == UpgradeOutcome::kOk);
  CHECK(f.node().code_server().find("counter", "1") == nullptr);  // purged by the upgrade
  for (size_t i = 0; i < pids.size(); i += 100) {
    REQUIRE(f.node().call(pids[i], Map("{add: " + std::to_string(i) + "}")).ok());
  }

  SECTION("the downgrade goes through") {
    UpgradeReport report = f.Run(plans.down[0], r1, &plans.up[0], {}, /*downgrade=*/true);
    INFO(report.status().ToString());
    REQUIRE(report.outcome == UpgradeOutcome::kOk);
    CHECK(report.downgrade);
    CHECK(AllRun(f.node(), pids, "counter", "1"));
    CHECK(f.node().code_server().find("counter", "1")->callbacks().code_change == nullptr);
    CHECK(f.State(pids[300]) == Map("{id: 300, count: 300}"));
    CHECK(f.State(pids[301]) == Map("{id: 301, count: 0}"));
  }

  SECTION("a down code_change failing at the 500th takes every process back to 2") {
    CastLoad load(f.node(), pids);
    load.WaitFor(2000);
    ExecuteOptions options;
    options.progress = [&f, victim = pids[499], armed = false](size_t done, size_t) mutable {
      if (done == 0 && !armed) {
        armed = true;
        REQUIRE(f.node().call(victim, Map("{set: fail_on_downgrade, to: true}")).ok());
      }
    };
    UpgradeReport report = f.Run(plans.down[0], r1, &plans.up[0], options, /*downgrade=*/true);
    load.Stop();
    INFO(report.status().ToString());
    REQUIRE(report.outcome == UpgradeOutcome::kRolledBack);
    REQUIRE_FALSE(report.failures.empty());
    CHECK(report.failures[0].pid == pids[499]);
    CHECK(report.failures[0].step == "code_change");
    CHECK_THAT(report.status().message(), Catch::Contains("code_change of counter 2"));
    CHECK_THAT(report.status().message(), Catch::Contains("fail_on_downgrade"));
    // The 499 already resumed on 1 came back up through counter 2's
    // code_change from "1"; the rest were restored from their snapshots.
    CHECK(AllRun(f.node(), pids, "counter", "2"));
    for (size_t i = 0; i < pids.size(); ++i) {
      int64_t added = i % 100 == 0 ? static_cast<int64_t>(i) : 0;
      std::string expected = "{id: " + std::to_string(i) +
                             ", total: " + std::to_string(added + load.sent(i)) +
                             (i == 499 ? ", fail_on_downgrade: true}" : "}");
      INFO("process " << i);
      CHECK(f.Get(pids[i]) == Map(expected));
    }
  }
}

TEST_CASE(
    "A newer version whose code_change refuses {down, OLD} refuses the downgrade in the precheck, "
    "naming the module, both versions and the fix, and nothing changes") {
  UpgradeFixture f;
  f.Load("counter", "3");
  f.Install("counter", "1");
  std::vector<Pid> pids = f.Spawn("counter", 3);
  // A down plan straight from 3 to 1: counter 3's code_change knows only 2.
  PlanSet plans = Plans(R"(format: 1
release: test
vsn: "3"
down:
  - to: "1"
    steps:
      - {op: load_object_code, modules: [{module: counter, vsn: "1"}]}
      - {op: point_of_no_return}
      - {op: suspend, modules: [counter], timeout: 5000}
      - {op: code_change, module: counter, from_vsn: "3", to_vsn: "1", down: true, extra: ~}
      - {op: resume, modules: [counter]}
)");
  Release r1 = MakeRelease("1", {{"counter", "1"}});
  UpgradeReport report = f.Run(plans.down[0], r1, nullptr, {}, /*downgrade=*/true);
  INFO(report.status().ToString());
  REQUIRE(report.outcome == UpgradeOutcome::kRefused);
  CHECK(report.failures[0].step == "precheck");
  std::string why = report.status().message();
  CHECK_THAT(why, Catch::Contains("counter 3's code_change (old_vsn !tuple [:down, \"1\"])"));
  CHECK_THAT(why, Catch::Contains("changes up from 2 or down to 2"));
  CHECK_THAT(why, Catch::Contains("fix: give counter 3's code_change a clause for old_vsn"));
  CHECK_THAT(why, Catch::Contains("or go down one release at a time"));
  CHECK(AllRun(f.node(), pids, "counter", "3"));
  CHECK(f.State(pids[1]) == Map("{id: 1, sum: 0}"));
  CHECK(f.node().code_server().find("counter", "1") == nullptr);
}

TEST_CASE(
    "Start, stop, add_module and delete_module steps run once every code change has succeeded") {
  UpgradeFixture f;
  f.Load("counter", "1");
  f.Load("plain", "1");
  f.Install("counter", "2");
  f.Install("ledger", "1");
  std::vector<Pid> pids = f.Spawn("counter", 3);
  auto temp = f.node().spawn("plain", Map("{}"), SpawnOptions{"temp"});
  auto other = f.node().spawn("plain", Map("{}"));
  REQUIRE(temp.ok());
  REQUIRE(other.ok());
  PlanSet plans = Plans(MixedPlans(""));
  Release r2 = MakeRelease("2", {{"counter", "2"}, {"ledger", "1"}});

  UpgradeReport report = f.Run(plans.up[0], r2, &plans.down[0]);

  INFO(report.status().ToString());
  REQUIRE(report.outcome == UpgradeOutcome::kOk);
  CHECK(AllRun(f.node(), pids, "counter", "2"));
  auto books = f.node().whereis("books");
  REQUIRE(books.ok());
  CHECK(f.State(*books) == Map("{id: 7, count: 0}"));
  CHECK(!f.node().whereis("temp").ok());
  CHECK(f.node().get_status(*temp).status().code() == StatusCode::kNotFound);
  CHECK(f.node().processes_running("plain").empty());  // delete_module: brutal
  CHECK(f.node().code_server().find("plain", "1") == nullptr);
  std::vector<std::string> instructions;
  for (const auto& m : report.modules) instructions.push_back(m.module + " " + m.instruction);
  CHECK(instructions ==
        std::vector<std::string>{"counter update", "ledger add_module", "plain delete_module"});
}

TEST_CASE(
    "A failing apply step rolls back: started processes stop, stopped ones come back under their "
    "names, updated ones go back, nothing is deleted") {
  UpgradeFixture f;
  f.Load("counter", "1");
  f.Load("plain", "1");
  f.Install("counter", "2");
  f.Install("ledger", "1");
  std::vector<Pid> pids = f.Spawn("counter", 3);
  auto temp = f.node().spawn("plain", Map("{}"), SpawnOptions{"temp"});
  REQUIRE(temp.ok());
  // counter has no {apply: ...} request: the temporary process fails the call.
  PlanSet plans = Plans(MixedPlans(
      "      - {op: apply, module: counter, function: migrate, args: ~, init_args: {id: 99}, "
      "timeout: 1000}\n"));
  Release r2 = MakeRelease("2", {{"counter", "2"}, {"ledger", "1"}});

  UpgradeReport report = f.Run(plans.up[0], r2, &plans.down[0]);

  REQUIRE(report.outcome == UpgradeOutcome::kRolledBack);
  CHECK(report.failures[0].step == "apply");
  CHECK(AllRun(f.node(), pids, "counter", "1"));
  for (size_t i = 0; i < pids.size(); ++i) {
    CHECK(f.State(pids[i]) == Map("{id: " + std::to_string(i) + ", count: 0}"));
  }
  CHECK(!f.node().whereis("books").ok());
  REQUIRE(f.node().whereis("temp").ok());
  CHECK(*f.node().whereis("temp") == *temp);
  CHECK(f.node().get_status(*temp)->state == ProcessState::kRunnable);
  CHECK(f.node().code_server().find("plain", "1") != nullptr);
  CHECK(f.node().code_server().find("ledger", "1") == nullptr);
}

TEST_CASE(
    "A stop and a start of the same name in one plan hand the name over, and a failure after them "
    "gives it back to the stopped process with its state and every message sent meanwhile") {
  UpgradeFixture f;
  f.Load("counter", "1");
  f.Install("counter", "2");
  std::vector<Pid> pids = f.Spawn("counter", 2);
  auto old = f.node().spawn("counter", Map("{id: 41}"), SpawnOptions{"worker"});
  REQUIRE(old.ok());
  auto plans_with = [](const std::string& last_step) {
    return Plans(R"(format: 1
release: test
vsn: "2"
up:
  - from: "1"
    steps:
      - {op: load_object_code, modules: [{module: counter, vsn: "2"}]}
      - {op: point_of_no_return}
      - {op: suspend, modules: [counter], timeout: 5000}
      - {op: code_change, module: counter, from_vsn: "1", to_vsn: "2", extra: ~}
      - {op: resume, modules: [counter]}
      - {op: stop, name: worker}
      - {op: start, module: counter, name: worker, args: {id: 42}}
)" + last_step + R"(down:
  - to: "1"
    steps:
      - {op: load_object_code, modules: [{module: counter, vsn: "1"}]}
      - {op: point_of_no_return}
      - {op: suspend, modules: [counter], timeout: 5000}
      - {op: code_change, module: counter, from_vsn: "2", to_vsn: "1", down: true, extra: ~}
      - {op: resume, modules: [counter]}
)");
  };
  Release r2 = MakeRelease("2", {{"counter", "2"}});

  // With --atomic the old worker is also a member of the held group: the
  // commit ends it without resuming it on the new code first, and a rollback
  // restores and resumes it like the other members.
  ExecuteOptions options;
  options.atomic = GENERATE(false, true);
  INFO((options.atomic ? "with --atomic" : "per process"));

  SECTION("when the plan goes through, the new process holds the name and the old one is gone") {
    PlanSet plans = plans_with("");
    UpgradeReport report = f.Run(plans.up[0], r2, &plans.down[0], options);
    INFO(report.status().ToString());
    REQUIRE(report.outcome == UpgradeOutcome::kOk);
    CHECK(report.warnings.empty());
    auto now = f.node().whereis("worker");
    REQUIRE(now.ok());
    CHECK(*now != *old);
    CHECK(f.State(*now) == Map("{id: 42, total: 0}"));
    CHECK(f.node().get_status(*old).status().code() == StatusCode::kNotFound);
    CHECK(AllRun(f.node(), pids, "counter", "2"));
  }

  SECTION("when a later step fails, the old process has its name, code, state and mail back") {
    // counter has no {apply: ...} request: the temporary process fails the call.
    PlanSet plans = plans_with(
        "      - {op: apply, module: counter, function: migrate, args: ~, init_args: {id: 99}, "
        "timeout: 1000}\n");
    // Casts by pid all through the upgrade: those that arrive while the stop
    // holds the process wait in its mailbox.
    CastLoad load(f.node(), {*old});
    load.WaitFor(100);
    UpgradeReport report = f.Run(plans.up[0], r2, &plans.down[0], options);
    load.Stop();

    REQUIRE(report.outcome == UpgradeOutcome::kRolledBack);
    CHECK(report.failures[0].step == "apply");
    auto now = f.node().whereis("worker");
    REQUIRE(now.ok());
    CHECK(*now == *old);
    CHECK(f.node().get_status(*old)->vsn == "1");
    // Resumed: it may still be busy with the casts that waited for it.
    ProcessState state = f.node().get_status(*old)->state;
    CHECK((state == ProcessState::kRunnable || state == ProcessState::kBusy));
    CHECK(f.Get(*old) == Map("{id: 41, count: " + std::to_string(load.sent(0)) + "}"));
    CHECK(AllRun(f.node(), pids, "counter", "1"));
  }
}

}  // namespace
}  // namespace relup::test
