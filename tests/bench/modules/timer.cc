// bench_timer: the process of the timer benchmarks (tests/bench/timer_bench.cc),
// the twin of the loops in tests/bench/otp/bench_timer.erl.
//
//   call {ticks: N}          timer_set_fire: starts a 0 ms timer to itself
//                            whose message is N; each time one fires (message
//                            K, in handle_info) it starts the next one with
//                            K - 1, until the one with 1 has fired; then it
//                            replies the elapsed ns (noreply until then).
//                            N timers set and fired, one at a time.
//   call {pending: N, delay_ms: D}
//                            timers_pending: starts N timers of D ms (message
//                            :never) in this one callback and replies the ns it
//                            took; the timers stay pending until the process ends.
//
// The count travels in the timer's message (an int, no allocation) and the
// state changes only at the start and the end of a run, so each tick costs
// the timer and the message, not a state update; the OTP loop likewise
// carries its count in an argument.
#include <chrono>

#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::MessageOutcome;
using relup::Result;
using relup::Term;

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Term Int(int64_t v) {
  return Term(static_cast<long long>(v));
}

}  // namespace

class BenchTimer : public relup::Server {
 public:
  Term init(const Term&) { return Term(); }

  Result<CallOutcome> handle_call(const Term& request, const From& from, Term& state) {
    if (const Term* ticks = request.find("ticks")) {
      if (ticks->as_int() < 1) return error("ticks needs a count of 1 or more");
      // Who to answer once the last tick fired, and since when.
      state = Term::map({{Term::atom("caller"), Int(static_cast<int64_t>(from.caller))},
                         {Term::atom("tag"), Int(static_cast<int64_t>(from.tag))},
                         {Term::atom("t0"), Int(NowNs())}});
      auto timer = ctx().send_after(0, *ticks);
      if (!timer.ok()) return timer.status();
      return noreply();
    }
    if (const Term* pending = request.find("pending")) {
      int64_t n = pending->as_int();
      int64_t delay_ms = request.at("delay_ms").as_int();
      const Term never = Term::atom("never");
      int64_t t0 = NowNs();
      for (int64_t i = 0; i < n; ++i) {
        auto timer = ctx().send_after(delay_ms, never);
        if (!timer.ok()) return timer.status();
      }
      return reply(Int(NowNs() - t0));
    }
    return error("bench_timer answers {ticks: N} or {pending: N, delay_ms: D}, not " +
                 request.to_yaml());
  }

  Result<MessageOutcome> handle_info(const Term& message, Term& state) {
    int64_t left = message.as_int();
    if (left > 1) {
      auto timer = ctx().send_after(0, Int(left - 1));
      if (!timer.ok()) return timer.status();
      return cont();
    }
    From from;
    from.caller = static_cast<uint64_t>(state.at("caller").as_int());
    from.tag = static_cast<uint64_t>(state.at("tag").as_int());
    ctx().reply(from, Int(NowNs() - state.at("t0").as_int()));
    state = Term();
    return cont();
  }
};

RELUP_MODULE(bench_timer, "1", BenchTimer)
