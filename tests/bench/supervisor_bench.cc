// supervisor_restart: how long a supervised restart takes, the workload of
// tests/bench/otp/bench_supervisor.erl. Each repetition runs two supervisors
// (the built-in module "supervisor", intensity 1,000,000 in 5,000 ms, so
// the kills never exhaust it), one after the other, each on a fresh node
// with n children (1,000 from run.sh): bench_account servers
// (modules/account.cc) registered as worker_0 .. worker_N-1, permanent,
// shutdown 5000 ms.
//
// one_for_one: 1,000 kills, one at a time, cycling through the children:
// Node::send_exit(pid, :kill) (untrappable), then the benchmark thread polls
// Node::whereis(name) until the name points to a new pid, and calls that pid
// once (:get). One latency per kill, from just before send_exit to the
// call's reply.
//   restart_us_p50   nearest-rank median of those latencies (Percentile)
//   restart_us_p99   their nearest-rank 99th percentile
// one_for_all: one kill (worker_0); the supervisor stops the other n - 1
// children (last first, each :shutdown and its exit awaited) and starts all
// n again in order. Timed from just before send_exit until every name points
// to a new pid (polled in start order) and the last child started has
// answered one call.
//   restart_all_ms   that time (one per repetition; run.sh prints the median)
//
// Polling: each look is one Node::whereis from the benchmark thread, which
// yields its core between looks (std::this_thread::yield: on 2 cores it
// shares them with the workers), so a figure includes up to one look and
// one yield after the name was registered. A call that finds no process
// behind a pid whereis just gave is tried again while the name still points
// to it (AnswersOnce), and the number of such tries is printed on stderr: it
// must be 0 since the runtime puts a process in its table before its name
// (it registered the name first, and this benchmark found it).
//
// A repetition fails if the supervisor's count of restarts (:info) is not
// exactly the kills' (1,000 one_for_one restarts; n restarts for
// one_for_all's one kill), or if a name does not come back within 10 s. The
// node's log goes nowhere, as OTP's side silences its logger: each kill
// logs the child's end as an error.
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "accounts.h"
#include "benches.h"

namespace relup::bench {
namespace {

constexpr int64_t kKills = 1000;
constexpr int64_t kIntensity = 1'000'000;
constexpr int64_t kPeriodMs = 5000;
constexpr int64_t kShutdownMs = 5000;
constexpr int64_t kGiveUpNs = 10'000'000'000;

Term A(const char* name) {
  return Term::atom(name);
}

std::string WorkerName(int64_t i) {
  return "worker_" + std::to_string(i);
}

Term SupervisorArgs(const char* strategy, int64_t n) {
  std::vector<Term> children;
  children.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    std::string name = WorkerName(i);
    children.push_back(Term::map({{A("id"), Term::atom(name)},
                                  {A("module"), A("bench_account")},
                                  {A("args"), AccountArgs()},
                                  {A("name"), Term(name)},
                                  {A("restart"), A("permanent")},
                                  {A("shutdown"), Term(static_cast<long long>(kShutdownMs))}}));
  }
  return Term::map({{A("strategy"), A(strategy)},
                    {A("intensity"), Term(static_cast<long long>(kIntensity))},
                    {A("period_ms"), Term(static_cast<long long>(kPeriodMs))},
                    {A("children"), Term::list(std::move(children))}});
}

// A fresh node running the supervisor with n children; their pids by index.
struct Supervised {
  std::unique_ptr<Node> node;
  Pid supervisor;
  std::vector<std::string> names;
  std::vector<Pid> pids;
};

Result<Supervised> StartSupervised(const Config& config, const char* strategy) {
  Supervised s;
  // Every kill is logged as an error (the child's end) and every restart at
  // info level (the supervisor's); none of it is printed, as OTP's side
  // silences its logger (bench_util:quiet_logger). The lines are still made.
  s.node =
      std::make_unique<Node>(Node::Options{config.workers, {}, [](LogLevel, std::string_view) {}});
  RELUP_RETURN_IF_ERROR(LoadModule(*s.node, config, "bench_account", "1"));
  auto sup = s.node->spawn("supervisor", SupervisorArgs(strategy, config.n));
  if (!sup.ok()) {
    return sup.status().WithContext(std::string("starting the ") + strategy + " supervisor");
  }
  s.supervisor = *sup;
  for (int64_t i = 0; i < config.n; ++i) {
    s.names.push_back(WorkerName(i));
    RELUP_ASSIGN_OR_RETURN(Pid pid, s.node->whereis(s.names.back()));
    s.pids.push_back(pid);
  }
  return s;
}

// Polls until `name` is registered to a pid other than `old`.
Result<Pid> AwaitNew(const Node& node, const std::string& name, Pid old, int64_t give_up_ns) {
  for (;;) {
    auto pid = node.whereis(name);
    if (pid.ok() && *pid != old) return *pid;
    if (NowNs() > give_up_ns) {
      return Status::Internal(name + " was not restarted within 10 s (" +
                              (pid.ok() ? "still " + pid->to_string() : pid.status().ToString()) +
                              ")");
    }
    std::this_thread::yield();
  }
}

// Calls the restarted child once. Node::spawn registers a process's name a
// moment before it enters the process table (runtime/src/runtime/
// spawn_call.cc: registry_.add, then table_.insert), so a pid just read
// through whereis can be one that Node::call does not find yet (NotFound,
// "no process ... (it may have exited)"). While the name still points to
// that pid, the call is tried again, inside the timed span; `early` counts
// those tries.
Status AnswersOnce(Node& node, const std::string& name, Pid pid, int64_t give_up_ns,
                   int64_t& early) {
  for (;;) {
    auto r = node.call(pid, A("get"));
    if (r.ok()) {
      if (!r->is_map()) return Status::Internal("a restarted account replied " + r->to_yaml());
      return Status();
    }
    auto holder = node.whereis(name);
    if (r.status().code() != StatusCode::kNotFound || !holder.ok() || *holder != pid ||
        NowNs() > give_up_ns) {
      return r.status().WithContext("calling the restarted " + name + " " + pid.to_string());
    }
    ++early;
    std::this_thread::yield();
  }
}

// The supervisor's own count of restarts must be `expected`.
Status CheckRestarts(Node& node, Pid supervisor, int64_t expected) {
  RELUP_ASSIGN_OR_RETURN(Term info, node.call(supervisor, A("info")));
  const Term* ok = info.find("ok");
  const Term* restarts = ok != nullptr ? ok->find("restarts") : nullptr;
  if (restarts == nullptr || !restarts->is_int()) {
    return Status::Internal("the supervisor's info has no restart count: " + info.to_yaml());
  }
  if (restarts->as_int() != expected) {
    return Status::Internal("the supervisor counts " + std::to_string(restarts->as_int()) +
                            " restarts, not " + std::to_string(expected));
  }
  return Status();
}

Result<std::vector<double>> OneForOne(const Config& config, int64_t& early) {
  RELUP_ASSIGN_OR_RETURN(Supervised s, StartSupervised(config, "one_for_one"));
  std::vector<double> latencies_us;
  latencies_us.reserve(kKills);
  for (int64_t k = 0; k < kKills; ++k) {
    auto i = static_cast<size_t>(k % config.n);
    Pid old = s.pids[i];
    int64_t t0 = NowNs();
    RELUP_RETURN_IF_ERROR(s.node->send_exit(old, A("kill")));
    RELUP_ASSIGN_OR_RETURN(Pid fresh, AwaitNew(*s.node, s.names[i], old, t0 + kGiveUpNs));
    RELUP_RETURN_IF_ERROR(AnswersOnce(*s.node, s.names[i], fresh, t0 + kGiveUpNs, early));
    latencies_us.push_back(static_cast<double>(NowNs() - t0) / 1e3);
    s.pids[i] = fresh;
  }
  RELUP_RETURN_IF_ERROR(CheckRestarts(*s.node, s.supervisor, kKills));
  return latencies_us;
}

Result<double> OneForAll(const Config& config, int64_t& early) {
  RELUP_ASSIGN_OR_RETURN(Supervised s, StartSupervised(config, "one_for_all"));
  int64_t t0 = NowNs();
  RELUP_RETURN_IF_ERROR(s.node->send_exit(s.pids[0], A("kill")));
  Pid last;
  for (size_t i = 0; i < s.names.size(); ++i) {
    RELUP_ASSIGN_OR_RETURN(last, AwaitNew(*s.node, s.names[i], s.pids[i], t0 + kGiveUpNs));
  }
  RELUP_RETURN_IF_ERROR(AnswersOnce(*s.node, s.names.back(), last, t0 + kGiveUpNs, early));
  int64_t t1 = NowNs();
  RELUP_RETURN_IF_ERROR(CheckRestarts(*s.node, s.supervisor, config.n));
  return static_cast<double>(t1 - t0) / 1e6;
}

}  // namespace

Result<Figures> SupervisorRestart(const Config& config) {
  int64_t early = 0;
  RELUP_ASSIGN_OR_RETURN(std::vector<double> latencies_us, OneForOne(config, early));
  RELUP_ASSIGN_OR_RETURN(double all_ms, OneForAll(config, early));
  if (early > 0) {
    std::cerr << "relup_bench supervisor_restart: " << early
              << " call(s) to a just-registered child found no process behind its pid and were "
                 "tried again (Node::spawn registers the name before the process is in the "
                 "table)\n";
  }
  return Figures{
      {config.n, "restart_us_p50", Percentile(latencies_us, 50), "us"},
      {config.n, "restart_us_p99", Percentile(latencies_us, 99), "us"},
      {config.n, "restart_all_ms", all_ms, "ms"},
  };
}

}  // namespace relup::bench
