// idle_process: what an idle account server costs, the workload of
// tests/bench/otp/bench_idle.erl.
//   bytes_per_process      growth of the allocator's in-use bytes (mallinfo2,
//                          every arena) / N: process, mailbox, state, pid table.
//                          (Not RSS: after the first repetition freed memory is
//                          reused and RSS no longer grows; in a first run the
//                          two agree within a few percent.)
//   spawn_us               Node::spawn (runs init) per process, from one thread
#include "accounts.h"
#include "benches.h"

namespace relup::bench {

Result<Figures> IdleProcess(const Config& config) {
  Node node(Node::Options{config.workers, {}, {}});
  RELUP_RETURN_IF_ERROR(LoadModule(node, config, "bench_account", "1"));
  std::vector<Pid> pids;
  pids.reserve(static_cast<size_t>(config.n));  // not counted: the harness's own list
  int64_t before = HeapBytesInUse();
  int64_t t0 = NowNs();
  for (int64_t i = 0; i < config.n; ++i) {
    auto pid = node.spawn("bench_account", AccountArgs());
    if (!pid.ok()) return pid.status().WithContext("spawning account " + std::to_string(i));
    pids.push_back(*pid);
  }
  int64_t t1 = NowNs();
  int64_t after = HeapBytesInUse();
  auto n = static_cast<double>(config.n);
  return Figures{
      {config.n, "bytes_per_process", static_cast<double>(after - before) / n, "bytes"},
      {config.n, "spawn_us", static_cast<double>(t1 - t0) / 1000.0 / n, "us"},
  };
}

}  // namespace relup::bench
