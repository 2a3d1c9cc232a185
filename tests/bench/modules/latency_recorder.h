// LatencyRecorder: the request_reply benchmark's measuring instrument, shared
// by the harness (tests/bench/request_reply_bench.cc) and the bench_client
// module. The harness owns it and passes its address to the client process
// as an int in the spawn args; the client process is its only writer while
// it runs (the runtime hands a process from worker to worker with the
// ownership protocol, which orders those writes), and the harness reads it
// once `done` is set.
//
// Instrumentation only: a real module keeps everything in its state. Here
// the samples stay outside the state so that recording a latency costs a
// vector push_back, as the OTP client's [Latency | Acc] costs a cons cell.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

namespace relup::bench {

struct LatencyRecorder {
  int64_t deadline_ns = 0;  // steady_clock; the client stops sending after it
  int64_t sent_at_ns = 0;   // when the request in flight was sent
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  std::vector<int64_t> latencies_ns;
  // Polled by the harness, never waited on: a module keeps its own copy of
  // libstdc++'s atomic wait/notify pool (it exports nothing but its
  // descriptor), so a notify here would not wake a wait in the harness.
  std::atomic<bool> done{false};

  static int64_t NowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  // xorshift64: a uniform index in [0, n).
  uint64_t Pick(uint64_t n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
  }
};

}  // namespace relup::bench
