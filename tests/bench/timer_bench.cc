// timer_set_fire and timers_pending: what a timer costs, the workloads of
// tests/bench/otp/bench_timer.erl. Both run one bench_timer process
// (modules/timer.cc) on a fresh node.
//
// timer_set_fire (n timers, 5,000 from run.sh): the process starts a 0 ms
// timer to itself, handles its message, starts the next, n times; the module
// times the whole chain from inside (first send_after to the last message
// handled).
//   ns_per_timer     that time / n: one ProcessContext::send_after plus its
//                    firing, the message's delivery and one handle_info
//   cpu_ns_per_timer CPU time of this whole process (every thread) over the
//                    chain / n. (OTP's wall figure is mostly waiting: its
//                    0 ms timer fires on the next 1 ms tick of its timer
//                    wheel; this one says what the timer costs in CPU.)
//
// timers_pending (n timers, 1,000,000 from run.sh): the process starts n
// timers of one hour in one callback; they stay pending while measured.
//   start_ms         the time the n send_after calls took (timed inside)
//   bytes_per_timer  growth of the allocator's in-use bytes (mallinfo2, every
//                    arena) / n, around the call
//   rss_bytes_per_timer  growth of the process's RSS / n: the pages touched,
//                    including vector capacity not yet used. Later
//                    repetitions may reuse pages an earlier one freed, so
//                    this can read lower than in a first run.
// Node::io_stats() must count exactly n timers, or the repetition fails.
#include "accounts.h"
#include "benches.h"

namespace relup::bench {
namespace {

constexpr int64_t kPendingDelayMs = 3'600'000;  // one hour: none fires while measured
constexpr Millis kCallTimeout{600'000};

Term Int(int64_t v) {
  return Term(static_cast<long long>(v));
}

Result<int64_t> PendingTimers(const Node& node) {
  Term stats = node.io_stats();
  const Term* timers = stats.find("timers");
  if (timers == nullptr || !timers->is_int()) {
    return Status::Internal("Node::io_stats() has no timer count: " + stats.to_yaml());
  }
  return timers->as_int();
}

}  // namespace

Result<Figures> TimerSetFire(const Config& config) {
  Node node(Node::Options{config.workers, {}, {}});
  RELUP_RETURN_IF_ERROR(LoadModule(node, config, "bench_timer", "1"));
  RELUP_ASSIGN_OR_RETURN(Pid pid, node.spawn("bench_timer", Term()));
  int64_t cpu0 = ProcessCpuNs();
  auto elapsed = node.call(pid, Term::map({{Term::atom("ticks"), Int(config.n)}}), kCallTimeout);
  int64_t cpu1 = ProcessCpuNs();
  if (!elapsed.ok()) return elapsed.status().WithContext("the timer chain");
  RELUP_ASSIGN_OR_RETURN(int64_t left, PendingTimers(node));
  if (left != 0) return Status::Internal(std::to_string(left) + " timers pending after the chain");
  return Figures{
      {config.n, "ns_per_timer", static_cast<double>(elapsed->as_int()) / config.n, "ns"},
      {config.n, "cpu_ns_per_timer", static_cast<double>(cpu1 - cpu0) / config.n, "ns"},
  };
}

Result<Figures> TimersPending(const Config& config) {
  Node node(Node::Options{config.workers, {}, {}});
  RELUP_RETURN_IF_ERROR(LoadModule(node, config, "bench_timer", "1"));
  RELUP_ASSIGN_OR_RETURN(Pid pid, node.spawn("bench_timer", Term()));
  Term request = Term::map(
      {{Term::atom("pending"), Int(config.n)}, {Term::atom("delay_ms"), Int(kPendingDelayMs)}});
  int64_t heap0 = HeapBytesInUse();
  int64_t rss0 = RssBytes();
  auto elapsed = node.call(pid, request, kCallTimeout);
  int64_t heap1 = HeapBytesInUse();
  int64_t rss1 = RssBytes();
  if (!elapsed.ok()) return elapsed.status().WithContext("starting the timers");
  RELUP_ASSIGN_OR_RETURN(int64_t pending, PendingTimers(node));
  if (pending != config.n) {
    return Status::Internal("Node::io_stats() counts " + std::to_string(pending) +
                            " timers, not the " + std::to_string(config.n) + " started");
  }
  auto n = static_cast<double>(config.n);
  return Figures{
      {config.n, "bytes_per_timer", static_cast<double>(heap1 - heap0) / n, "bytes"},
      {config.n, "rss_bytes_per_timer", static_cast<double>(rss1 - rss0) / n, "bytes"},
      {config.n, "start_ms", static_cast<double>(elapsed->as_int()) / 1e6, "ms"},
  };
}

}  // namespace relup::bench
