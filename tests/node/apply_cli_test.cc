// `relup apply` through the real binary against a real node process: a
// successful rollout and a rollback mid-rollout, both under client load, the
// wrong from-version refused, and kill -9 in the middle of an apply (with
// --json: the failure without a report is still one JSON object). Tarballs are
// made in-process from the test counter modules.
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "apply_fixture.h"
#include "cli_harness.h"
#include "release/release_store.h"

namespace relup::test {
namespace {

struct Tarballs {
  ScratchDir dir;
  std::string v1, v2;
  Tarballs(int processes, const std::string& extra) {
    v1 = WriteTarball(dir.path(), MakeRelease("1", {{"counter", "1"}}, Counters(processes)), "");
    v2 = WriteTarball(dir.path(), MakeRelease("2", {{"counter", "2"}}, Counters(processes)),
                      CounterPlans({"counter"}, extra));
  }
};

TEST_CASE(
    "relup apply under concurrent casts moves every process to version 2 and loses no message, "
    "counting each cast that succeeded while the apply ran",
    "[cli][apply]") {
  constexpr int kProcesses = 24;
  // Every code_change sleeps 25 ms: the precheck and the rollout each take
  // about 0.6 s, so casts keep arriving while processes are suspended.
  Tarballs t(kProcesses, "{slow_ms: 25}");
  NodeRoot root;
  root.start(t.v1);

  using Clock = std::chrono::steady_clock;
  struct Sent {
    Clock::time_point issued, done;
  };
  constexpr int kThreads = 2;
  std::atomic<bool> stop{false};
  std::atomic<int> casting{0};
  // Per thread: the successful casts to each process, and their times (read after join).
  std::vector<std::vector<int64_t>> sent(kThreads, std::vector<int64_t>(kProcesses, 0));
  std::vector<std::vector<Sent>> times(kThreads);
  std::vector<std::thread> load;
  for (int th = 0; th < kThreads; ++th) {
    load.emplace_back([&, th] {
      bool counted = false;
      // The threads start half the pool apart, so both hit every process.
      for (int k = th * kProcesses / kThreads; !stop; k = (k + 1) % kProcesses) {
        auto issued = Clock::now();
        RunResult r =
            Relup({"cast", "--root", root.path(), "c" + std::to_string(k + 1), "{add: 1}"});
        if (r.exit_code != 0) continue;
        ++sent[th][k];
        times[th].push_back({issued, Clock::now()});
        if (!counted) {
          counted = true;
          ++casting;
        }
      }
    });
  }
  REQUIRE(WaitUntil([&] { return casting.load() == kThreads; }, std::chrono::seconds(30)));

  auto apply_started = Clock::now();
  RunResult apply = Relup({"apply", t.v2, "--root", root.path()});
  auto apply_finished = Clock::now();
  stop = true;
  for (auto& th : load) th.join();

  INFO(apply.both());
  REQUIRE(apply.exit_code == 0);
  // Overlap: some cast was issued after the apply started and had been
  // accepted before it finished.
  int64_t during = 0;
  for (const auto& list : times) {
    for (const Sent& c : list) {
      if (c.issued > apply_started && c.done < apply_finished) ++during;
    }
  }
  INFO("casts issued and accepted while the apply ran: " << during);
  CHECK(during > 0);

  for (int k = 0; k < kProcesses; ++k) {
    std::string name = "c" + std::to_string(k + 1);
    int64_t total = 0;
    for (const auto& per_thread : sent) total += per_thread[k];
    // A call goes through the mailbox after every cast already queued.
    RunResult flushed = Relup({"call", "--root", root.path(), name, ":get"});
    INFO(name << ": " << flushed.both());
    REQUIRE(flushed.exit_code == 0);
    RunResult state = Relup({"state", "--root", root.path(), name});
    INFO(name << ": " << state.both());
    CHECK(Term::parse(Trimmed(state.out)).value_or(Term()) ==
          Map("{id: " + std::to_string(k + 1) + ", total: " + std::to_string(total) + "}"));
  }
  RunResult ps = Relup({"ps", "--root", root.path(), "--json"});
  INFO(ps.both());
  REQUIRE(ps.exit_code == 0);
  CHECK(Occurrences(ps.out, "\"vsn\":\"2\"") == kProcesses);
  CHECK(Occurrences(ps.out, "\"module\":\"counter\"") == kProcesses);
  CHECK(Occurrences(ps.out, "\"vsn\":\"1\"") == 1);  // the built-in supervisor, relup_root
  CHECK(Contains(Relup({"status", "--root", root.path()}).out,
                 "counter 2: " + std::to_string(kProcesses)));
}

TEST_CASE(
    "relup apply of a release that upgrades only from another version is refused with exit status "
    "3, naming the running release and the versions the plan accepts",
    "[cli][apply]") {
  ScratchDir dir;
  std::string v1 = WriteTarball(dir.path(), MakeRelease("1", {{"counter", "1"}}, Counters(2)), "");
  // Release 3 knows only the way up from 2; the node runs 1.
  const std::string from_2_only =
      "format: 1\nrelease: test\nvsn: \"3\"\nup:\n  - from: \"2\"\n    steps:\n"
      "        - {op: load_object_code, modules: [{module: counter, vsn: \"3\"}]}\n"
      "        - {op: point_of_no_return}\n"
      "        - {op: suspend, modules: [counter], timeout: 5000}\n"
      "        - {op: code_change, module: counter, from_vsn: \"2\", to_vsn: \"3\", extra: ~}\n"
      "        - {op: resume, modules: [counter]}\n"
      "        - {op: purge, module: counter, mode: soft}\n";
  std::string v3 =
      WriteTarball(dir.path(), MakeRelease("3", {{"counter", "3"}}, Counters(2)), from_2_only);
  NodeRoot root;
  root.start(v1);
  REQUIRE(Relup({"cast", "--root", root.path(), "c1", "{add: 7}"}).exit_code == 0);

  RunResult r = Relup({"apply", v3, "--root", root.path()});
  INFO(r.both());
  CHECK(r.exit_code == 3);  // kExitRefused
  CHECK(Contains(r.out, "refused, nothing changed"));
  CHECK(Contains(r.err, "release test 3 upgrades from 2, but this node runs release test 1"));
  CHECK(Contains(r.err, "give its appup an entry `from: \"1\"`"));
  CHECK(Contains(r.err, "--from the spec or tarball of release 1"));

  RunResult status = Relup({"status", "--root", root.path()});
  INFO(status.out);
  CHECK(Contains(status.out, "release:   test 1 (permanent)"));
  CHECK(Contains(status.out, "counter 1: 2"));
  CHECK(Term::parse(Trimmed(Relup({"call", "--root", root.path(), "c1", ":get"}).out))
            .value_or(Term()) == Map("{id: 1, count: 7}"));
}

TEST_CASE(
    "relup apply: a code_change failing in the 500th of 1,000 processes mid-rollout rolls all back "
    "(exit 4, naming it) and no cast sent meanwhile is lost",
    "[cli][apply]") {
  // fail_in_node: the precheck (in the trial process) passes, the rollout fails.
  Tarballs t(1000, "{fail_id: 500, fail_in_node: true}");
  NodeRoot root;
  root.start(t.v1);
  std::atomic<bool> stop{false};
  std::atomic<bool> started{false};
  std::vector<int64_t> sent(5, 0);  // read after join
  std::thread load([&] {
    for (size_t k = 0; !stop; k = (k + 1) % sent.size()) {
      std::string name = "c" + std::to_string(k + 1);
      if (Relup({"cast", "--root", root.path(), name, "{add: 1}"}).exit_code == 0) ++sent[k];
      started = true;
    }
  });
  WaitUntil([&] { return started.load(); });

  RunResult apply = Relup({"apply", t.v2, "--root", root.path()});
  stop = true;
  load.join();

  INFO(apply.both());
  CHECK(apply.exit_code == 4);
  CHECK(Contains(apply.both(), "c500"));
  CHECK(Contains(apply.both(), "code_change"));
  CHECK(Contains(apply.both(), "stays on release 1"));
  for (size_t k = 0; k < sent.size(); ++k) {
    std::string name = "c" + std::to_string(k + 1);
    RunResult got = Relup({"call", "--root", root.path(), name, ":get"});
    INFO(got.both());
    CHECK(Term::parse(Trimmed(got.out)).value_or(Term()) ==
          Map("{id: " + std::to_string(k + 1) + ", count: " + std::to_string(sent[k]) + "}"));
  }
  RunResult state = Relup({"state", "--root", root.path(), "c500"});
  CHECK(Term::parse(Trimmed(state.out)).value_or(Term()) == Map("{id: 500, count: 0}"));
  RunResult status = Relup({"status", "--root", root.path()});
  INFO(status.out);
  CHECK(Contains(status.out, "counter 1: 1000"));
  CHECK_FALSE(Contains(status.out, "counter 2"));
}

TEST_CASE(
    "A rollout code_change that overruns its step's timeout is named while it runs: in the "
    "apply's output, in relup status and in node.log",
    "[cli][apply]") {
  ScratchDir dir;
  std::string v1 = WriteTarball(dir.path(), MakeRelease("1", {{"counter", "1"}}, Counters(1)), "");
  std::string v2 =
      WriteTarball(dir.path(), MakeRelease("2", {{"counter", "2"}}, Counters(1)),
                   CounterPlans({"counter"}, "{slow_in_node_ms: 1500}", true, /*timeout_ms=*/300));
  NodeRoot root;
  root.start(v1);
  auto apply = std::async(std::launch::async, [&] {
    return Relup({"apply", v2, "--root", root.path()});
  });
  std::string overdue;
  CHECK(WaitUntil([&] {
    RunResult status = Relup({"status", "--root", root.path()});
    if (!Contains(status.out, "overdue:")) return false;
    overdue = status.out;
    return true;
  }));
  INFO(overdue);
  CHECK(Contains(overdue, "counter's code_change on c1"));
  CHECK(Contains(overdue, "past its step's timeout of 300 ms"));

  RunResult done = apply.get();
  INFO(done.both());
  CHECK(done.exit_code == 0);
  CHECK(Contains(done.err, "relup: counter's code_change on c1"));
  CHECK(Contains(done.both(), "past the step's timeout of 300 ms"));
  CHECK_FALSE(Contains(Relup({"status", "--root", root.path()}).out, "overdue:"));
  CHECK(Contains(ReadBytes(root.file("node.log")), "upgrade: counter's code_change on c1"));
}

TEST_CASE(
    "kill -9 of the node in the middle of an apply leaves the store intact, a restart boots the "
    "permanent release, and the apply can be run again",
    "[cli][apply]") {
  Tarballs t(8, "{slow_ms: 150}");  // each code_change takes 150 ms
  NodeRoot root;
  root.start(t.v1);
  auto apply = std::async(std::launch::async, [&] {
    return Relup({"apply", t.v2, "--root", root.path(), "--json"});
  });
  // Mid-rollout: the first process already runs version 2 (its state has `total`).
  bool midway = WaitUntil(
      [&] {
        return Contains(Relup({"state", "--root", root.path(), "c1"}).out, "total");
      },
      std::chrono::seconds(30));
  REQUIRE(midway);
  root.kill_node();
  RunResult interrupted = apply.get();
  INFO(interrupted.both());
  CHECK(interrupted.exit_code != 0);
  // The request went out and no report came back: still one JSON object,
  // saying nobody here knows what the node did.
  std::string json = Trimmed(interrupted.out);
  CHECK(json.find('\n') == std::string::npos);
  CHECK(json.substr(0, 1) == "{");
  CHECK(Contains(json, "\"outcome\":\"unknown\""));
  CHECK(Contains(json, "\"step\":\"reply\""));

  auto entries = ReleaseStore::ReadFile(root.path());
  INFO(entries.status().ToString());
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 2);
  CHECK((*entries)[0].vsn == "1");
  CHECK((*entries)[0].state == ReleaseState::kPermanent);
  CHECK((*entries)[1].vsn == "2");
  CHECK((*entries)[1].state == ReleaseState::kUnpacked);

  root.start("");
  RunResult state = Relup({"state", "--root", root.path(), "c1"});
  CHECK(Term::parse(Trimmed(state.out)).value_or(Term()) == Map("{id: 1, count: 0}"));
  RunResult releases = Relup({"releases", "--root", root.path()});
  INFO(releases.both());
  CHECK(releases.exit_code == 0);

  RunResult again = Relup({"apply", t.v2, "--root", root.path()});
  INFO(again.both());
  CHECK(again.exit_code == 0);
  state = Relup({"state", "--root", root.path(), "c8"});
  CHECK(Term::parse(Trimmed(state.out)).value_or(Term()) == Map("{id: 8, total: 0}"));
}

}  // namespace
}  // namespace relup::test
