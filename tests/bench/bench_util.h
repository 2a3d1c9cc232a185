// Shared pieces of the relup benchmarks (relup_bench, bench_main.cc): the
// configuration every benchmark gets, result rows and their JSON form, the
// statistics the OTP side uses too (nearest-rank percentiles, medians over
// repetitions), clocks and memory readings, and reading a figure out of
// the tcp_echo load generator's one-line JSON.
//
// Output contract (the same as tests/bench/otp/run_otp.sh): one JSON object
// per line on stdout, {"bench", "system": "relup", "n", "metric", "value",
// "unit"}; everything for people goes to stderr.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relup/status.h"

namespace relup::bench {

struct Config {
  int64_t n = 100000;              // processes
  int reps = 3;                    // repetitions; the median of each figure is printed
  std::string module_dir;          // built bench modules (NAME-VSN.so)
  std::string relup_bin;           // the relup CLI
  std::string example_module_dir;  // the examples' modules (echo_acceptor-1.so, ...)
  std::string echo_load_bin;       // tcp_echo's load generator (load/echo_load.cc)
  std::string work_dir;            // scratch space for releases and node roots
  unsigned workers = 0;            // scheduler threads; 0: one per core

  std::string module(std::string_view name, std::string_view vsn) const {
    return module_dir + "/" + std::string(name) + "-" + std::string(vsn) + ".so";
  }
  std::string example_module(std::string_view name, std::string_view vsn) const {
    return example_module_dir + "/" + std::string(name) + "-" + std::string(vsn) + ".so";
  }
};

// One figure of one repetition.
struct Figure {
  int64_t n;
  std::string metric;
  double value;
  std::string unit;
};
using Figures = std::vector<Figure>;

// Prints, for every (n, metric) of the first repetition, the median over all
// repetitions as a JSON row.
void PrintMedians(std::string_view bench, const std::vector<Figures>& reps);
std::string JsonRow(std::string_view bench, const Figure& f);

// Nearest-rank percentile (as bench_util:percentile/2 on the OTP side); 0 if empty.
double Percentile(std::vector<double> values, double p);
double Median(std::vector<double> values);

inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
// CPU time of the calling thread.
int64_t ThreadCpuNs();
// CPU time of the whole process (every thread, user + system).
int64_t ProcessCpuNs();

// Bytes the allocator has handed out and not got back (mallinfo2: in-use
// arena bytes + mmapped chunks, summed over every arena).
int64_t HeapBytesInUse();
// Resident set size of this process (/proc/self/statm); 0 if unreadable.
int64_t RssBytes();

// The number after "key": in a one-line JSON object such as the load
// generator prints; an error naming the key if it is missing.
Result<double> JsonNumber(std::string_view json, std::string_view key);

// Runs a shell command line; its stdout is returned, its stderr passes through.
// A non-zero exit is an error naming the command.
Result<std::string> RunCommand(const std::string& command_line);
// 'text' quoted for /bin/sh.
std::string ShellQuote(std::string_view text);

}  // namespace relup::bench
