// `relup node start` waits for as long as the boot keeps moving: --timeout
// bounds the time without progress (a module load or a process's init), not
// the whole boot. A boot that stops moving is reported with the step it is
// stuck at, so the user knows which init to look at.
#include <chrono>

#include "apply_fixture.h"
#include "cli_harness.h"

namespace relup::test {
namespace {

using Clock = std::chrono::steady_clock;

// counters c1..cN whose init takes `init_ms` each.
std::vector<ReleaseProcess> SlowCounters(int n, int init_ms) {
  std::vector<ReleaseProcess> procs = Counters(n);
  for (ReleaseProcess& p : procs) p.args = p.args.put("init_sleep_ms", Term(init_ms));
  return procs;
}

}  // namespace

TEST_CASE("a boot longer than --timeout that keeps making progress starts", "[cli][node]") {
  ScratchDir dir;
  std::string tarball =
      WriteTarball(dir.path(), MakeRelease("1", {{"counter", "1"}}, SlowCounters(8, 250)), "");
  NodeRoot root;
  auto t0 = Clock::now();
  RunResult r =
      Relup({"node", "start", "--root", root.path(), "--release", tarball, "--timeout", "1000"});
  INFO(r.both());
  REQUIRE(r.exit_code == 0);
  CHECK(Clock::now() - t0 >= std::chrono::milliseconds(2000));  // 8 inits of 250 ms
  RunResult state = Relup({"call", "--root", root.path(), "c8", ":get"});
  CHECK(state.exit_code == 0);
  CHECK(Contains(state.out, "id: 8"));
}

TEST_CASE("a boot stuck in an init is reported after --timeout, naming the step",
          "[cli][node]") {
  ScratchDir dir;
  std::vector<ReleaseProcess> procs = Counters(2);
  procs[1].args = procs[1].args.put("init_sleep_ms", Term(600000));  // c2 never finishes init
  std::string tarball = WriteTarball(dir.path(), MakeRelease("1", {{"counter", "1"}}, procs), "");
  NodeRoot root;
  RunResult r =
      Relup({"node", "start", "--root", root.path(), "--release", tarball, "--timeout", "1500"});
  INFO(r.both());
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.err, "made no progress for 1500 ms while starting"));
  CHECK(Contains(r.err, "stuck at step 4 of 4: starting counter as c2"));
  pid_t pid = root.node_pid();
  CHECK(pid > 0);
  CHECK(Contains(r.err, "kill -9 " + std::to_string(pid)));
  root.kill_node();
}

}  // namespace relup::test
