#include "node/release_handler.h"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "release/release_store.h"
#include "release/release_unpack.h"
#include "relup/plan.h"
#include "relup/release.h"
#include "supervision/supervisor.h"
#include "supervision/supervisor_client.h"

namespace relup {

namespace {

std::string Versions(const std::vector<UpgradePlan>& plans) {
  std::string out;
  for (const UpgradePlan& p : plans) out += (out.empty() ? "" : ", ") + p.vsn;
  return out.empty() ? "(none)" : out;
}

// The refusal when `plans` has no up plan from the running release.
Status NoUpPlan(const PlanSet& plans, const ReleaseEntry& running) {
  return Status::FailedPrecondition(
      "release " + plans.release + " " + plans.vsn + " upgrades from " + Versions(plans.up) +
      ", but this node runs release " + running.name + " " + running.vsn +
      ": give its appup an entry `from: \"" + running.vsn +
      "\"`, or build it with --from the spec or "
      "tarball of release " +
      running.vsn + " to generate one (relup build SPEC --from OLD)");
}

}  // namespace

Status ReleaseHandler::CheckUpgradable(const Verified& v) const {
  auto running = store_.running();
  if (!running) {
    return Status::FailedPrecondition(
        "no release runs on this node yet: start it with relup node start --release TARBALL");
  }
  if (v.release.name != running->name) {
    return Status::FailedPrecondition("release " + v.release.name + " " + v.release.vsn +
                                      " is not an upgrade of the running release " + running->name +
                                      " " + running->vsn + ": a node runs one release name");
  }
  if (running->vsn == v.release.vsn) {
    return Status::FailedPrecondition("release " + running->name + " " + running->vsn +
                                      " is already running on this node");
  }
  if (v.plans.find_up(running->vsn) == nullptr) return NoUpPlan(v.plans, *running);
  return Status::Ok();
}

ReleaseHandler::ReleaseHandler(Node& node, ReleaseStore& store, std::string root)
    : node_(node), store_(store), root_(std::move(root)), executor_(node) {}

void ReleaseHandler::SetActivity(std::string what) {
  std::lock_guard<std::mutex> lock(activity_mu_);
  activity_ = std::move(what);
}

UpgradeReport ReleaseHandler::Busy(std::string_view to) const {
  std::string what;
  {
    std::lock_guard<std::mutex> lock(activity_mu_);
    what = activity_;
  }
  auto running = store_.running();
  return RefusedReport(
      running ? running->vsn : "", std::string(to), "busy",
      Status::FailedPrecondition("another release operation is in progress on this node (" + what +
                                 "): wait for it to finish, then retry"));
}

UpgradeReport ReleaseHandler::Install(std::string_view vsn, const ApplyOptions& options) {
  std::unique_lock<std::mutex> lock(busy_, std::try_to_lock);
  if (!lock.owns_lock()) return Busy(vsn);
  SetActivity("install " + std::string(vsn));
  return InstallLocked(vsn, options);
}

UpgradeReport ReleaseHandler::InstallLocked(std::string_view vsn_view,
                                            const ApplyOptions& options) {
  std::string vsn(vsn_view);
  auto running = store_.running();
  if (!running) {
    return RefusedReport("", vsn, "from_version",
                         Status::FailedPrecondition("no release runs on this node yet: start it "
                                                    "with relup node start --release TARBALL"));
  }
  if (running->vsn == vsn) {
    return RefusedReport(running->vsn, vsn, "from_version",
                         Status::FailedPrecondition("release " + running->name + " " + vsn +
                                                    " is already running on this node"));
  }
  if (!store_.find(vsn)) {
    return RefusedReport(running->vsn, vsn, "unpack",
                         Status::NotFound("release " + vsn + " is not unpacked at " + root_ +
                                          ": apply its tarball (relup apply TARBALL)"));
  }
  Result<ReleaseOnDisk> target = ReadReleaseDir(store_.release_dir(vsn));
  if (!target.ok()) return RefusedReport(running->vsn, vsn, "unpack", target.status());
  if (target->release.name != running->name) {
    return RefusedReport(
        running->vsn, vsn, "from_version",
        Status::FailedPrecondition("release " + target->release.name + " " + vsn +
                                   " is not an upgrade of the running release " + running->name +
                                   " " + running->vsn + ": a node runs one release name"));
  }
  const UpgradePlan* plan = target->plans.find_up(running->vsn);
  if (plan == nullptr) {
    return RefusedReport(running->vsn, vsn, "from_version", NoUpPlan(target->plans, *running));
  }
  PlanContext context;
  context.from_release = running->vsn;
  context.to_release = vsn;
  context.target = &target->release;
  context.lib_root = root_;
  context.back = target->plans.find_down(running->vsn);
  return RunPlan(*plan, context, options);
}

UpgradeReport ReleaseHandler::RunPlan(const UpgradePlan& plan, const PlanContext& context,
                                      const ApplyOptions& options) {
  ExecuteOptions exec;
  exec.dry_run = options.dry_run;
  exec.atomic = options.atomic;
  exec.progress = options.progress;
  exec.check_progress = options.check_progress;
  // Recorded inside the commit, so a store that cannot be written rolls the
  // upgrade back rather than leaving processes on a release the store does
  // not name.
  exec.record = [&] { return store_.set_running(context.to_release); };
  exec.watch = &watch_;
  // The watchdog: a code_change in the node cannot be interrupted, but one
  // that overruns its timeout is named, once per process, while it runs.
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  std::thread dog([&] {
    uint64_t told_pid = 0;
    int64_t told_since = -1;
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return finished; })) {
      auto late = watch_.overdue(std::chrono::steady_clock::now());
      if (!late) continue;
      int64_t since = watch_.since_ns.load(std::memory_order_relaxed);
      if (late->pid.id == told_pid && since == told_since) continue;
      told_pid = late->pid.id;
      told_since = since;
      if (options.overdue) options.overdue(Overdue());
    }
  });
  UpgradeReport report = executor_.Run(plan, context, exec);
  {
    std::lock_guard lock(mu);
    finished = true;
  }
  cv.notify_all();
  dog.join();
  return report;
}

std::string ReleaseHandler::Overdue() const {
  auto late = watch_.overdue(std::chrono::steady_clock::now());
  if (!late) return "";
  std::string process = late->pid.to_string();
  if (auto st = node_.get_status(late->pid); st.ok() && !st->name.empty()) {
    process = st->name + " " + process;
  }
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f", static_cast<double>(late->elapsed.count()) / 1000);
  return late->module + "'s code_change on " + process + (late->back ? " (taking it back)" : "") +
         " has run for " + secs + " s, past its step's timeout of " +
         std::to_string(late->timeout.count()) +
         " ms; it runs in the node and cannot be interrupted, so the upgrade waits for it, with "
         "the process suspended";
}

UpgradeReport ReleaseHandler::DryRun(const Verified& v, const ApplyOptions& options) {
  const std::string from = store_.running()->vsn;
  const ReleaseFiles& files = v.files;
  const Release& release = v.release;
  const UpgradePlan* plan = v.plans.find_up(from);
  // The libraries go to a scratch root under ROOT, removed afterwards.
  static std::atomic<uint64_t> counter{0};
  std::string scratch =
      root_ + "/.dry-run-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  Status written = WriteReleaseLibraries(files, scratch, nullptr);
  if (!written.ok()) {
    RemoveTree(scratch);
    return RefusedReport(from, release.vsn, "unpack", written);
  }
  PlanContext context;
  context.from_release = from;
  context.to_release = release.vsn;
  context.target = &release;
  context.lib_root = scratch;
  context.back = v.plans.find_down(from);
  ApplyOptions dry = options;
  dry.dry_run = true;
  UpgradeReport report = RunPlan(*plan, context, dry);
  RemoveTree(scratch);
  return report;
}

UpgradeReport ReleaseHandler::Apply(const std::string& tarball, const ApplyOptions& options) {
  std::unique_lock<std::mutex> lock(busy_, std::try_to_lock);
  if (!lock.owns_lock()) return Busy("");
  SetActivity("apply " + tarball);
  auto running = store_.running();
  std::string from = running ? running->vsn : "";
  // Everything is checked before anything is written: a refusal leaves the
  // root as it was.
  Result<Verified> v = ReadVerified(tarball);
  if (!v.ok()) {
    // A tarball the node cannot read is not one that failed verification.
    StatusCode c = v.status().code();
    bool unread = c == StatusCode::kNotFound || c == StatusCode::kIOError;
    return RefusedReport(from, "", unread ? "read" : "verify", v.status());
  }
  if (Status s = CheckUpgradable(*v); !s.ok()) {
    return RefusedReport(from, v->release.vsn, "from_version", s);
  }
  if (options.dry_run) return DryRun(*v, options);
  std::vector<std::string> notes;
  Result<std::string> vsn = UnpackVerified(*v, tarball, &notes);
  if (!vsn.ok()) return RefusedReport(from, v->release.vsn, "unpack", vsn.status());
  UpgradeReport report = InstallLocked(*vsn, options);
  report.warnings.insert(report.warnings.begin(), notes.begin(), notes.end());
  if (report.ok() && options.permanent) {
    Status s = store_.make_permanent(*vsn);
    if (!s.ok()) {
      report.warnings.push_back("release " + *vsn +
                                " runs but could not be made permanent, so a restart boots " +
                                from + ": " + s.ToString() + "; retry with relup make-permanent");
    }
  }
  if (auto permanent = store_.permanent()) report.permanent_release = permanent->vsn;
  return report;
}

UpgradeReport ReleaseHandler::Downgrade(std::string_view vsn_view, const ApplyOptions& options) {
  std::string vsn(vsn_view);
  std::unique_lock<std::mutex> lock(busy_, std::try_to_lock);
  if (!lock.owns_lock()) return Busy(vsn);
  SetActivity("downgrade to " + vsn);
  auto running = store_.running();
  if (!running) {
    return RefusedReport("", vsn, "from_version",
                         Status::FailedPrecondition("no release runs on this node yet: start it "
                                                    "with relup node start --release TARBALL"));
  }
  auto fail = [&](std::string step, Status s) {
    UpgradeReport r = RefusedReport(running->vsn, vsn, std::move(step), std::move(s));
    r.downgrade = true;
    return r;
  };
  if (running->vsn == vsn) {
    return fail("from_version",
                Status::FailedPrecondition("release " + vsn + " is already running"));
  }
  if (!store_.find(vsn)) {
    return fail("from_version",
                Status::NotFound("release " + vsn + " is not installed at " + root_ +
                                 " (relup releases lists the installed ones): a downgrade goes "
                                 "back to a release installed before"));
  }
  Result<ReleaseOnDisk> current = ReadReleaseDir(store_.release_dir(running->vsn));
  if (!current.ok()) return fail("unpack", current.status());
  const UpgradePlan* plan = current->plans.find_down(vsn);
  if (plan == nullptr) {
    std::string why =
        "release " + running->name + " " + running->vsn + " has no down plan to " + vsn;
    Result<ReleaseOnDisk> newer = ReadReleaseDir(store_.release_dir(vsn));
    if (newer.ok() && newer->plans.find_up(running->vsn) != nullptr) {
      why += ": " + vsn + " is the newer one (it upgrades from " + running->vsn +
             "), so go up to it with `relup apply` of its tarball";
    } else {
      std::string installed;
      for (const UpgradePlan& p : current->plans.down) {
        if (store_.find(p.vsn)) installed += (installed.empty() ? "" : ", ") + p.vsn;
      }
      why += installed.empty() ? "; it goes down to " + Versions(current->plans.down) +
                                     ", none of which is installed here"
                               : "; it can go down to " + installed;
    }
    return fail("from_version", Status::FailedPrecondition(why));
  }
  Result<ReleaseOnDisk> target = ReadReleaseDir(store_.release_dir(vsn));
  if (!target.ok()) return fail("unpack", target.status());
  PlanContext context;
  context.from_release = running->vsn;
  context.to_release = vsn;
  context.downgrade = true;
  context.target = &target->release;
  context.lib_root = root_;
  context.back = current->plans.find_up(vsn);
  UpgradeReport report = RunPlan(*plan, context, options);
  if (auto permanent = store_.permanent()) report.permanent_release = permanent->vsn;
  return report;
}

Status ReleaseHandler::Boot(std::string_view vsn_view, const BootProgress& progress) {
  std::string vsn(vsn_view);
  std::unique_lock<std::mutex> lock(busy_, std::try_to_lock);
  if (!lock.owns_lock()) return Busy(vsn).status();
  SetActivity("boot " + vsn);
  Result<ReleaseOnDisk> disk = ReadReleaseDir(store_.release_dir(vsn));
  if (!disk.ok()) return disk.status().WithContext("booting release " + vsn);
  const Release& release = disk->release;
  std::string what = "booting release " + release.name + " " + vsn;
  size_t total = release.modules.size() + 1;  // + the root supervisor
  for (const ReleaseProcess& p : release.processes) {
    size_t names = RegisteredNames(p).size();
    total += names > 0 ? names : static_cast<size_t>(std::max(p.count, 1));
  }
  size_t done = 0;
  auto step = [&](const std::function<std::string()>& next) {
    if (progress) progress(done, total, next);
    ++done;
  };
  for (const ReleaseModule& m : release.modules) {
    step([&] { return "loading module " + m.name + " " + m.vsn; });
    std::string path = root_ + "/" + ModuleLibraryPath(m.name, m.vsn);
    Result<ModuleVersionPtr> loaded = node_.code_server().load(path, m.name);
    if (!loaded.ok()) return loaded.status().WithContext(what);
    if ((*loaded)->vsn() != m.vsn || (!m.sha256.empty() && (*loaded)->info().sha256 != m.sha256)) {
      return Status::Corruption(what + ": " + path + " is not the library release.yaml lists (" +
                                m.name + " " + m.vsn + ", sha256 " + m.sha256.substr(0, 12) +
                                "): it changed after unpacking; reinstall the release");
    }
    RELUP_RETURN_IF_ERROR(node_.code_server().make_current(m.name, m.vsn));
  }
  node_.set_config(release.config.is_nil() ? Term::map({}) : release.config);
  // Every process starts under the root supervisor, in order, each init
  // done before the next; a pool goes in batches so the progress moves.
  step([&] { return std::string("starting the root supervisor ") + kRootSupervisorName; });
  Result<Pid> root = node_.spawn(supervision::kSupervisorModule, RootArgs(release.root),
                                 SpawnOptions{kRootSupervisorName});
  if (!root.ok()) return root.status().WithContext(what + ": starting the root supervisor");
  for (const ReleaseProcess& p : release.processes) {
    constexpr int kBatch = 256;
    for (int first = 0; first < p.count; first += kBatch) {
      int n = std::min(kBatch, p.count - first);
      std::vector<Term> specs = ChildSpecs(p, first, n);
      std::string id = specs.front().at("id").as_string();
      if (progress) {
        progress(done, total, [&] {
          return "starting " + p.module + " as " + id +
                 (n > 1 ? " and " + std::to_string(n - 1) + " more" : "");
        });
      }
      done += static_cast<size_t>(n);
      Term batch = Term::list(std::move(specs));
      Status s = supervision::CallSupervisor(node_, *root, "start_children", &batch,
                                             supervision::kStartTimeout)
                     .status();
      if (!s.ok()) {
        return s.WithContext(what + ": release.yaml" +
                             (p.line > 0 ? ":" + std::to_string(p.line) : std::string()) +
                             ", process " + ChildIdBase(p) + " (" + p.module + ")");
      }
    }
  }
  return store_.set_running(vsn);
}

}  // namespace relup
