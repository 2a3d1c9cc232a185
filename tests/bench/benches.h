// The relup benchmarks, one function per benchmark and repetition. Each runs
// once with a fresh node and returns its figures; bench_main.cc repeats it and
// prints the medians. Names, metrics and workload shapes match the OTP side
// (tests/bench/otp/) exactly, so the two can be compared row by row.
#pragma once

#include "bench_util.h"

namespace relup::bench {

// upgrade_rolling / upgrade_bulk (upgrade_bench.cc).
Result<Figures> UpgradeRolling(const Config& config);
Result<Figures> UpgradeBulk(const Config& config);
// request_reply (request_reply_bench.cc): n = 1 and n = config.n servers.
Result<Figures> RequestReply(const Config& config);
// idle_process (idle_bench.cc).
Result<Figures> IdleProcess(const Config& config);
// apply_end_to_end (apply_bench.cc): `relup apply` on a node started by `relup node start`.
Result<Figures> ApplyEndToEnd(const Config& config);
// build (build_bench.cc): `relup build` of a 50-module release.
Result<Figures> Build(const Config& config);
// timer_set_fire / timers_pending (timer_bench.cc): n timers set and fired one
// after another; n timers pending at once.
Result<Figures> TimerSetFire(const Config& config);
Result<Figures> TimersPending(const Config& config);
// tcp_echo (echo_bench.cc): the echo server under n connections of the load
// generator (load/echo_load.cc).
Result<Figures> TcpEcho(const Config& config);
// supervisor_restart (supervisor_bench.cc): a supervisor of n bench_account
// children; one_for_one restart latency over 1,000 kills, one_for_all's
// restart of all n after one kill.
Result<Figures> SupervisorRestart(const Config& config);

}  // namespace relup::bench
