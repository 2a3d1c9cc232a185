// upgrade_rolling and upgrade_bulk: N account servers move from version 1
// ({name, money}) to version 2 ({name, salary}) while 2 client threads keep
// casting {add: 1} to random servers at 50,000 casts/s each — the workload of
// tests/bench/otp/bench_upgrade.erl.
//
// rolling: load version 2, then for each process suspend -> change_code ->
//          resume, one after another. A relup process keeps running the
//          version it runs until its own change_code, so processes not yet
//          migrated go on working (in OTP they crash).
// bulk:    OTP release_handler's order: suspend all, load, change_code all,
//          resume all.
//
// pause = from the start of a process's suspend to the end of its resume.
// lost = casts sent - increments found in the final states (read with a call
// queued behind every cast). crashed = processes that died. cpu_ms = CPU time
// of the thread that runs the upgrade: set against total_ms it shows how much
// of the wall time that thread waited (for processes busy with a message, or
// for a core on a loaded machine).
#include <atomic>
#include <thread>

#include "accounts.h"
#include "benches.h"

namespace relup::bench {
namespace {

constexpr int kClients = 2;
constexpr int64_t kRatePerClient = 50000;  // casts/s, as the OTP side
constexpr int64_t kMaxBatch = 1000;

enum class Mode { kRolling, kBulk };

// Casts {add: 1} to random accounts at a steady rate, catching up after a
// stall, until told to stop. Counts every cast it makes.
class LoadClients {
 public:
  LoadClients(Node& node, const std::vector<Pid>& pids) : node_(node), pids_(pids) {
    for (int i = 0; i < kClients; ++i) {
      threads_.emplace_back(
          [this, i] { Run(0x9E3779B97F4A7C15ull * static_cast<uint64_t>(i + 1)); });
    }
  }
  ~LoadClients() { Stop(); }

  void Stop() {
    stop_.store(true);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int64_t sent() const { return sent_.load(); }

 private:
  void Run(uint64_t rng) {
    const Term message = Term::map({{Term::atom("add"), Term(1)}});
    const int64_t start = NowNs();
    int64_t sent = 0;
    while (!stop_.load(std::memory_order_relaxed)) {
      int64_t due = (NowNs() - start) * kRatePerClient / 1000000000 - sent;
      int64_t batch = std::min(due, kMaxBatch);
      if (batch <= 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      for (int64_t k = 0; k < batch; ++k) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        // A cast to a process that died is lost like any other; it is counted.
        (void)node_.cast(pids_[rng % pids_.size()], message);
      }
      sent += batch;
      sent_.fetch_add(batch);
    }
  }

  Node& node_;
  const std::vector<Pid>& pids_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> sent_{0};
  std::vector<std::thread> threads_;
};

bool Died(const Status& s) {
  return s.code() == StatusCode::kProcessExited || s.code() == StatusCode::kNotFound;
}

Status ChangeCode(Node& node, Pid pid) {
  static const Term kFromVsn("1");
  return node.change_code(pid, "bench_account", kFromVsn, Term(), "2");
}

// The context is built only on failure: formatting a pid per process would
// be a cost of the benchmark, not of the upgrade.
Status Step(const Status& s, const char* step, Pid pid) {
  return s.ok() ? s : s.WithContext(std::string(step) + " " + pid.to_string());
}

// Pauses in microseconds of the processes upgraded (those alive at their turn).
Result<std::vector<double>> Upgrade(Mode mode, Node& node, const Config& config,
                                    const std::vector<Pid>& pids) {
  std::vector<double> pauses;
  pauses.reserve(pids.size());
  if (mode == Mode::kRolling) {
    RELUP_RETURN_IF_ERROR(LoadModule(node, config, "bench_account", "2"));
    for (Pid pid : pids) {
      int64_t t = NowNs();
      Status s = node.suspend(pid);
      if (Died(s)) continue;
      RELUP_RETURN_IF_ERROR(Step(s, "suspend", pid));
      RELUP_RETURN_IF_ERROR(Step(ChangeCode(node, pid), "change_code", pid));
      RELUP_RETURN_IF_ERROR(Step(node.resume(pid), "resume", pid));
      pauses.push_back(static_cast<double>(NowNs() - t) / 1000.0);
    }
    return pauses;
  }
  std::vector<int64_t> starts(pids.size(), 0);
  std::vector<bool> suspended(pids.size(), false);
  for (size_t i = 0; i < pids.size(); ++i) {
    starts[i] = NowNs();
    Status s = node.suspend(pids[i]);
    if (Died(s)) continue;
    RELUP_RETURN_IF_ERROR(Step(s, "suspend", pids[i]));
    suspended[i] = true;
  }
  RELUP_RETURN_IF_ERROR(LoadModule(node, config, "bench_account", "2"));
  for (size_t i = 0; i < pids.size(); ++i) {
    if (!suspended[i]) continue;
    RELUP_RETURN_IF_ERROR(Step(ChangeCode(node, pids[i]), "change_code", pids[i]));
  }
  for (size_t i = 0; i < pids.size(); ++i) {
    if (!suspended[i]) continue;
    RELUP_RETURN_IF_ERROR(Step(node.resume(pids[i]), "resume", pids[i]));
    pauses.push_back(static_cast<double>(NowNs() - starts[i]) / 1000.0);
  }
  return pauses;
}

Result<Figures> Run(Mode mode, const Config& config) {
  Node node(Node::Options{config.workers, {}, {}});
  RELUP_RETURN_IF_ERROR(LoadModule(node, config, "bench_account", "1"));
  RELUP_ASSIGN_OR_RETURN(std::vector<Pid> pids, SpawnAccounts(node, config.n));

  LoadClients clients(node, pids);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // clients reach steady state
  int64_t before = clients.sent();
  int64_t t0 = NowNs();
  int64_t cpu0 = ThreadCpuNs();
  auto pauses = Upgrade(mode, node, config, pids);
  int64_t cpu1 = ThreadCpuNs();
  int64_t t1 = NowNs();
  int64_t during = clients.sent() - before;
  clients.Stop();
  if (!pauses.ok()) return pauses.status();

  // A call is queued behind every cast sent to that process, so its reply
  // is the state once they have all been handled.
  int64_t gained = 0, crashed = 0, not_migrated = 0;
  for (Pid pid : pids) {
    auto state = node.call(pid, Term::atom("get"), std::chrono::seconds(60));
    if (!state.ok()) {
      if (!Died(state.status())) return state.status().WithContext("reading the final states");
      ++crashed;
      continue;
    }
    RELUP_ASSIGN_OR_RETURN(int64_t balance, Balance(*state));
    gained += balance - kInitialMoney;
    if (!state->contains("salary")) ++not_migrated;
  }
  if (not_migrated > 0) {
    return Status::Internal(std::to_string(not_migrated) +
                            " live processes still hold version 1 state after the upgrade");
  }
  const std::vector<double>& p = *pauses;
  double max_pause = p.empty() ? 0 : *std::max_element(p.begin(), p.end());
  int64_t n = config.n;
  return Figures{
      {n, "total_ms", static_cast<double>(t1 - t0) / 1e6, "ms"},
      {n, "pause_p50_us", Percentile(p, 50), "us"},
      {n, "pause_p99_us", Percentile(p, 99), "us"},
      {n, "pause_max_us", max_pause, "us"},
      {n, "requests_during", static_cast<double>(during), "requests"},
      {n, "lost", static_cast<double>(clients.sent() - gained), "requests"},
      {n, "crashed", static_cast<double>(crashed), "processes"},
      {n, "cpu_ms", static_cast<double>(cpu1 - cpu0) / 1e6, "ms"},
  };
}

}  // namespace

Result<Figures> UpgradeRolling(const Config& config) {
  return Run(Mode::kRolling, config);
}
Result<Figures> UpgradeBulk(const Config& config) {
  return Run(Mode::kBulk, config);
}

}  // namespace relup::bench
