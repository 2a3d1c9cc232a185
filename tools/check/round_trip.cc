#include "check/round_trip.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "check/snapshot.h"
#include "check/term_diff.h"
#include "node/control_client.h"
#include "node/control_protocol.h"
#include "node/node_lock.h"
#include "release/tarball.h"
#include "relup/plan.h"
#include "relup/release.h"

extern char** environ;

namespace relup::check {
namespace {

namespace fs = std::filesystem;

Term A(std::string_view name) {
  return Term::atom(name);
}

// One side of the check: a tarball, verified, with its release and plans.
struct Side {
  std::string path;
  Release release;
  PlanSet plans;
};

Result<Side> ReadSide(const std::string& path, const std::string& role) {
  Side side;
  side.path = path;
  auto files = ReadTarball(path);
  if (!files.ok()) return files.status().WithContext(role + " tarball " + path);
  std::vector<std::string> problems = VerifyManifest(*files);
  if (!problems.empty()) {
    std::string msg = role + " tarball " + path + " does not match its MANIFEST:";
    for (const auto& p : problems) msg += "\n  " + p;
    return Status::Corruption(msg + "\n(rebuild it with relup build)");
  }
  auto release = ReleaseFromFiles(*files, path);
  if (!release.ok()) return release.status().WithContext(role + " tarball " + path);
  side.release = std::move(*release);
  auto relup_yaml = files->find(RelupYamlPath(side.release.vsn));
  if (relup_yaml != files->end()) {
    auto plans = ParsePlanSetYaml(relup_yaml->second, path + ":" + relup_yaml->first);
    if (!plans.ok()) return plans.status();
    side.plans = std::move(*plans);
  }
  return side;
}

std::string Versions(const std::vector<UpgradePlan>& plans) {
  std::string out;
  for (const UpgradePlan& p : plans) out += (out.empty() ? "" : ", ") + p.vsn;
  return out.empty() ? "none" : out;
}

// The paths between the two, checked before any node is booted.
Status CheckPaths(const Side& old_side, const Side& new_side) {
  const Release& o = old_side.release;
  const Release& n = new_side.release;
  if (o.name != n.name) {
    return Status::InvalidArgument(
        "OLD " + old_side.path + " is release " + o.name + " " + o.vsn + " but NEW " +
        new_side.path + " is release " + n.name + " " + n.vsn +
        ": relup check compares two versions of one release; give two tarballs of the same "
        "release name");
  }
  if (o.vsn == n.vsn) {
    return Status::InvalidArgument("OLD and NEW are both release " + o.name + " " + o.vsn +
                                   ": give the release before and the one after the upgrade");
  }
  if (new_side.plans.find_up(o.vsn) == nullptr && old_side.plans.find_up(n.vsn) != nullptr) {
    return Status::InvalidArgument("OLD and NEW look swapped: " + old_side.path + " (" + o.vsn +
                                   ") upgrades from " + n.vsn +
                                   ", not the other way: run relup "
                                   "check " +
                                   new_side.path + " " + old_side.path);
  }
  if (new_side.plans.find_up(o.vsn) == nullptr) {
    return Status::FailedPrecondition(
        "NEW " + new_side.path + " (" + n.name + " " + n.vsn + ") has no upgrade from " + o.vsn +
        " (it upgrades from: " + Versions(new_side.plans.up) + "): add `- from: \"" + o.vsn +
        "\"` to the `up:` entries of its spec's appup (or build it with --from OLD)");
  }
  if (new_side.plans.find_down(o.vsn) == nullptr) {
    return Status::FailedPrecondition(
        "NEW " + new_side.path + " (" + n.name + " " + n.vsn + ") has no downgrade to " + o.vsn +
        " (it downgrades to: " + Versions(new_side.plans.down) +
        "), so the way back cannot be checked: add `- to: \"" + o.vsn +
        "\"` to the `down:` entries of its spec's appup (or build it with --from OLD)");
  }
  return Status::Ok();
}

// The states file: module -> list of init args, checked against OLD.
Result<std::vector<std::pair<std::string, Term>>> ReadStatesFile(const std::string& path,
                                                                 const Release& old_release) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("states file " + path + " cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = Term::parse(text.str());
  if (!parsed.ok()) {
    return Status::InvalidArgument("states file " + path + ": " + parsed.status().message());
  }
  if (!parsed->is_map()) {
    return Status::InvalidArgument("states file " + path +
                                   ": expected a map from module name to a list of states, "
                                   "e.g. `demo_server: [{name: a, money: 1}]`");
  }
  std::string known;
  for (const ReleaseModule& m : old_release.modules) known += (known.empty() ? "" : ", ") + m.name;
  std::vector<std::pair<std::string, Term>> out;
  for (const auto& [key, list] : parsed->entries()) {
    std::string module = key.is_atom()     ? std::string(key.as_atom())
                         : key.is_string() ? key.as_string()
                                           : key.to_yaml();
    if (old_release.find_module(module) == nullptr) {
      return Status::InvalidArgument("states file " + path + ": module " + module +
                                     " is not in OLD release " + old_release.name + " " +
                                     old_release.vsn + " (its modules: " + known +
                                     "); fix the module name");
    }
    if (!list.is_list()) {
      return Status::InvalidArgument("states file " + path + ": " + module +
                                     " must be a list of states, not " + list.to_yaml());
    }
    for (const Term& entry : list.elements()) out.emplace_back(module, entry);
  }
  return out;
}

// A node of our own, on a fresh root under $TMPDIR, stopped and removed by
// the destructor whatever happened.
class ScratchNode {
 public:
  static Result<std::unique_ptr<ScratchNode>> Boot(const std::string& exe,
                                                   const std::string& tarball) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/relup-check.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Status::IOError("cannot create a scratch root " + pattern + ": " +
                             std::strerror(errno));
    }
    std::unique_ptr<ScratchNode> node(new ScratchNode(exe, pattern));
    std::string out;
    int rc = node->Run({"node", "start", "--root", node->root_, "--release", tarball}, &out);
    if (rc != 0) {
      return Status::Internal("the scratch node did not start on " + tarball + ":\n" + out);
    }
    auto client = ControlClient::Connect(node->root_);
    if (!client.ok()) return client.status().WithContext("the scratch node");
    node->client_ = std::move(*client);
    return node;
  }

  ~ScratchNode() {
    client_.reset();
    std::string out;
    (void)Run({"node", "stop", "--root", root_}, &out);
    if (auto holder = NodeLockHolder(root_); holder && *holder > 0) {
      ::kill(*holder, SIGKILL);
      for (int i = 0; i < 200 && NodeLockHolder(root_); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  ControlClient& client() { return *client_; }
  const std::string& root() const { return root_; }

 private:
  ScratchNode(std::string exe, std::string root) : exe_(std::move(exe)), root_(std::move(root)) {}

  // Runs this relup with `args`, its output (both streams) into *out.
  int Run(const std::vector<std::string>& args, std::string* out) {
    std::string log = root_ + ".out";
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    std::vector<std::string> argv_s{exe_};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fd, STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    pid_t pid = -1;
    int err = ::posix_spawn(&pid, exe_.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fd);
    int status = 0;
    if (err == 0) {
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    *out = text.str();
    ::unlink(log.c_str());
    if (err != 0) {
      *out = "cannot run " + exe_ + ": " + std::strerror(err);
      return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string exe_;
  std::string root_;
  std::unique_ptr<ControlClient> client_;
};

// A process as one step saw it.
struct Seen {
  std::string pid, name, module, vsn;
  Term state;
};
using Snapshot = std::map<std::string, Seen>;  // by name, else pid

std::string Key(const Seen& s) {
  return s.name.empty() ? s.pid : s.name;
}
std::string Who(const Seen& s) {
  return (s.name.empty() ? s.pid : s.name) + " (" + s.module + ")";
}

std::string Str(const Term& map, const char* key) {
  const Term* v = map.find(key);
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

// Every process and its state. A process that ends between `ps` and its
// `state` is left out (then reported missing).
Result<Snapshot> Look(ControlClient& client) {
  RELUP_ASSIGN_OR_RETURN(Term ps, client.request(MakeRequest("ps")));
  Snapshot out;
  for (const Term& p : ps.elements()) {
    Seen s;
    s.pid = Str(p, "pid");
    s.name = Str(p, "name");
    s.module = Str(p, "module");
    s.vsn = Str(p, "vsn");
    auto state = client.request(MakeRequest("state", {{A("target"), Term(s.pid)}}));
    if (!state.ok()) {
      if (state.status().code() == StatusCode::kNotFound ||
          state.status().code() == StatusCode::kProcessExited) {
        continue;
      }
      return state.status().WithContext("reading the state of " + s.pid);
    }
    s.state = std::move(*state);
    out.emplace(Key(s), std::move(s));
  }
  return out;
}

// Runs apply or downgrade; the report, whatever the outcome.
Result<UpgradeReport> Step(ControlClient& client, const Term& request) {
  RELUP_ASSIGN_OR_RETURN(Term reply, client.exchange(request));
  const Term* report = reply.find("ok");
  if (report == nullptr) report = reply.find("report");
  if (report == nullptr) return control::ReplyValue(reply).status();
  return UpgradeReport::FromTerm(*report);
}

// Stop names of a plan (a stopped process is not compared afterwards).
std::set<std::string> StoppedNames(const UpgradePlan* plan) {
  std::set<std::string> out;
  if (plan == nullptr) return out;
  for (const PlanStep& step : plan->steps) {
    if (const auto* stop = std::get_if<StopStep>(&step)) out.insert(stop->name);
  }
  return out;
}

bool StoppedBy(const std::set<std::string>& names, const std::string& name) {
  if (name.empty()) return false;
  for (const std::string& n : names) {
    if (name == n || name.rfind(n + "_", 0) == 0) return true;
  }
  return false;
}

}  // namespace

Result<CheckReport> RunRoundTrip(const CheckOptions& options) {
  RELUP_ASSIGN_OR_RETURN(Side old_side, ReadSide(options.old_tarball, "OLD"));
  RELUP_ASSIGN_OR_RETURN(Side new_side, ReadSide(options.new_tarball, "NEW"));
  RELUP_RETURN_IF_ERROR(CheckPaths(old_side, new_side));
  std::vector<std::pair<std::string, Term>> extra;
  if (!options.states_file.empty()) {
    RELUP_ASSIGN_OR_RETURN(extra, ReadStatesFile(options.states_file, old_side.release));
  }

  LiveSnapshot snapshot;
  if (!options.snapshot_file.empty()) {
    RELUP_ASSIGN_OR_RETURN(snapshot, ReadSnapshot(options.snapshot_file, old_side.release));
  }

  CheckReport report;
  report.release = old_side.release.name;
  report.old_vsn = old_side.release.vsn;
  report.new_vsn = new_side.release.vsn;

  RELUP_ASSIGN_OR_RETURN(auto node, ScratchNode::Boot(options.relup_exe, options.old_tarball));
  ControlClient& client = node->client();
  for (size_t i = 0; i < extra.size(); ++i) {
    const auto& [module, args] = extra[i];
    auto spawned =
        client.request(MakeRequest("spawn", {{A("module"), Term(module)}, {A("args"), args}}));
    if (!spawned.ok()) {
      std::string listed;
      for (const ReleaseProcess& p : old_side.release.processes) {
        if (p.module == module && listed.empty()) listed = p.args.to_yaml();
      }
      return Status::InvalidArgument(
          "states file " + options.states_file + ": " + module + " entry " + std::to_string(i + 1) +
          " (" + args.to_yaml() + ") was refused by " + module + " " +
          old_side.release.find_module(module)->vsn + "'s init: " + spawned.status().message() +
          "; fix: each entry is what " + module + "'s init takes as args" +
          (listed.empty() ? std::string() : " (OLD's release.yaml starts it with " + listed + ")"));
    }
  }
  report.from_states_file = extra.size();
  for (const SnapshotProcess& p : snapshot.processes) {
    auto adopted = client.request(MakeRequest("adopt", {{A("module"), Term(p.module)},
                                                        {A("state"), p.state},
                                                        {A("name"), Term("snapshot " + p.label)}}));
    if (!adopted.ok()) {
      return Status::InvalidArgument(
          "snapshot " + options.snapshot_file + ": " + p.label + " (" + p.module +
          ") could not be put on the scratch node: " + adopted.status().message());
    }
  }
  report.from_snapshot = snapshot.processes.size();
  for (const std::string& s : snapshot.skipped) report.notes.push_back("snapshot: " + s);

  std::vector<Snapshot> seen(4);
  RELUP_ASSIGN_OR_RETURN(seen[0], Look(client));
  const Term apply = MakeRequest("apply", {{A("tarball"), Term(options.new_tarball)}});
  const Term down = MakeRequest("downgrade", {{A("vsn"), Term(report.old_vsn)}});
  const std::pair<const char*, const Term*> steps[] = {
      {"up", &apply}, {"down", &down}, {"up again", &apply}};
  for (size_t i = 0; i < 3; ++i) {
    RELUP_ASSIGN_OR_RETURN(UpgradeReport r, Step(client, *steps[i].second));
    report.steps.push_back({steps[i].first, r});
    if (!r.ok()) {
      report.verdict = Verdict::kStepFailed;
      report.step_failure = r.status();
      return report;
    }
    RELUP_ASSIGN_OR_RETURN(seen[i + 1], Look(client));
  }

  // Module by module, process by process.
  std::map<std::string, CheckedModule> modules;
  for (const ReleaseModule& m : old_side.release.modules) {
    CheckedModule& c = modules[m.name];
    c.module = m.name;
    c.old_vsn = m.vsn;
    const ReleaseModule* n = new_side.release.find_module(m.name);
    c.new_vsn = n != nullptr ? n->vsn : "(removed)";
  }
  std::set<std::string> stopped_up = StoppedNames(new_side.plans.find_up(report.old_vsn));
  // Children a supervisor step let go of (their tree no longer has them).
  for (const Term& t : report.steps[0].report.tree_changes.elements()) {
    const Term* names = t.find("stopped_names");
    if (names == nullptr || !names->is_list()) continue;
    for (const Term& n : names->elements()) {
      if (n.is_string()) stopped_up.insert(n.as_string());
    }
  }
  auto problem = [&report](const Seen& s, std::string what, std::vector<std::string> diff = {},
                           std::string legend = {}) {
    report.problems.push_back({Who(s), std::move(what), std::move(diff), std::move(legend)});
  };
  for (const auto& [key, before] : seen[0]) {
    auto mod = modules.find(before.module);
    if (mod == modules.end()) continue;  // a module loaded by hand: not the release's
    CheckedModule& c = mod->second;
    ++c.processes;
    if (StoppedBy(stopped_up, before.name)) {
      report.notes.push_back(Who(before) + ": stopped by the upgrade, not compared");
      continue;
    }
    const Seen* after[4] = {&before, nullptr, nullptr, nullptr};
    bool lost = false;
    for (size_t i = 1; i < 4 && !lost; ++i) {
      auto it = seen[i].find(key);
      if (it == seen[i].end()) {
        problem(before, std::string("is gone after the ") + steps[i - 1].first +
                            " step: it crashed or was ended (see the node's log)");
        lost = true;
      } else if (it->second.pid != before.pid) {
        report.notes.push_back(Who(before) + ": restarted by the " + steps[i - 1].first +
                               " step (a new pid), not compared");
        lost = true;
      } else {
        after[i] = &it->second;
      }
    }
    if (lost) continue;
    bool changes = c.old_vsn != c.new_vsn;
    const std::string want_vsn[4] = {c.old_vsn, c.new_vsn, c.old_vsn, c.new_vsn};
    bool vsns_ok = true;
    for (size_t i = 1; i < 4 && changes; ++i) {
      if (after[i]->vsn != want_vsn[i]) {
        problem(before, std::string("runs ") + c.module + " " + after[i]->vsn + " after the " +
                            steps[i - 1].first + " step, not " + want_vsn[i] +
                            ": the plan did not change it (is it missing from the appup?)");
        vsns_ok = false;
      }
    }
    if (vsns_ok && changes) ++c.changed_up;
    if (after[2]->state == before.state) {
      ++c.round_trip;
    } else {
      problem(before, "after up and down its state differs from before the upgrade",
              DiffTerms(before.state, after[2]->state), "- before, + after up and down");
    }
    if (after[3]->state == after[1]->state) {
      ++c.up_twice;
    } else {
      problem(before, "after up, down and up again its state differs from after one up",
              DiffTerms(after[1]->state, after[3]->state), "- after one up, + after up again");
    }
  }
  for (auto& [name, c] : modules) report.modules.push_back(c);
  if (!report.problems.empty()) report.verdict = Verdict::kDiffers;
  return report;
}

Term CheckReport::ToTerm() const {
  std::vector<Term> steps_t, modules_t, problems_t, notes_t;
  for (const CheckStep& s : steps) {
    steps_t.push_back(
        Term::map({{A("step"), Term(s.name)}, {A("report"), s.report.ToTerm(false)}}));
  }
  for (const CheckedModule& m : modules) {
    modules_t.push_back(Term::map({{A("module"), Term(m.module)},
                                   {A("old_vsn"), Term(m.old_vsn)},
                                   {A("new_vsn"), Term(m.new_vsn)},
                                   {A("processes"), Term(static_cast<long long>(m.processes))},
                                   {A("changed_up"), Term(static_cast<long long>(m.changed_up))},
                                   {A("round_trip"), Term(static_cast<long long>(m.round_trip))},
                                   {A("up_twice"), Term(static_cast<long long>(m.up_twice))}}));
  }
  for (const CheckProblem& p : problems) {
    std::vector<Term> diff;
    for (const std::string& line : p.diff) diff.emplace_back(line);
    problems_t.push_back(Term::map({{A("process"), Term(p.process)},
                                    {A("what"), Term(p.what)},
                                    {A("diff"), Term::list(std::move(diff))},
                                    {A("legend"), Term(p.legend)}}));
  }
  for (const std::string& n : notes) notes_t.emplace_back(n);
  const char* verdict_name = verdict == Verdict::kOk           ? "ok"
                             : verdict == Verdict::kStepFailed ? "step_failed"
                                                               : "differs";
  Term out = Term::map({{A("release"), Term(release)},
                        {A("old_vsn"), Term(old_vsn)},
                        {A("new_vsn"), Term(new_vsn)},
                        {A("verdict"), A(verdict_name)},
                        {A("from_states_file"), Term(static_cast<long long>(from_states_file))},
                        {A("from_snapshot"), Term(static_cast<long long>(from_snapshot))},
                        {A("steps"), Term::list(std::move(steps_t))},
                        {A("modules"), Term::list(std::move(modules_t))},
                        {A("problems"), Term::list(std::move(problems_t))},
                        {A("notes"), Term::list(std::move(notes_t))}});
  if (!step_failure.ok()) out = out.put("step_failure", Term(step_failure.message()));
  return out;
}

}  // namespace relup::check
