// Pause measurements for the README (hidden: run with
//   node_tests "[perf]" -s
// in a release build). Nothing here is asserted about speed.
#include <atomic>
#include <iostream>
#include <thread>

#include "apply_fixture.h"

namespace relup::test {
namespace {

void Measure(size_t processes, bool with_down_path, bool under_load) {
  UpgradeFixture f;
  f.Load("counter", "1");
  f.Install("counter", "2");
  std::vector<Pid> pids = f.Spawn("counter", static_cast<int>(processes));
  PlanSet plans = Plans(CounterPlans({"counter"}, "~", with_down_path));
  Release r2 = MakeRelease("2", {{"counter", "2"}});
  std::atomic<bool> stop{false};
  std::thread load;
  if (under_load) {
    // Parsed on the test's thread: Catch2 assertions (inside Map) are not thread-safe.
    load = std::thread([&, add = Map("{add: 1}")] {
      for (size_t i = 0; !stop; i = (i + 1) % pids.size()) (void)f.node().cast(pids[i], add);
    });
  }
  UpgradeReport report = f.Run(plans.up[0], r2, with_down_path ? &plans.down[0] : nullptr);
  stop = true;
  if (load.joinable()) load.join();
  REQUIRE(report.outcome == UpgradeOutcome::kOk);
  std::cout << processes << " processes, " << (with_down_path ? "per process" : "one held group")
            << (under_load ? ", under cast load" : ", idle") << ": pause p50 "
            << report.pause.p50_us << " us, p99 " << report.pause.p99_us << " us, max "
            << report.pause.max_us << " us; total " << report.total_ms << " ms\n";
}

TEST_CASE("Pause per process during an upgrade of 1,000 and 10,000 processes", "[.][perf]") {
  for (size_t n : {1000, 10000}) {
    for (bool load : {false, true}) {
      Measure(n, /*with_down_path=*/true, load);
      Measure(n, /*with_down_path=*/false, load);
    }
  }
}

}  // namespace
}  // namespace relup::test
