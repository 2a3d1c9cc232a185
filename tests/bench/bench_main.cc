// relup_bench: the relup side of the benchmarks against Erlang/OTP.
//
//   relup_bench BENCH [N] [--reps R] [--workers W] [--modules DIR] [--relup BIN] [--work DIR]
//               [--example-modules DIR] [--echo-load BIN]
//
// Prints one JSON row per figure on stdout (the median over R repetitions);
// progress and errors go to stderr. tests/bench/run.sh runs it next to
// tests/bench/otp/run_otp.sh and merges both into one table.
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>

#include "benches.h"

namespace {

using relup::Result;
using relup::bench::Config;
using relup::bench::Figures;

const std::map<std::string, std::function<Result<Figures>(const Config&)>>& Benches() {
  static const std::map<std::string, std::function<Result<Figures>(const Config&)>> kBenches = {
      {"upgrade_rolling", relup::bench::UpgradeRolling},
      {"upgrade_bulk", relup::bench::UpgradeBulk},
      {"request_reply", relup::bench::RequestReply},
      {"idle_process", relup::bench::IdleProcess},
      {"apply_end_to_end", relup::bench::ApplyEndToEnd},
      {"build", relup::bench::Build},
      {"timer_set_fire", relup::bench::TimerSetFire},
      {"timers_pending", relup::bench::TimersPending},
      {"tcp_echo", relup::bench::TcpEcho},
      {"supervisor_restart", relup::bench::SupervisorRestart},
  };
  return kBenches;
}

int Usage(const std::string& why) {
  std::cerr << "relup_bench: " << why
            << "\nusage: relup_bench BENCH [N] [--reps R] [--workers W] [--modules DIR] "
               "[--relup BIN] [--work DIR]\n       [--example-modules DIR] [--echo-load BIN]\n"
               "benches:";
  for (const auto& [name, fn] : Benches()) std::cerr << " " << name;
  std::cerr << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage("no benchmark named");
  std::string bench = argv[1];
  auto it = Benches().find(bench);
  if (it == Benches().end()) return Usage("unknown benchmark '" + bench + "'");

  Config config;
  config.module_dir = RELUP_BENCH_MODULE_DIR;
  config.relup_bin = RELUP_BIN;
  config.example_module_dir = RELUP_EXAMPLE_MODULE_DIR;
  config.echo_load_bin = RELUP_ECHO_LOAD_BIN;
  std::string work;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        Usage(arg + " needs a value");
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (arg == "--reps") {
        config.reps = std::stoi(value());
      } else if (arg == "--workers") {
        config.workers = static_cast<unsigned>(std::stoul(value()));
      } else if (arg == "--modules") {
        config.module_dir = value();
      } else if (arg == "--relup") {
        config.relup_bin = value();
      } else if (arg == "--work") {
        work = value();
      } else if (arg == "--example-modules") {
        config.example_module_dir = value();
      } else if (arg == "--echo-load") {
        config.echo_load_bin = value();
      } else if (!arg.empty() && arg[0] != '-') {
        config.n = std::stoll(arg);
      } else {
        return Usage("unknown option " + arg);
      }
    } catch (const std::exception&) {
      return Usage("bad number for " + arg);
    }
  }
  if (config.n < 1 || config.reps < 1) return Usage("N and --reps must be at least 1");

  bool own_work = work.empty();
  if (own_work) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "relup-bench.XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::cerr << "relup_bench: cannot create a scratch directory under " << tmpl << ": "
                << std::strerror(errno) << "\n";
      return 1;
    }
    work = tmpl;
  }
  config.work_dir = work;

  std::vector<Figures> reps;
  int rc = 0;
  for (int r = 0; r < config.reps; ++r) {
    auto figures = it->second(config);
    if (!figures.ok()) {
      std::cerr << "relup_bench " << bench << " (n=" << config.n << ", repetition " << r + 1
                << "): " << figures.status().ToString() << "\n";
      rc = 1;
      break;
    }
    reps.push_back(std::move(*figures));
  }
  if (rc == 0) relup::bench::PrintMedians(bench, reps);
  if (own_work) {
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
  }
  return rc;
}
