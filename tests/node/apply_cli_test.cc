// `relup apply` through the real binary against a real node process: a
// rollback mid-rollout under client load, and kill -9 in the middle of an
// apply. Tarballs are made in-process from the test counter modules.
#include <atomic>
#include <future>
#include <thread>

#include "apply_fixture.h"
#include "cli_harness.h"
#include "node/release_store.h"

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
    "relup apply: a code_change failing in the 500th of 1,000 processes mid-rollout rolls all back "
    "(exit 4, naming it) and no cast sent meanwhile is lost",
    "[cli][apply]") {
  // fail_attempt 2: the precheck passes, the rollout fails.
  Tarballs t(1000, "{fail_id: 500, fail_attempt: 2}");
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
    "kill -9 of the node in the middle of an apply leaves the store intact, a restart boots the "
    "permanent release, and the apply can be run again",
    "[cli][apply]") {
  Tarballs t(8, "{slow_ms: 150}");  // each code_change takes 150 ms
  NodeRoot root;
  root.start(t.v1);
  auto apply = std::async(std::launch::async, [&] {
    return Relup({"apply", t.v2, "--root", root.path()});
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
  CHECK(interrupted.exit_code != 0);

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
