#include "node/release_handler.h"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "node/node_trust.h"
#include "release/atomic_file.h"
#include "release/release_store.h"
#include "release/release_unpack.h"
#include "release/signing.h"
#include "release/tarball.h"
#include "relup/plan.h"
#include "relup/release.h"
#include "supervision/supervisor.h"
#include "supervision/supervisor_client.h"

namespace relup {

namespace {

// An unpacked release read back from ROOT/releases/VSN.
struct ReleaseOnDisk {
  Release release;
  PlanSet plans;
};

Result<ReleaseOnDisk> ReadReleaseDir(const std::string& dir) {
  ReleaseOnDisk out;
  std::string release_path = dir + "/release.yaml";
  RELUP_ASSIGN_OR_RETURN(std::string release_text, ReadWholeFile(release_path));
  RELUP_ASSIGN_OR_RETURN(out.release, ParseReleaseYaml(release_text, release_path));
  std::string relup_path = dir + "/relup.yaml";
  Result<std::string> relup_text = ReadWholeFile(relup_path);
  if (relup_text.ok()) {
    RELUP_ASSIGN_OR_RETURN(out.plans, ParsePlanSetYaml(*relup_text, relup_path));
  } else if (relup_text.status().code() != StatusCode::kNotFound) {
    return relup_text.status();
  } else {
    out.plans.release = out.release.name;  // a first release: no plans
    out.plans.vsn = out.release.vsn;
  }
  return out;
}

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

// A tarball read, verified against its MANIFEST, and parsed.
struct ReleaseHandler::Verified {
  ReleaseFiles files;
  Release release;
  PlanSet plans;
};

Result<std::vector<PublicKey>> ReleaseHandler::trusted_keys() const {
  auto keys = LoadNodeTrust(trust_sources_, root_);
  if (!keys.ok()) {
    // FailedPrecondition whatever the cause: a refusal at the "verify" step
    // (exit 6), not the tarball being unreadable.
    return Status::FailedPrecondition(
        "the node's trusted keys cannot be read, so no tarball is accepted: " +
        keys.status().message() +
        " (the node reads its trust for every tarball: put the key back or fix it; a node "
        "that has had a key needs a restart to stop requiring signatures)");
  }
  if (!keys->empty()) {
    trust_required_.store(true);
  } else if (trust_required_.load()) {
    std::string where = TrustedKeysDir(root_);
    for (const std::string& s : trust_sources_) where += ", " + s;
    return Status::FailedPrecondition(
        "no trusted key is left (" + where +
        "), but this node has required signed tarballs and keeps requiring them while it "
        "runs: add the signing key's .pub to " +
        TrustedKeysDir(root_) + ", or restart the node to accept unsigned tarballs");
  }
  return keys;
}

Result<ReleaseHandler::Verified> ReleaseHandler::ReadVerified(const std::string& tarball) const {
  Verified v;
  auto files = ReadTarball(tarball);
  if (!files.ok() && (files.status().code() == StatusCode::kNotFound ||
                      files.status().code() == StatusCode::kIOError)) {
    // The CLI could read it (it checks first), so this is the node's view:
    // another user, or a service's private /tmp.
    return Status::FromCode(
        files.status().code(),
        files.status().message() + " (the node reads the tarball itself, as uid " +
            std::to_string(::geteuid()) +
            ": put it where that user can read it, outside any private /tmp of the service)");
  }
  RELUP_ASSIGN_OR_RETURN(v.files, std::move(files));
  // Who made it, before what it holds: a node that trusts keys looks no
  // further into a tarball none of them signed.
  RELUP_ASSIGN_OR_RETURN(std::vector<PublicKey> keys, trusted_keys());
  if (!keys.empty()) {
    RELUP_RETURN_IF_ERROR(CheckSignature(v.files, keys, tarball).status());
  }
  std::vector<std::string> problems = VerifyManifest(v.files);
  if (!problems.empty()) {
    std::string text;
    for (const std::string& p : problems) text += "\n  " + p;
    return Status::Corruption(tarball + " failed verification against its MANIFEST:" + text +
                              "\nthe tarball was changed after relup build made it: rebuild it, "
                              "or fetch it again");
  }
  RELUP_ASSIGN_OR_RETURN(v.release, ReleaseFromFiles(v.files, tarball));
  RELUP_RETURN_IF_ERROR(CheckReleaseLayout(v.files, v.release, tarball));
  auto relup = v.files.find(RelupYamlPath(v.release.vsn));
  if (relup != v.files.end()) {
    RELUP_ASSIGN_OR_RETURN(v.plans, ParsePlanSetYaml(relup->second, tarball + ":" + relup->first));
  } else {
    v.plans.release = v.release.name;  // a first release: no plans
    v.plans.vsn = v.release.vsn;
  }
  return v;
}

// Why `v` cannot be installed over the running release, or ok.
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

Result<std::string> ReleaseHandler::Unpack(const std::string& tarball,
                                           const std::function<Status(const Release&)>& check) {
  std::unique_lock<std::mutex> lock(busy_, std::try_to_lock);
  if (!lock.owns_lock()) return Busy("").status();
  SetActivity("unpack " + tarball);
  return UnpackLocked(tarball, check);
}

Result<std::string> ReleaseHandler::UnpackLocked(
    const std::string& tarball, const std::function<Status(const Release&)>& check) {
  RELUP_ASSIGN_OR_RETURN(Verified v, ReadVerified(tarball));
  if (check) RELUP_RETURN_IF_ERROR(check(v.release));
  return UnpackVerified(v, tarball);
}

std::optional<LibUsers> ReleaseHandler::LibDirUsers(std::string_view except) const {
  LibUsers users;
  for (const ReleaseEntry& e : store_.releases()) {
    if (e.vsn == except) continue;
    Result<ReleaseOnDisk> disk = ReadReleaseDir(store_.release_dir(e.vsn));
    if (!disk.ok()) return std::nullopt;
    for (const ReleaseModule& m : disk->release.modules) users.emplace(m.name + "-" + m.vsn, e.vsn);
  }
  return users;
}

Result<std::string> ReleaseHandler::UnpackVerified(const Verified& v, const std::string& tarball,
                                                   std::vector<std::string>* notes) {
  const ReleaseFiles& files = v.files;
  const Release& release = v.release;
  std::string dir = store_.release_dir(release.vsn);
  if (auto known = store_.find(release.vsn)) {
    if (known->name == release.name && ReleaseOnDiskMatches(files, release, root_, dir)) {
      // The same release again: nothing to do but keep its newest signature.
      auto signature = files.find(std::string(kSignaturePath));
      if (signature != files.end()) {
        RELUP_RETURN_IF_ERROR(
            WriteFileAtomically(dir + "/" + std::string(kSignaturePath), signature->second));
      }
      return release.vsn;
    }
    std::string what = "release " + known->name + " " + release.vsn + " is already installed at " +
                       root_ + " (" + std::string(ReleaseStateName(known->state)) +
                       ") with other content than " + tarball;
    if (known->state == ReleaseState::kCurrent || known->state == ReleaseState::kPermanent) {
      return Status::AlreadyExists(what +
                                   ": it runs (or boots) this node, so give the new "
                                   "release another vsn");
    }
    if (known->state != ReleaseState::kUnpacked || known->ran) {
      return Status::AlreadyExists(what +
                                   " and has run on this node: give the new release "
                                   "another vsn, or remove the old one first (relup "
                                   "remove " +
                                   release.vsn + ")");
    }
    // Unpacked and never ran: its apply was refused or rolled back. The
    // corrected tarball replaces it, as a user retrying expects.
    RELUP_RETURN_IF_ERROR(
        store_.remove(release.vsn)
            .WithContext("replacing release " + release.vsn + ", which never ran"));
    if (notes != nullptr) {
      notes->push_back("release " + release.vsn + " was unpacked before but never ran (" +
                       known->unpacked_at + "); " + tarball + " replaced it");
    }
  }
  // Libraries first, then the release directory, then the store: a crash at
  // any point leaves nothing the store lists as unpacked but incomplete.
  std::optional<LibUsers> users = LibDirUsers(release.vsn);
  RELUP_RETURN_IF_ERROR(WriteReleaseLibraries(files, root_, users ? &*users : nullptr));
  RELUP_RETURN_IF_ERROR(WriteReleaseDir(files, release, dir));
  RELUP_RETURN_IF_ERROR(store_.add_unpacked(release.name, release.vsn));
  return release.vsn;
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

Status ReleaseHandler::MakePermanent(std::string_view vsn) {
  std::unique_lock<std::mutex> lock(busy_, std::try_to_lock);
  if (!lock.owns_lock()) return Busy(vsn).status();
  return store_.make_permanent(vsn);
}

Result<std::vector<std::string>> ReleaseHandler::Remove(std::string_view vsn_view) {
  std::string vsn(vsn_view);
  std::unique_lock<std::mutex> lock(busy_, std::try_to_lock);
  if (!lock.owns_lock()) return Busy(vsn).status();
  // Its modules, read before its directory goes (none if it cannot be read:
  // then its lib directories are left, as unknown ones are).
  std::vector<std::string> dirs;
  if (Result<ReleaseOnDisk> disk = ReadReleaseDir(store_.release_dir(vsn)); disk.ok()) {
    for (const ReleaseModule& m : disk->release.modules) dirs.push_back(m.name + "-" + m.vsn);
  }
  RELUP_RETURN_IF_ERROR(store_.remove(vsn));
  std::vector<std::string> freed;
  std::optional<LibUsers> users = LibDirUsers("");
  if (!users) return freed;
  for (const std::string& dir : dirs) {
    if (users->count(dir) != 0) continue;
    std::error_code ec;
    std::filesystem::remove_all(root_ + "/lib/" + dir, ec);
    if (ec) {
      return Status::IOError(
          "release " + vsn + " was removed but " + root_ + "/lib/" + dir +
          ", which no other release uses, could not be deleted: " + ec.message());
    }
    freed.push_back(dir);
  }
  return freed;
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
