#include "cmd/check_output.h"

#include <unistd.h>

#include <cstdio>

#include "cmd/node_client_util.h"

namespace relup::cli {
namespace {

std::string Pause(const UpgradeReport& r) {
  return std::to_string(r.pause.p50_us) + "/" + std::to_string(r.pause.p99_us) + "/" +
         std::to_string(r.pause.max_us);
}

std::string Ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", ms);
  return buf;
}

void PrintText(const check::CheckReport& r) {
  auto count = [](size_t n, const char* from) {
    return std::to_string(n) + (n == 1 ? " process" : " processes") + " from the " + from;
  };
  std::string extra;
  if (r.from_states_file > 0) extra = count(r.from_states_file, "states file");
  if (r.from_snapshot > 0) {
    extra += (extra.empty() ? "" : ", ") + count(r.from_snapshot, "snapshot");
  }
  PrintLine("relup check " + r.release + " " + r.old_vsn + " -> " + r.new_vsn +
            " on a scratch node" + (extra.empty() ? std::string() : " (" + extra + ")"));
  std::vector<std::vector<std::string>> steps{
      {"STEP", "OUTCOME", "PROCESSES", "PAUSE p50/p99/max us", "TIME"}};
  for (const check::CheckStep& s : r.steps) {
    const UpgradeReport& u = s.report;
    steps.push_back({s.name + " " + u.from_release + " -> " + u.to_release,
                     std::string(UpgradeOutcomeName(u.outcome)), std::to_string(u.touched_total()),
                     Pause(u), Ms(u.total_ms)});
  }
  PrintTable(steps);
  if (r.verdict == check::Verdict::kStepFailed) {
    PrintLine("check failed: the " + r.steps.back().name +
              " step did not go through: " + r.step_failure.message());
    return;
  }
  std::vector<std::vector<std::string>> mods{
      {"MODULE", "VSN", "PROCESSES", "CHANGED", "UP+DOWN = BEFORE", "UP+DOWN+UP = UP"}};
  for (const check::CheckedModule& m : r.modules) {
    bool changes = m.old_vsn != m.new_vsn;
    mods.push_back({m.module, changes ? m.old_vsn + " -> " + m.new_vsn : m.old_vsn + " (same)",
                    std::to_string(m.processes),
                    changes ? std::to_string(m.changed_up) : std::string("-"),
                    std::to_string(m.round_trip), std::to_string(m.up_twice)});
  }
  PrintTable(mods);
  for (const std::string& note : r.notes) PrintLine("note: " + note);
  if (r.problems.empty()) {
    PrintLine(
        "check passed: every state came back after up and down, and up twice gave the "
        "same states as up once");
    return;
  }
  PrintLine("check failed: " + std::to_string(r.problems.size()) + " problem" +
            (r.problems.size() == 1 ? "" : "s") + "; the first:");
  const check::CheckProblem& p = r.problems.front();
  PrintLine("  " + p.process + " " + p.what + (p.diff.empty() ? "" : " (" + p.legend + "):"));
  for (const std::string& line : p.diff) PrintLine("    " + line);
  for (size_t i = 1; i < r.problems.size() && i < 10; ++i) {
    PrintLine("  " + r.problems[i].process + " " + r.problems[i].what);
  }
}

int ExitFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kCorruption:
      return kExitVerifyFailed;
    case StatusCode::kInvalidArgument:
    case StatusCode::kFailedPrecondition:
      return kExitUsage;
    default:
      return kExitFailure;
  }
}

}  // namespace

int RunCheck(check::CheckOptions options, bool json) {
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return ReportError("check", Status::Internal("cannot find the relup binary"));
  options.relup_exe.assign(exe, static_cast<size_t>(n));
  auto report = check::RunRoundTrip(options);
  if (!report.ok()) {
    std::fprintf(stderr, "relup check: %s\n", report.status().message().c_str());
    return ExitFor(report.status());
  }
  if (json) {
    PrintLine(ToJson(report->ToTerm()));
  } else {
    PrintText(*report);
  }
  switch (report->verdict) {
    case check::Verdict::kOk:
      return kExitOk;
    case check::Verdict::kStepFailed:
      return kExitRefused;
    case check::Verdict::kDiffers:
      return kExitRolledBack;
  }
  return kExitFailure;
}

}  // namespace relup::cli
