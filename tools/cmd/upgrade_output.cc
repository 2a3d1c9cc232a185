#include "cmd/upgrade_output.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "cmd/node_client_util.h"
#include "node/control_protocol.h"
#include "supervision/supervisor_args.h"

namespace relup::cli {
namespace {

using Clock = std::chrono::steady_clock;

// A one-line bar on a terminal's stderr, drawn only once the operation has
// taken more than a second (quick upgrades print just the report):
//   [#########.....................] 12/40 processes checked     (precheck)
//   [##############################] 40/40 processes upgraded    (rollout)
// It fits the terminal's width and is erased before the report is printed.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled && ::isatty(STDERR_FILENO)) {}
  ~ProgressBar() { clear(); }

  void update(const Term& info) {
    if (!enabled_ || Clock::now() - start_ < std::chrono::seconds(1)) return;
    const Term* done = info.find("done");
    const Term* total = info.find("total");
    if (!done || !total || !done->is_int() || !total->is_int() || total->as_int() <= 0) return;
    const Term* phase = info.find("phase");
    const bool checking = phase != nullptr && phase->is_atom("checking");
    int64_t d = done->as_int(), t = total->as_int();
    std::string text = " " + std::to_string(d) + "/" + std::to_string(t) + " processes " +
                       (checking ? "checked" : "upgraded");
    // The bar takes what the text leaves of the line, from 10 to 30 cells.
    int width = std::clamp(Columns() - 3 - static_cast<int>(text.size()), 10, 30);
    // A done outside [0, total] must not size the strings below negative.
    int filled = static_cast<int>(width * std::clamp<int64_t>(d, 0, t) / t);
    std::string line = "\r[" + std::string(static_cast<size_t>(filled), '#') +
                       std::string(static_cast<size_t>(width - filled), '.') + "]" + text;
    // A shorter line than the last one (a new phase) overwrites all of it.
    size_t shown = line.size() - 1;
    if (shown < drawn_) line += std::string(drawn_ - shown, ' ');
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
    drawn_ = std::max(drawn_, shown);
  }

  void clear() {
    if (drawn_ == 0) return;
    std::fprintf(stderr, "\r%*s\r", static_cast<int>(drawn_), "");
    std::fflush(stderr);
    drawn_ = 0;
  }

 private:
  static int Columns() {
    struct winsize ws {};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 80;
  }

  bool enabled_;
  size_t drawn_ = 0;  // columns the bar covers now (0: nothing drawn)
  Clock::time_point start_ = Clock::now();
};

std::string Us(int64_t us) {
  if (us < 10000) return std::to_string(us) + " us";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(us) / 1000.0);
  return buf;
}

std::string Plural(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::string FormatUpgradeReport(const UpgradeReport& r, const UpgradeRequestOptions& options) {
  std::string out;
  auto line = [&out](const std::string& s) { out += s + "\n"; };
  const char* what = r.downgrade ? "downgrade" : "upgrade";
  char total[32];
  std::snprintf(total, sizeof total, "%.1f ms", r.total_ms);
  std::string head =
      std::string(r.dry_run ? "dry run of " : "") + what + " " + r.from_release + " -> " +
      (r.to_release.empty() && !options.target.empty() ? options.target : r.to_release) + ": ";
  switch (r.outcome) {
    case UpgradeOutcome::kOk:
      head += r.dry_run ? "every check passed, nothing changed" : "done";
      break;
    case UpgradeOutcome::kRefused:
      head += "refused, nothing changed";
      break;
    case UpgradeOutcome::kRolledBack:
      head += "failed and rolled back: every process is on its old code and state";
      break;
  }
  line(head + " (" + total + ")");
  if (!r.modules.empty()) {
    line("modules:");
    for (const auto& m : r.modules) {
      std::string change = m.from_vsn.empty() ? "added " + m.to_vsn
                           : m.to_vsn.empty() ? m.from_vsn + " deleted"
                                              : m.from_vsn + " -> " + m.to_vsn;
      line("  " + m.module + " " + change + " (" + m.instruction + ", " +
           Plural(m.processes, "process", "processes") + ")");
    }
  }
  if (r.tree_changes.is_list() && r.tree_changes.size() > 0) {
    line("supervisors:");
    for (const Term& t : r.tree_changes.elements()) {
      auto ids = [](const Term& list) {
        std::string joined;
        for (const Term& id : list.elements()) {
          if (!joined.empty()) joined += ", ";
          joined += supervision::Text(id);
        }
        return joined;
      };
      std::string did = "new child specs";
      if (t.at("started").size() > 0) did += "; started " + ids(t.at("started"));
      if (t.at("stopped").size() > 0) {
        did += std::string(r.ok() ? "; stopped " : "; would have stopped ") + ids(t.at("stopped"));
      }
      line("  " + t.at("supervisor").as_string() + ": " + did);
    }
  }
  if (r.config_changes.is_list() && r.config_changes.size() > 0) {
    line(r.ok() && !r.dry_run ? "config:" : "config (as the release would change it):");
    for (const Term& c : r.config_changes.elements()) {
      std::string parts;
      auto add = [&parts](const std::string& s) { parts += (parts.empty() ? "" : "; ") + s; };
      for (const auto& [k, v] : c.at("changed").entries())
        add(supervision::Text(k) + " -> " + v.to_yaml());
      for (const auto& [k, v] : c.at("added").entries())
        add("+" + supervision::Text(k) + ": " + v.to_yaml());
      for (const Term& k : c.at("removed").elements()) add("-" + supervision::Text(k));
      line("  " + c.at("module").as_string() + ": " + parts);
    }
  }
  if (!r.processes.empty() && !r.dry_run) {
    line("processes now:");
    for (const auto& p : r.processes) {
      line("  " + p.module + " " + p.vsn + ": " + Plural(p.count, "process", "processes"));
    }
  }
  if (r.pause.count > 0) {
    line("pause per process: p50 " + Us(r.pause.p50_us) + ", p99 " + Us(r.pause.p99_us) + ", max " +
         Us(r.pause.max_us) + " (" + Plural(r.pause.count, "process", "processes") + ")");
  } else if (r.dry_run && r.touched_total() > 0) {
    line("checked " + Plural(r.touched_total(), "process", "processes") +
         " (code_change on a copy of each state)");
  }
  for (size_t i = 0; i < r.failures.size(); ++i) {
    const auto& f = r.failures[i];
    std::string who = f.process.empty() ? "" : f.process + " ";
    if (!f.module.empty()) who += "(" + f.module + ") ";
    line(std::string(i == 0 ? "cause: " : "also:  ") + who + f.step + ": " + f.reason.message());
  }
  for (const auto& w : r.warnings) line("warning: " + w);
  if (r.ok() && !r.dry_run) {
    if (options.permanent) {
      line("the node now runs release " + r.to_release + " (permanent)");
    } else if (r.downgrade) {
      const std::string& boots = r.permanent_release;
      if (!boots.empty() && boots != r.to_release) {
        line("the node now runs release " + r.to_release + " (not permanent: release " + boots +
             " is, so a restart boots " + boots + "; `relup make-permanent --root " + options.root +
             "` keeps " + r.to_release + ")");
      } else {
        line("the node now runs release " + r.to_release);
      }
    } else {
      line("the node now runs release " + r.to_release +
           " (not permanent: `relup make-permanent --root " + options.root +
           "` keeps it after a restart)");
    }
  } else if (!r.ok()) {
    line("the node stays on release " + r.from_release);
  }
  return out;
}

int RunUpgradeRequest(std::string_view cmd, ControlClient& client, const Term& request,
                      const UpgradeRequestOptions& options) {
  ProgressBar bar(!options.json);
  auto reply = client.exchange(request, [&bar](const Term& info) {
    // A code_change past its timeout is named at once, bar or no bar: it
    // is why the apply seems to hang.
    const Term* what = info.find("what");
    if (const Term* phase = info.find("phase");
        phase && phase->is_atom("overdue") && what && what->is_string()) {
      bar.clear();
      std::fprintf(stderr, "relup: %s\n", what->as_string().c_str());
      return;
    }
    bar.update(info);
  });
  bar.clear();
  // The request went out: without a report nobody here knows what the node did.
  if (!reply.ok()) {
    return ReportFailure(cmd, reply.status(), ErrorExit(reply.status()), "reply", "unknown");
  }

  const Term* report_term = nullptr;
  bool ok = reply->find("ok") != nullptr;
  if (ok) {
    report_term = reply->find("ok");
  } else {
    report_term = reply->find("report");
  }
  if (!report_term) {
    // An error before any upgrade started (bad request, unknown command).
    return ReportError(cmd, control::ReplyValue(*reply).status());
  }
  auto report = UpgradeReport::FromTerm(*report_term);
  if (!report.ok()) {
    return ReportFailure(cmd, report.status().WithContext("bad report from the node"), kExitFailure,
                         "reply", "unknown");
  }
  if (options.json) {
    PrintLine(ToJson(*report_term));
  } else {
    std::string text = FormatUpgradeReport(*report, options);
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  switch (report->outcome) {
    case UpgradeOutcome::kOk:
      return kExitOk;
    case UpgradeOutcome::kRefused:
      std::fprintf(stderr, "relup %.*s: refused: %s\n", static_cast<int>(cmd.size()), cmd.data(),
                   report->status().message().c_str());
      // The node's own check of the tarball (its MANIFEST, or its signature
      // when the node trusts keys) refused it: the tarball failed
      // verification, whichever side found it.
      if (!report->failures.empty() && report->failures.front().step == "verify") {
        return kExitVerifyFailed;
      }
      return kExitRefused;
    case UpgradeOutcome::kRolledBack:
      std::fprintf(stderr, "relup %.*s: rolled back: %s\n", static_cast<int>(cmd.size()),
                   cmd.data(), report->status().message().c_str());
      return kExitRolledBack;
  }
  return kExitFailure;
}

}  // namespace relup::cli
