#include "bench_util.h"

#include <malloc.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace relup::bench {

namespace {

std::string FormatValue(double v) {
  char buf[64];
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  } else {
    std::snprintf(buf, sizeof buf, "%.3f", v);
  }
  return buf;
}

}  // namespace

std::string JsonRow(std::string_view bench, const Figure& f) {
  return "{\"bench\": \"" + std::string(bench) +
         "\", \"system\": \"relup\", \"n\": " + std::to_string(f.n) + ", \"metric\": \"" +
         f.metric + "\", \"value\": " + FormatValue(f.value) + ", \"unit\": \"" + f.unit + "\"}";
}

void PrintMedians(std::string_view bench, const std::vector<Figures>& reps) {
  if (reps.empty()) return;
  for (const Figure& first : reps.front()) {
    std::vector<double> values;
    for (const Figures& rep : reps) {
      for (const Figure& f : rep) {
        if (f.n == first.n && f.metric == first.metric) values.push_back(f.value);
      }
    }
    Figure median = first;
    median.value = Median(values);
    std::cout << JsonRow(bench, median) << std::endl;
  }
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto len = static_cast<double>(values.size());
  double rank = std::max(1.0, std::min(len, std::ceil(p / 100.0 * len)));
  return values[static_cast<size_t>(rank) - 1];
}

double Median(std::vector<double> values) {
  return Percentile(std::move(values), 50);
}

int64_t HeapBytesInUse() {
  struct mallinfo2 mi = mallinfo2();
  return static_cast<int64_t>(mi.uordblks + mi.hblkhd);
}

int64_t RssBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long long size = 0, resident = 0;
  int got = std::fscanf(f, "%lld %lld", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * sysconf(_SC_PAGESIZE) : 0;
}

Result<double> JsonNumber(std::string_view json, std::string_view key) {
  std::string quoted;
  quoted.append("\"").append(key).append("\":");
  size_t at = json.find(quoted);
  if (at == std::string_view::npos) {
    return Status::Internal("no " + quoted + " in: " + std::string(json));
  }
  std::string rest(json.substr(at + quoted.size()));
  char* end = nullptr;
  double v = std::strtod(rest.c_str(), &end);
  if (end == rest.c_str()) {
    return Status::Internal("no number after " + quoted + " in: " + std::string(json));
  }
  return v;
}

int64_t ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t ProcessCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string ShellQuote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

Result<std::string> RunCommand(const std::string& command_line) {
  FILE* pipe = popen(command_line.c_str(), "r");
  if (pipe == nullptr) return Status::IOError("cannot run: " + command_line);
  std::string out;
  char buf[65536];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, got);
  int rc = pclose(pipe);
  if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
    return Status::Internal("command failed (exit " +
                            std::to_string(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1) +
                            "): " + command_line + (out.empty() ? "" : "\noutput: " + out));
  }
  return out;
}

}  // namespace relup::bench
