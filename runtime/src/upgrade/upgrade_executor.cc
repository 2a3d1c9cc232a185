// UpgradeExecutor::Run: the phases in order (see upgrade_executor.h), and
// the report. The phases themselves are in upgrade_resolve.cc and
// upgrade_rollout.cc.
#include "upgrade/upgrade_executor.h"

#include <algorithm>
#include <map>
#include <set>
#include <variant>

#include "upgrade/upgrade_execution.h"

namespace relup {

UpgradeReport UpgradeExecutor::Run(const UpgradePlan& plan, const PlanContext& context,
                                   const ExecuteOptions& options) {
  upgrade::Execution execution(node_, plan, context, options);
  return execution.Run();
}

std::optional<RolloutWatch::Running> RolloutWatch::overdue(
    std::chrono::steady_clock::time_point now) const {
  uint64_t id = pid.load(std::memory_order_acquire);
  if (id == 0) return std::nullopt;
  Running r;
  r.pid = Pid{id};
  r.back = back.load(std::memory_order_relaxed);
  r.timeout = Millis(timeout_ms.load(std::memory_order_relaxed));
  std::chrono::steady_clock::time_point since{
      std::chrono::steady_clock::duration(since_ns.load(std::memory_order_relaxed))};
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - since);
  {
    std::lock_guard lock(mu);
    r.module = module;
  }
  if (pid.load(std::memory_order_acquire) != id || r.elapsed <= r.timeout) return std::nullopt;
  return r;
}

namespace upgrade {

namespace {
constexpr size_t kMaxFailures = 20;
}  // namespace

Execution::Execution(Node& node, const UpgradePlan& plan, const PlanContext& context,
                     const ExecuteOptions& options)
    : node_(node), plan_(plan), ctx_(context), options_(options) {
  report_.from_release = ctx_.from_release;
  report_.to_release = ctx_.to_release;
  report_.downgrade = ctx_.downgrade;
  report_.dry_run = options_.dry_run;
}

UpgradeReport Execution::Run() {
  DiffConfig();
  bool checked = Resolve() && Precheck();
  if (!checked || options_.dry_run) {
    report_.outcome = checked ? UpgradeOutcome::kOk : UpgradeOutcome::kRefused;
    UnloadStaged();
  } else if (!Rollout() || !Commit()) {
    Rollback();
    report_.outcome = UpgradeOutcome::kRolledBack;
    UnloadStaged();
  } else {
    report_.outcome = UpgradeOutcome::kOk;
    SweepLateSpawns();
    PurgeAndDelete();
  }
  Progress(true);
  for (const Proc& p : procs_) {
    if (p.keep_suspended && p.pause_us >= 0) {
      report_.warnings.push_back(ProcessName(p.pid) +
                                 " was suspended before the upgrade and is left suspended "
                                 "(relup resume it)");
    }
  }
  FinishReport();
  return std::move(report_);
}

std::string Execution::ProcessName(Pid pid) const {
  auto it = std::lower_bound(names_.begin(), names_.end(), std::make_pair(pid, std::string()));
  if (it != names_.end() && it->first == pid) return it->second;
  return pid.to_string();
}

void Execution::Fail(const Proc* p, const std::string& module, std::string step, Status reason) {
  if (report_.failures.size() >= kMaxFailures) return;
  UpgradeFailure f;
  if (p != nullptr) {
    f.pid = p->pid;
    f.process = ProcessName(p->pid);
  }
  f.module = module;
  f.step = std::move(step);
  f.reason = std::move(reason);
  report_.failures.push_back(std::move(f));
}

void Execution::UnloadStaged() {
  CodeServer& code = node_.code_server();
  for (const LoadedVersion& l : loaded_) {
    if (!l.loaded_here) continue;
    size_t running = node_.processes_running(l.module, l.vsn).size();
    if (running > 0) {
      report_.warnings.push_back(l.module + " " + l.vsn + " stays loaded: " +
                                 std::to_string(running) + " process(es) still run it");
      continue;
    }
    (void)code.unload(l.module, l.vsn);
  }
}

void Execution::FinishReport() {
  // Modules, in plan order; the versions processes were found on when the
  // plan names no from-version.
  for (uint32_t ci = 0; ci < changes_.size(); ++ci) {
    const Change& c = changes_[ci];
    std::set<std::string> froms;
    size_t found = 0;
    for (const Proc& p : procs_) {
      if (p.change != ci || p.phase == Phase::kGone) continue;
      froms.insert(p.from->vsn());
      ++found;
    }
    ModuleChangeReport m;
    m.module = c.module;
    m.to_vsn = c.to_vsn;
    m.from_vsn = c.from_vsn;
    if (m.from_vsn.empty()) {
      for (const std::string& v : froms) m.from_vsn += (m.from_vsn.empty() ? "" : ",") + v;
    }
    m.instruction = c.update ? "update" : (c.added ? "add_module" : "load_module");
    m.processes = report_.outcome == UpgradeOutcome::kOk && !options_.dry_run ? c.moved : found;
    report_.modules.push_back(std::move(m));
  }
  std::set<std::string> modules;
  for (const Change& c : changes_) modules.insert(c.module);
  for (const DeferredStep& d : final_steps_) {
    if (const auto* del = std::get_if<DeleteModuleStep>(d.step)) {
      ModuleChangeReport m;
      m.module = del->module;
      m.instruction = "delete_module";
      report_.modules.push_back(std::move(m));
      modules.insert(del->module);
    }
  }
  for (const std::string& module : modules) {
    for (const ModuleVersionPtr& v : node_.code_server().loaded()) {
      if (v->name() != module) continue;
      report_.processes.push_back(
          {module, v->vsn(), node_.processes_running(module, v->vsn()).size()});
    }
  }

  std::vector<int64_t> pauses;
  for (const Proc& p : procs_) {
    bool checked = options_.dry_run && p.change != kNoChange && p.phase != Phase::kGone;
    if (p.pause_us < 0 && !checked) continue;
    if (p.pause_us >= 0) pauses.push_back(p.pause_us);
    const Change* c = p.change != kNoChange ? &changes_[p.change] : nullptr;
    TouchedProcess t;
    t.pid = p.pid;
    auto name =
        std::lower_bound(names_.begin(), names_.end(), std::make_pair(p.pid, std::string()));
    if (name != names_.end() && name->first == p.pid) t.name = name->second;
    t.module = c != nullptr ? c->module : p.from->name();
    t.from_vsn = p.from->vsn();
    t.to_vsn = c != nullptr ? c->to_vsn : p.from->vsn();
    t.pause_us = std::max<int64_t>(p.pause_us, 0);
    if (p.phase == Phase::kDone && c != nullptr) ++report_.upgraded;
    report_.touched.push_back(std::move(t));
  }
  report_.pause = PauseStats::Of(pauses);
  report_.total_ms = std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
}

}  // namespace upgrade
}  // namespace relup
