// Upgrading many live processes one at a time while clients keep talking to
// them: nothing is lost, and no process ever runs new code on its old state.
//
// rt_counter 1 keeps {count: N}, rt_counter 2 keeps {total: N}, and each
// version throws on the other's state shape. So a process that ran v2 code
// before its own change_code (or v1 code after it) would crash: its caller
// would get an error, and the process would vanish from the final count.
#include <atomic>
#include <catch2/catch.hpp>
#include <random>
#include <thread>
#include <vector>

#include "relup/node.h"
#include "runtime_test_util.h"

using namespace relup;
using relup::test::TestModule;
using relup::test::TestNode;

TEST_CASE("10,000 processes upgraded one by one under client load lose no increment") {
  constexpr int kProcesses = 10000;
  constexpr int kClients = 2;
  TestNode node({TestModule("rt_counter-1.so")});
  std::vector<Pid> pids;
  pids.reserve(kProcesses);
  for (int i = 0; i < kProcesses; ++i) {
    auto pid = node->spawn("rt_counter", Term(0));
    REQUIRE(pid.ok());
    pids.push_back(*pid);
  }
  node.load(TestModule("rt_counter-2.so"));

  std::vector<std::atomic<int64_t>> sent(kProcesses);
  std::atomic<bool> upgrading{true};
  std::atomic<int> client_errors{0};
  std::atomic<int64_t> calls{0};
  std::vector<std::string> first_error(kClients);
  const Term inc = Term::map({{Term::atom("inc"), Term(1)}});

  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 rng(static_cast<unsigned>(c) + 1);
      for (uint64_t n = 0; upgrading.load(std::memory_order_relaxed); ++n) {
        size_t i = rng() % kProcesses;
        Status s = n % 2 == 0 ? node->call(pids[i], inc).status() : node->cast(pids[i], inc);
        if (!s.ok()) {
          if (client_errors.fetch_add(1) == 0) first_error[c] = s.ToString();
          continue;
        }
        sent[i].fetch_add(1, std::memory_order_relaxed);
        calls.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }

  for (Pid pid : pids) {
    Status s = node->suspend(pid);
    if (s.ok()) s = node->change_code(pid, "rt_counter", Term("1"), Term());
    Status r = node->resume(pid);
    INFO(pid.to_string() + ": " + s.ToString() + " / " + r.ToString());
    REQUIRE(s.ok());
    REQUIRE(r.ok());
  }
  upgrading = false;
  for (auto& t : clients) t.join();

  INFO(first_error[0] + first_error[1]);
  CHECK(client_errors.load() == 0);
  CHECK(calls.load() > 0);
  CHECK_FALSE(node.log.contains("code ran on a state"));
  CHECK(node->processes_running("rt_counter", "1").empty());
  CHECK(node->processes_running("rt_counter", "2").size() == kProcesses);
  // Every cast was pushed before this call (same mailbox, FIFO), so each
  // count is final.
  int64_t mismatches = 0;
  for (int i = 0; i < kProcesses; ++i) {
    auto total = node->call(pids[i], Term::atom("get"));
    if (!total.ok() || *total != Term(static_cast<long long>(sent[i].load()))) ++mismatches;
  }
  CHECK(mismatches == 0);
}
