// request_reply: steady-state request/reply between processes inside one
// node, the workload of tests/bench/otp/bench_request_reply.erl.
//   n = 1:  one client process and one server process;
//   n = N:  2 client processes, each to a random one of N servers.
// A client (modules/client.cc) keeps one request in flight: send_request
// {add: 1}, the server's handle_call replies, the reply arrives in the
// client's handle_info, which records the round trip and sends the next.
// Each client runs for 2 s; per_sec = round trips / 2 s as on the OTP side.
#include <memory>
#include <thread>

#include "accounts.h"
#include "benches.h"
#include "latency_recorder.h"

namespace relup::bench {
namespace {

constexpr int64_t kDurationNs = 2'000'000'000;
constexpr int64_t kGiveUpNs = 30'000'000'000;

Result<Figures> Measure(const Config& config, int64_t servers, int clients) {
  Node node(Node::Options{config.workers, {}, {}});
  RELUP_RETURN_IF_ERROR(LoadModule(node, config, "bench_account", "1"));
  RELUP_RETURN_IF_ERROR(LoadModule(node, config, "bench_client", "1"));
  RELUP_ASSIGN_OR_RETURN(std::vector<Pid> pids, SpawnAccounts(node, servers));
  std::vector<Term> ids;
  ids.reserve(pids.size());
  for (Pid p : pids) ids.emplace_back(static_cast<long long>(p.id));
  Term server_list = Term::list(std::move(ids));

  std::vector<std::unique_ptr<LatencyRecorder>> recorders;
  std::vector<Pid> client_pids;
  for (int c = 0; c < clients; ++c) {
    auto rec = std::make_unique<LatencyRecorder>();
    rec->rng += static_cast<uint64_t>(c) * 0x2545F4914F6CDD1Dull;
    rec->latencies_ns.reserve(4'000'000);
    Term args = Term::map({{Term::atom("servers"), server_list},
                           {Term::atom("recorder"),
                            Term(static_cast<long long>(reinterpret_cast<intptr_t>(rec.get())))}});
    RELUP_ASSIGN_OR_RETURN(Pid pid, node.spawn("bench_client", args));
    client_pids.push_back(pid);
    recorders.push_back(std::move(rec));
  }
  int64_t deadline = NowNs() + kDurationNs;
  for (auto& rec : recorders) rec->deadline_ns = deadline;
  for (Pid pid : client_pids) RELUP_RETURN_IF_ERROR(node.cast(pid, Term::atom("go")));
  // Polled, not waited on: a client that dies never sets `done`.
  for (size_t c = 0; c < recorders.size(); ++c) {
    while (!recorders[c]->done.load(std::memory_order_acquire)) {
      if (NowNs() > deadline + kGiveUpNs) {
        auto st = node.get_status(client_pids[c]);
        return Status::Internal(
            "client " + client_pids[c].to_string() + " did not finish (" +
            (st.ok() ? "still alive, " + std::to_string(st->queue_length) + " queued"
                     : st.status().ToString()) +
            ", " + std::to_string(recorders[c]->latencies_ns.size()) + " round trips)");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  std::vector<double> latencies_us;
  for (auto& rec : recorders) {
    for (int64_t ns : rec->latencies_ns) latencies_us.push_back(static_cast<double>(ns) / 1000.0);
  }
  // Every client ended by its own choice, so none of them crashed mid-way.
  for (Pid pid : client_pids) {
    auto st = node.get_status(pid);
    if (!st.ok()) return st.status().WithContext("a client process ended early");
  }
  return Figures{
      {servers, "per_sec", static_cast<double>(latencies_us.size()) / (kDurationNs / 1e9),
       "calls/s"},
      {servers, "p50_us", Percentile(latencies_us, 50), "us"},
      {servers, "p99_us", Percentile(latencies_us, 99), "us"},
  };
}

}  // namespace

Result<Figures> RequestReply(const Config& config) {
  RELUP_ASSIGN_OR_RETURN(Figures one, Measure(config, 1, 1));
  RELUP_ASSIGN_OR_RETURN(Figures many, Measure(config, config.n, 2));
  one.insert(one.end(), many.begin(), many.end());
  return one;
}

}  // namespace relup::bench
