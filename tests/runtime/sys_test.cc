// sys operations with OTP's meaning: the seed's upgrade session, suspend and
// resume, change_code and its refusals, switch_code, state access, status,
// snapshot/restore, purge.
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "relup/node.h"
#include "runtime_test_util.h"

using namespace relup;
using relup::test::Contains;
using relup::test::Eventually;
using relup::test::ExampleModule;
using relup::test::TestModule;
using relup::test::TestNode;
using relup::test::Yaml;

namespace {

const std::string kDemo1 = ExampleModule("demo_server-1.so");
const std::string kDemo2 = ExampleModule("demo_server-2.so");
const std::string kCounter1 = TestModule("rt_counter-1.so");
const std::string kCounter2 = TestModule("rt_counter-2.so");
const std::string kJournal1 = TestModule("rt_journal-1.so");
const std::string kJournal2 = TestModule("rt_journal-2.so");
const std::string kCrasher = TestModule("rt_crasher-1.so");

Term Append(int i) {
  return Term::map({{Term::atom("append"), Term(i)}});
}

}  // namespace

TEST_CASE("the seed's session: add money, upgrade demo_server 1 -> 2 in place, add salary") {
  TestNode node({kDemo1});
  auto pid = node->spawn("demo_server", Yaml("{name: blackode, money: 30000}"));
  REQUIRE(pid.ok());

  auto added = node->call(*pid, Yaml("{add: 30000}"));
  REQUIRE(added.ok());
  CHECK(*added == Term("30000 added to blackode "));
  CHECK(*node->get_state(*pid) == Yaml("{money: 60000, name: blackode}"));

  REQUIRE(node->suspend(*pid).ok());
  node.load(kDemo2);
  Status changed = node->change_code(*pid, "demo_server", Term("1"), Term());
  INFO(changed.ToString());
  REQUIRE(changed.ok());
  REQUIRE(node->resume(*pid).ok());

  auto raised = node->call(*pid, Yaml("{add: 100000}"));
  REQUIRE(raised.ok());
  CHECK(*raised == Yaml("{name: blackode, salary: 160000}"));
  CHECK(node->get_status(*pid)->vsn == "2");
}

TEST_CASE("suspend waits for the message in progress, and queued messages stay queued") {
  TestNode node({kCrasher});
  auto pid = node->spawn("rt_crasher", Term());
  REQUIRE(pid.ok());
  Result<Term> slow = Status::Internal("not run");
  Result<Term> queued = Status::Internal("not run");
  std::thread caller([&] { slow = node->call(*pid, Yaml("{sleep_ms: 100}")); });
  REQUIRE(node.log.wait_for("sleeping"));
  std::thread second([&] { queued = node->call(*pid, Term::atom("ping")); });
  REQUIRE(Eventually([&] { return node->get_status(*pid)->queue_length == 1; }));

  REQUIRE(node->suspend(*pid).ok());
  CHECK(node.log.contains("woke"));  // the message in progress finished first
  caller.join();
  CHECK(slow.ok());
  auto status = node->get_status(*pid);
  CHECK(status->state == ProcessState::kSuspended);
  CHECK(status->queue_length == 1);  // the ping waits

  REQUIRE(node->resume(*pid).ok());
  second.join();
  CHECK(*queued == Term::atom("pong"));
}

TEST_CASE("a process inside a callback is listed as busy, and as running again once it returns") {
  TestNode node({kCrasher});
  auto pid = node->spawn("rt_crasher", Term(), {.name = "busy"});
  REQUIRE(pid.ok());
  CHECK(ProcessStateName(node->get_status(*pid)->state) == "running");
  std::thread caller([&] { (void)node->call("busy", Yaml("{sleep_ms: 300}")); });
  REQUIRE(node.log.wait_for("sleeping"));
  auto status = node->get_status(*pid);
  CHECK(status->state == ProcessState::kBusy);
  CHECK(ProcessStateName(status->state) == "busy");
  bool listed = false;
  for (const ProcessStatus& p : node->processes()) {
    if (p.pid == *pid) listed = p.state == ProcessState::kBusy;
  }
  CHECK(listed);
  caller.join();
  CHECK(Eventually([&] { return node->get_status(*pid)->state == ProcessState::kRunnable; }));
}

TEST_CASE("suspend of a process busy longer than the timeout is a Timeout naming it") {
  TestNode node({kCrasher});
  auto pid = node->spawn("rt_crasher", Term(), {.name = "busy"});
  REQUIRE(pid.ok());
  std::thread caller([&] { (void)node->call("busy", Yaml("{sleep_ms: 300}")); });
  REQUIRE(node.log.wait_for("sleeping"));
  Status s = node->suspend("busy", Millis(30));
  caller.join();
  CHECK(s.code() == StatusCode::kTimeout);
  CHECK(Contains(s.message(), "busy"));
  CHECK(Contains(s.message(), "30 ms"));
  // Nothing is left half-done: the process goes on running (busy until its
  // worker is out of the callback that replied).
  CHECK(Eventually([&] { return node->get_status("busy")->state == ProcessState::kRunnable; }));
  CHECK(*node->call("busy", Term::atom("ping")) == Term::atom("pong"));
}

TEST_CASE(
    "a process waiting in a run queue is taken by a sys operation at once, not when a worker "
    "reaches it, and its queued message is handled after resume") {
  TestNode node({kCrasher, kJournal1}, /*workers=*/1);
  auto busy = node->spawn("rt_crasher", Term());
  auto waiting = node->spawn("rt_journal", Term());
  REQUIRE(busy.ok());
  REQUIRE(waiting.ok());
  // The only worker sleeps in a callback for 2 s...
  std::thread caller([&] { (void)node->call(*busy, Yaml("{sleep_ms: 2000}")); });
  REQUIRE(node.log.wait_for("sleeping"));
  // ...so this cast leaves `waiting` scheduled in a run queue, at a boundary.
  REQUIRE(node->cast(*waiting, Append(1)).ok());

  // 200 ms is far less than the worker needs to reach it.
  Status suspended = node->suspend(*waiting, Millis(200));
  INFO(suspended.ToString());
  REQUIRE(suspended.ok());
  CHECK(*node->get_state(*waiting, Millis(200)) == Term::list({}));
  CHECK(node->get_status(*waiting)->queue_length == 1);

  // The worker comes back and finds the queued process suspended: it leaves
  // it alone, and the cast waits for resume.
  caller.join();
  CHECK(*node->call(*busy, Term::atom("ping")) == Term::atom("pong"));
  CHECK(*node->get_state(*waiting) == Term::list({}));
  REQUIRE(node->resume(*waiting).ok());
  CHECK(*node->call(*waiting, Term::atom("get")) == Term::list({Term(1)}));
}

TEST_CASE(
    "a process taken from a run queue and let go before the worker reaches it runs its mail "
    "exactly once") {
  TestNode node({kCrasher, kJournal1}, /*workers=*/1);
  auto busy = node->spawn("rt_crasher", Term());
  auto waiting = node->spawn("rt_journal", Term());
  REQUIRE(busy.ok());
  REQUIRE(waiting.ok());
  std::thread caller([&] { (void)node->call(*busy, Yaml("{sleep_ms: 300}")); });
  REQUIRE(node.log.wait_for("sleeping"));
  for (int i = 1; i <= 3; ++i) REQUIRE(node->cast(*waiting, Append(i)).ok());
  // Taken and let go while queued: get_state, then suspend + resume.
  CHECK(*node->get_state(*waiting, Millis(200)) == Term::list({}));
  REQUIRE(node->suspend(*waiting, Millis(200)).ok());
  REQUIRE(node->resume(*waiting).ok());
  caller.join();
  CHECK(*node->call(*waiting, Term::atom("get")) == Term::list({Term(1), Term(2), Term(3)}));
}

TEST_CASE("messages sent while suspended are all handled after resume, in order") {
  TestNode node({kJournal1});
  auto pid = node->spawn("rt_journal", Term());
  REQUIRE(pid.ok());
  REQUIRE(node->cast(*pid, Append(0)).ok());
  REQUIRE(*node->call(*pid, Term::atom("get")) == Term::list({Term(0)}));
  REQUIRE(node->suspend(*pid).ok());
  for (int i = 1; i <= 100; ++i) REQUIRE(node->cast(*pid, Append(i)).ok());
  auto status = node->get_status(*pid);
  CHECK(status->state == ProcessState::kSuspended);
  CHECK(status->queue_length == 100);
  // Nothing of it was handled while suspended; get_state answers at once.
  CHECK(*node->get_state(*pid) == Term::list({Term(0)}));

  REQUIRE(node->resume(*pid).ok());
  std::vector<Term> expected;
  for (int i = 0; i <= 100; ++i) expected.push_back(Term(i));
  CHECK(*node->call(*pid, Term::atom("get")) == Term::list(expected));
  CHECK(Eventually([&] { return node->get_status(*pid)->state == ProcessState::kRunnable; }));
}

TEST_CASE("a call to a suspended process waits for resume") {
  TestNode node({kCounter1});
  auto pid = node->spawn("rt_counter", Term(1));
  REQUIRE(pid.ok());
  REQUIRE(node->suspend(*pid).ok());
  auto timed_out = node->call(*pid, Yaml("{inc: 1}"), Millis(20));
  REQUIRE_FALSE(timed_out.ok());
  CHECK(timed_out.status().code() == StatusCode::kTimeout);
  CHECK(Contains(timed_out.status().message(), "suspended"));
  REQUIRE(node->resume(*pid).ok());
  // The timed-out call is still handled (its reply dropped), then this one.
  CHECK(*node->call(*pid, Yaml("{inc: 1}")) == Term(3));
}

TEST_CASE("suspend and resume are idempotent, as in OTP") {
  TestNode node({kCounter1});
  auto pid = node->spawn("rt_counter", Term());
  REQUIRE(pid.ok());
  CHECK(node->resume(*pid).ok());
  CHECK(node->suspend(*pid).ok());
  CHECK(node->suspend(*pid).ok());
  CHECK(node->resume(*pid).ok());
  CHECK(node->get_status(*pid)->state == ProcessState::kRunnable);
  CHECK(*node->call(*pid, Term::atom("get")) == Term(0));
}

TEST_CASE("change_code on a process that is not suspended is refused and says to suspend first") {
  TestNode node({kCounter1});
  auto pid = node->spawn("rt_counter", Term(3), {.name = "c"});
  REQUIRE(pid.ok());
  node.load(kCounter2);

  Status s = node->change_code("c", "rt_counter", Term("1"), Term());
  CHECK(s.code() == StatusCode::kFailedPrecondition);
  CHECK(Contains(s.message(), "suspend it first"));
  CHECK(Contains(s.message(), "(c)"));
  CHECK(node->get_status("c")->vsn == "1");
  CHECK(*node->call("c", Term::atom("get")) == Term(3));
}

TEST_CASE("a code_change that throws leaves the old code and the old state") {
  TestNode node({kCounter1});
  auto pid = node->spawn("rt_counter", Term(10));
  REQUIRE(pid.ok());
  node.load(kCounter2);
  REQUIRE(node->suspend(*pid).ok());
  Status s = node->change_code(*pid, "rt_counter", Term("1"), Term::atom("throw"));
  CHECK(s.code() == StatusCode::kCallbackError);
  CHECK(Contains(s.message(), "code_change failed on purpose"));
  CHECK(Contains(s.message(), "keeps its old code and state"));

  auto status = node->get_status(*pid);
  CHECK(status->vsn == "1");
  CHECK(status->state == ProcessState::kSuspended);
  CHECK(*node->get_state(*pid) == Yaml("{count: 10}"));
  REQUIRE(node->resume(*pid).ok());
  CHECK(*node->call(*pid, Term::atom("vsn")) == Term("1"));
  CHECK(*node->call(*pid, Yaml("{inc: 1}")) == Term(11));
}

TEST_CASE(
    "change_code from a version the new code_change does not accept keeps old code and state") {
  TestNode node({kCounter1});
  auto pid = node->spawn("rt_counter", Term(10));
  REQUIRE(pid.ok());
  node.load(kCounter2);
  REQUIRE(node->suspend(*pid).ok());
  Status s = node->change_code(*pid, "rt_counter", Term("0.9"), Term());
  CHECK(s.code() == StatusCode::kCallbackError);
  CHECK(Contains(s.message(), "changes up from \"1\" or down to it"));
  CHECK(node->get_status(*pid)->vsn == "1");
  CHECK(*node->get_state(*pid) == Yaml("{count: 10}"));
  // A correct change_code afterwards still works.
  REQUIRE(node->change_code(*pid, "rt_counter", Term("1"), Term()).ok());
  REQUIRE(node->resume(*pid).ok());
  CHECK(*node->call(*pid, Yaml("{inc: 5}")) == Term(15));
  CHECK(*node->get_state(*pid) == Yaml("{total: 15}"));
}

TEST_CASE(
    "change_code down ({down, OLD}) runs the code_change of the version being left, the newer "
    "one, as OTP does: the old version needs none") {
  TestNode node({kCounter1});
  auto pid = node->spawn("rt_counter", Term(10));
  REQUIRE(pid.ok());
  node.load(kCounter2);
  REQUIRE(node->suspend(*pid).ok());
  REQUIRE(node->change_code(*pid, "rt_counter", Term("1"), Term()).ok());
  CHECK(*node->get_state(*pid) == Yaml("{total: 10}"));
  // rt_counter 1 has no code_change; 2's takes {total} back to {count}.
  Status down = node->change_code(*pid, "rt_counter", relup::DownVsn("1"), Term(), "1");
  INFO(down.ToString());
  REQUIRE(down.ok());
  CHECK(node->get_status(*pid)->vsn == "1");
  CHECK(*node->get_state(*pid) == Yaml("{count: 10}"));
  REQUIRE(node->resume(*pid).ok());
  CHECK(*node->call(*pid, Yaml("{inc: 1}")) == Term(11));
}

TEST_CASE(
    "a failing down code_change names the version that ran it and keeps the process as it was") {
  TestNode node({kCounter1});
  auto pid = node->spawn("rt_counter", Term(10));
  REQUIRE(pid.ok());
  node.load(kCounter2);
  REQUIRE(node->suspend(*pid).ok());
  REQUIRE(node->change_code(*pid, "rt_counter", Term("1"), Term()).ok());
  Status down = node->change_code(*pid, "rt_counter", relup::DownVsn("0"), Term(), "1");
  CHECK(down.code() == StatusCode::kCallbackError);
  CHECK(Contains(down.message(), "code_change of rt_counter 2"));
  CHECK(Contains(down.message(), "taking it to 1"));
  CHECK(node->get_status(*pid)->vsn == "2");
  CHECK(*node->get_state(*pid) == Yaml("{total: 10}"));
}

TEST_CASE(
    "change_code to a version without code_change, or of another module, is refused clearly") {
  TestNode node({kJournal1, kCounter1});
  auto journal = node->spawn("rt_journal", Term());
  REQUIRE(journal.ok());
  node.load(kJournal2);
  REQUIRE(node->suspend(*journal).ok());

  Status no_cc = node->change_code(*journal, "rt_journal", Term("1"), Term());
  CHECK(no_cc.code() == StatusCode::kFailedPrecondition);
  CHECK(Contains(no_cc.message(), "no code_change"));
  CHECK(Contains(no_cc.message(), "switch_code"));

  Status other = node->change_code(*journal, "rt_counter", Term("1"), Term());
  CHECK(other.code() == StatusCode::kInvalidArgument);
  CHECK(Contains(other.message(), "rt_journal"));

  Status missing = node->change_code(*journal, "rt_journal", Term("1"), Term(), "7");
  CHECK(missing.code() == StatusCode::kNotFound);
  CHECK(Contains(missing.message(), "7"));
  CHECK(node->get_status(*journal)->vsn == "1");
}

TEST_CASE("switch_code changes the code and keeps the state, suspended or running") {
  TestNode node({kJournal1});
  auto a = node->spawn("rt_journal", Term());
  auto b = node->spawn("rt_journal", Term());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(node->cast(*a, Append(1)).ok());
  REQUIRE(node->cast(*b, Append(2)).ok());
  node.load(kJournal2);

  REQUIRE(node->suspend(*a).ok());
  REQUIRE(node->switch_code(*a, "rt_journal").ok());
  REQUIRE(node->resume(*a).ok());
  REQUIRE(node->switch_code(*b, "rt_journal", "2").ok());  // running: at its next boundary

  CHECK(*node->call(*a, Term::atom("vsn")) == Term("2"));
  CHECK(*node->call(*b, Term::atom("vsn")) == Term("2"));
  CHECK(*node->call(*a, Term::atom("get")) == Term::list({Term(1)}));
  CHECK(*node->call(*b, Term::atom("get")) == Term::list({Term(2)}));
}

TEST_CASE("replace_state applies a function at a message boundary, and its error changes nothing") {
  TestNode node({kCounter1});
  auto pid = node->spawn("rt_counter", Term(1));
  REQUIRE(pid.ok());
  REQUIRE(node->replace_state(*pid,
                              [](const Term& s) -> Result<Term> {
                                return s.put("count", Term(s.at("count").as_int() * 100));
                              })
              .ok());
  CHECK(*node->call(*pid, Term::atom("get")) == Term(100));
  Status refused = node->replace_state(
      *pid, [](const Term&) -> Result<Term> { return Status::InvalidArgument("no thanks"); });
  CHECK(refused.code() == StatusCode::kInvalidArgument);
  CHECK(*node->call(*pid, Term::atom("get")) == Term(100));
}

TEST_CASE("get_status and processes report module, vsn, name, state and queue length") {
  TestNode node({kCounter1, kJournal1});
  auto c = node->spawn("rt_counter", Term(), {.name = "c"});
  auto j = node->spawn("rt_journal", Term());
  REQUIRE(c.ok());
  REQUIRE(j.ok());
  REQUIRE(node->suspend(*j).ok());
  REQUIRE(node->cast(*j, Append(1)).ok());
  REQUIRE(node->cast(*j, Append(2)).ok());

  auto sc = node->get_status("c");
  REQUIRE(sc.ok());
  CHECK(sc->pid == *c);
  CHECK(sc->name == "c");
  CHECK(sc->module == "rt_counter");
  CHECK(sc->vsn == "1");
  CHECK(sc->state == ProcessState::kRunnable);
  CHECK(ProcessStateName(sc->state) == "running");

  auto all = node->processes();
  REQUIRE(all.size() == 2);
  CHECK(all[0].pid == *c);
  CHECK(all[1].pid == *j);
  CHECK(all[1].state == ProcessState::kSuspended);
  CHECK(all[1].queue_length == 2);
  CHECK(node->processes_running("rt_journal") == std::vector<Pid>{*j});
  CHECK(node->processes_running("rt_counter", "1") == std::vector<Pid>{*c});
  CHECK(node->processes_running("rt_counter", "2").empty());
}

TEST_CASE("restore puts a snapshot's code and state back exactly") {
  TestNode node({kCounter1});
  auto pid = node->spawn("rt_counter", Term(7));
  REQUIRE(pid.ok());
  node.load(kCounter2);
  CHECK(node->snapshot(*pid).status().code() == StatusCode::kFailedPrecondition);

  REQUIRE(node->suspend(*pid).ok());
  auto snap = node->snapshot(*pid);
  REQUIRE(snap.ok());
  REQUIRE(node->change_code(*pid, "rt_counter", Term("1"), Term()).ok());
  CHECK(node->get_status(*pid)->vsn == "2");

  REQUIRE(node->restore(*snap).ok());
  CHECK(node->get_status(*pid)->vsn == "1");
  CHECK(*node->get_state(*pid) == Yaml("{count: 7}"));
  REQUIRE(node->resume(*pid).ok());
  CHECK(*node->call(*pid, Term::atom("vsn")) == Term("1"));
  CHECK(*node->call(*pid, Yaml("{inc: 1}")) == Term(8));
}

TEST_CASE("a soft purge is refused while a process runs the version and names it") {
  TestNode node({kCounter1});
  auto pid = node->spawn("rt_counter", Term(), {.name = "old_timer"});
  REQUIRE(pid.ok());
  node.load(kCounter2);
  Status s = node->purge("rt_counter", "1", PurgeMode::kSoft);
  CHECK(s.code() == StatusCode::kFailedPrecondition);
  CHECK(Contains(s.message(), pid->to_string()));
  CHECK(Contains(s.message(), "old_timer"));
  CHECK(node->code_server().find("rt_counter", "1") != nullptr);

  // Once moved off it, the soft purge succeeds.
  REQUIRE(node->suspend(*pid).ok());
  REQUIRE(node->change_code(*pid, "rt_counter", Term("1"), Term()).ok());
  REQUIRE(node->resume(*pid).ok());
  CHECK(node->purge("rt_counter", "1", PurgeMode::kSoft).ok());
  CHECK(node->code_server().find("rt_counter", "1") == nullptr);
  CHECK(*node->call(*pid, Yaml("{inc: 2}")) == Term(2));
}

TEST_CASE("a brutal purge ends the processes on the version, then unloads it") {
  TestNode node({kCounter1});
  auto old1 = node->spawn("rt_counter", Term(), {.name = "old"});
  auto old2 = node->spawn("rt_counter", Term());
  REQUIRE(old1.ok());
  REQUIRE(old2.ok());
  node.load(kCounter2);
  auto fresh = node->spawn("rt_counter", Term());
  REQUIRE(fresh.ok());

  REQUIRE(node->purge("rt_counter", "1", PurgeMode::kBrutal).ok());
  CHECK(node->code_server().find("rt_counter", "1") == nullptr);
  CHECK(node->get_status(*old1).status().code() == StatusCode::kNotFound);
  CHECK(node->get_status(*old2).status().code() == StatusCode::kNotFound);
  CHECK(node->whereis("old").status().code() == StatusCode::kNotFound);
  CHECK(node.log.contains("killed"));
  CHECK(*node->call(*fresh, Term::atom("vsn")) == Term("2"));
  CHECK(node->purge("rt_counter", "1", PurgeMode::kSoft).code() == StatusCode::kNotFound);
}

TEST_CASE("sys operations racing with casts from several threads lose no message") {
  constexpr int kCasts = 5000;
  TestNode node({kCounter1});
  auto pid = node->spawn("rt_counter", Term(0));
  REQUIRE(pid.ok());
  node.load(kCounter2);
  const Term inc = Yaml("{inc: 1}");
  std::atomic<bool> reading{true};
  std::atomic<int> sys_errors{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCasts; ++i) {
        if (!node->cast(*pid, inc).ok()) sys_errors.fetch_add(1);
      }
    });
  }
  std::atomic<bool> suspending{true};
  std::thread suspender([&] {
    while (suspending) {
      if (!node->suspend(*pid).ok() || !node->resume(*pid).ok()) sys_errors.fetch_add(1);
    }
  });
  std::thread reader([&] {
    while (reading) {
      if (!node->get_state(*pid).ok() || !node->get_status(*pid).ok()) sys_errors.fetch_add(1);
    }
  });
  for (auto& t : threads) t.join();
  suspending = false;
  suspender.join();
  // Upgrade it while the reader is still at it.
  Status upgraded = node->suspend(*pid);
  if (upgraded.ok()) upgraded = node->change_code(*pid, "rt_counter", Term("1"), Term());
  Status resumed = node->resume(*pid);
  reading = false;
  reader.join();
  REQUIRE(upgraded.ok());
  REQUIRE(resumed.ok());

  CHECK(sys_errors.load() == 0);
  CHECK(*node->call(*pid, Term::atom("get")) == Term(2 * kCasts));
  CHECK(*node->call(*pid, Term::atom("vsn")) == Term("2"));
}

TEST_CASE("adopt starts a process with the given state and does not run init") {
  TestNode node({kDemo2});
  // demo_server 2's init turns release 1's {money} into {salary}; adopt keeps
  // the state exactly as given.
  auto spawned = node->spawn("demo_server", Yaml("{name: a, money: 1}"));
  REQUIRE(spawned.ok());
  CHECK(*node->get_state(*spawned) == Yaml("{name: a, salary: 1}"));
  SpawnOptions named;
  named.name = "b";
  auto adopted =
      node->adopt("demo_server", Yaml("{name: b, salary: 5, tag: !tuple [:x, 1]}"), named);
  REQUIRE(adopted.ok());
  CHECK(*node->get_state("b") == Yaml("{name: b, salary: 5, tag: !tuple [:x, 1]}"));
  CHECK(*node->call("b", Yaml("{add: 1}")) == Yaml("{name: b, salary: 6, tag: !tuple [:x, 1]}"));

  CHECK(node->adopt("nothing_loaded", Term()).status().code() == StatusCode::kNotFound);
  SpawnOptions taken;
  taken.name = "b";
  CHECK_FALSE(node->adopt("demo_server", Term(), taken).ok());

  // A handle means something only where it was made; a supervisor's state is its tree.
  auto with_pid = node->adopt("demo_server", Term::map({{Term::atom("peer"), Term(*spawned)}}));
  CHECK(with_pid.status().code() == StatusCode::kInvalidArgument);
  CHECK(Contains(with_pid.status().message(), "holds !pid " + spawned->to_string() + " at peer"));
  CHECK(node->adopt("supervisor", Term::map({})).status().code() == StatusCode::kInvalidArgument);
}
