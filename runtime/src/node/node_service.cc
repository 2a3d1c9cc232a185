#include "node/node_service.h"

#include <unistd.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "node/control_protocol.h"
#include "node/release_handler.h"
#include "release/release_store.h"
#include "relup/release.h"
#include "supervision/supervision_tree.h"
#include "supervision/supervisor.h"
#include "upgrade/upgrade_report.h"

namespace relup {
namespace {

using control::OptionalBool;
using control::OptionalInt;
using control::OptionalString;
using control::RequiredString;

Term A(std::string_view name) {
  return Term::atom(name);
}

Term ProcessTerm(const ProcessStatus& p) {
  return Term::map({{A("pid"), Term(p.pid.to_string())},
                    {A("name"), Term(p.name)},
                    {A("module"), Term(p.module)},
                    {A("vsn"), Term(p.vsn)},
                    {A("state"), Term(std::string(ProcessStateName(p.state)))},
                    {A("queue"), Term(static_cast<long long>(p.queue_length))}});
}

Term ReleaseTerm(const ReleaseEntry& e) {
  return Term::map({{A("name"), Term(e.name)},
                    {A("vsn"), Term(e.vsn)},
                    {A("state"), Term(std::string(ReleaseStateName(e.state)))},
                    {A("unpacked_at"), Term(e.unpacked_at)}});
}

Result<ProcessRef> Target(const Term& request, std::string_view key = "target") {
  RELUP_ASSIGN_OR_RETURN(std::string text, RequiredString(request, key));
  if (text.empty()) return Status::InvalidArgument("empty process name");
  return ProcessRef::parse(text);
}

// The target list of suspend/resume: `targets: [..]` or a single `target`.
Result<std::vector<ProcessRef>> Targets(const Term& request) {
  std::vector<ProcessRef> out;
  const Term* list = request.find("targets");
  if (!list) {
    RELUP_ASSIGN_OR_RETURN(ProcessRef one, Target(request));
    out.push_back(std::move(one));
    return out;
  }
  if (!list->is_list() || list->size() == 0) {
    return Status::InvalidArgument("'targets' must be a non-empty list of names or pids");
  }
  for (const Term& t : list->elements()) {
    if (!t.is_string())
      return Status::InvalidArgument("'targets' holds a non-string: " + t.to_yaml());
    out.push_back(ProcessRef::parse(t.as_string()));
  }
  return out;
}

Millis TimeoutOf(const Term& request) {
  int64_t ms = OptionalInt(request, "timeout_ms", kDefaultTimeout.count());
  return Millis(ms > 0 ? ms : kDefaultTimeout.count());
}

// code_change's old_vsn from its text: a YAML tuple (the downgrade form
// !tuple [:down, "2"]) is taken as a Term, anything else as the version string.
Term OldVsn(const Term& request) {
  const Term* v = request.find("old_vsn");
  if (!v) return Term();
  if (v->is_string() && v->as_string().rfind("!tuple", 0) == 0) {
    if (auto parsed = Term::parse(v->as_string()); parsed.ok()) return *parsed;
  }
  return *v;
}

}  // namespace

NodeService::NodeService(Node& node, ReleaseStore& store, ReleaseHandler& handler,
                         std::function<void()> request_stop, LogSink log)
    : node_(node),
      store_(store),
      handler_(handler),
      request_stop_(std::move(request_stop)),
      log_(std::move(log)) {}

namespace {

bool ChangesSomething(std::string_view cmd) {
  for (std::string_view read_only :
       {"ping", "status", "ps", "state", "resources", "releases", "tree", "config"}) {
    if (cmd == read_only) return false;
  }
  return true;
}

// One log line for a request and its reply: the request without its `cmd`,
// and the outcome (an upgrade's report is summarized, not dumped).
// At most kMaxLogText bytes of `text`, saying how much was left out: a
// request or an error may be megabytes, and node.log must not grow with it.
std::string Bounded(std::string text) {
  constexpr size_t kMaxLogText = 400;
  if (text.size() <= kMaxLogText) return text;
  size_t total = text.size();
  text.resize(kMaxLogText);
  return text + "... (" + std::to_string(total) + " bytes)";
}

std::string LogLine(std::string_view cmd, const Term& request, const Term& reply) {
  std::string line = "control: " + Bounded(std::string(cmd));
  if (request.is_map()) {
    Term args = request.erase("cmd");
    if (args.size() > 0) line.append(" ").append(Bounded(args.to_yaml()));
  }
  if (const Term* err = reply.find("error")) {
    line += " -> error: " + Bounded(err->is_string() ? err->as_string() : err->to_yaml());
    return line;
  }
  const Term* ok = reply.find("ok");
  if (ok && ok->is_map() && ok->find("outcome")) {
    auto report = UpgradeReport::FromTerm(*ok);
    if (report.ok()) {
      char buf[400];  // two release vsns of up to 64 bytes each, and numbers
      if (report->dry_run) {
        // Nothing paused or changed: what the trial checked.
        std::snprintf(buf, sizeof buf,
                      " -> ok (dry run): %s -> %s, %zu processes checked, nothing changed, %.1f ms",
                      report->from_release.c_str(), report->to_release.c_str(),
                      report->touched_total(), report->total_ms);
      } else {
        std::snprintf(buf, sizeof buf,
                      " -> ok: %s -> %s, %zu processes, pause p50 %lld us p99 %lld us max %lld "
                      "us, %.1f ms",
                      report->from_release.c_str(), report->to_release.c_str(), report->upgraded,
                      static_cast<long long>(report->pause.p50_us),
                      static_cast<long long>(report->pause.p99_us),
                      static_cast<long long>(report->pause.max_us), report->total_ms);
      }
      return line + buf;
    }
  }
  return line + " -> ok";
}

}  // namespace

Term NodeService::handle(const Term& request, const ControlServer::ProgressFn& progress) {
  Term reply = handle_request(request, progress);
  if (log_ && request.is_map()) {
    const Term* cmd = request.find("cmd");
    std::string name = cmd && cmd->is_atom() ? std::string(cmd->as_atom()) : "?";
    if (ChangesSomething(name)) {
      LogLevel level = reply.find("error") ? LogLevel::kWarning : LogLevel::kInfo;
      log_(level, LogLine(name, request, reply));
    }
  }
  return reply;
}

Term NodeService::handle_request(const Term& request, const ControlServer::ProgressFn& progress) {
  if (!request.is_map()) {
    return control::ErrorReply(
        Status::InvalidArgument("a request must be a map {cmd: ...}, not " + request.to_yaml()));
  }
  const Term* cmd = request.find("cmd");
  if (!cmd || !(cmd->is_atom() || cmd->is_string())) {
    return control::ErrorReply(Status::InvalidArgument("request without a 'cmd' field"));
  }
  std::string name = cmd->is_atom() ? std::string(cmd->as_atom()) : cmd->as_string();
  if (name == "apply" || name == "downgrade") {
    // Upgrade replies carry a report on failure too: built here, not in dispatch.
    ApplyOptions options;
    options.dry_run = OptionalBool(request, "dry_run");
    options.atomic = OptionalBool(request, "atomic");
    options.permanent = OptionalBool(request, "permanent");
    const bool with_processes = OptionalBool(request, "processes");
    // {phase: checking | upgrading, done: N, total: M} processes, and
    // {phase: overdue, what: TEXT} from the handler's watchdog thread: one
    // connection, so the frames are sent one at a time.
    std::mutex progress_mu;
    auto report_phase = [&progress, &progress_mu](const char* phase) {
      return [&progress, &progress_mu, phase](size_t done, size_t total) {
        std::lock_guard lock(progress_mu);
        progress(Term::map({{A("phase"), A(phase)},
                            {A("done"), Term(static_cast<long long>(done))},
                            {A("total"), Term(static_cast<long long>(total))}}));
      };
    };
    options.check_progress = report_phase("checking");
    options.progress = report_phase("upgrading");
    options.overdue = [this, &progress, &progress_mu](const std::string& what) {
      if (log_) log_(LogLevel::kWarning, "upgrade: " + what);
      std::lock_guard lock(progress_mu);
      progress(Term::map({{A("phase"), A("overdue")}, {A("what"), Term(what)}}));
    };
    if (name == "apply") {
      auto tarball = RequiredString(request, "tarball");
      if (!tarball.ok()) return control::ErrorReply(tarball.status());
      return upgrade_reply(handler_.Apply(*tarball, options), with_processes);
    }
    auto vsn = RequiredString(request, "vsn");
    if (!vsn.ok()) return control::ErrorReply(vsn.status());
    return upgrade_reply(handler_.Downgrade(*vsn, options), with_processes);
  }
  auto result = dispatch(name, request, progress);
  if (!result.ok()) return control::ErrorReply(result.status());
  return control::OkReply(std::move(result).value());
}

Term NodeService::upgrade_reply(const UpgradeReport& report, bool with_processes) {
  if (report.ok()) return control::OkReply(report.ToTerm(with_processes));
  Term reply = control::ErrorReply(report.status());
  reply = reply.put("outcome", Term(std::string(UpgradeOutcomeName(report.outcome))));
  return reply.put("report", report.ToTerm(with_processes));
}

Result<Term> NodeService::dispatch(std::string_view cmd, const Term& request,
                                   const ControlServer::ProgressFn& /*progress*/) {
  if (cmd == "ping") {
    auto running = store_.running();
    return Term::map({{A("pid"), Term(static_cast<long long>(::getpid()))},
                      {A("root"), Term(store_.root())},
                      {A("release"), Term(running ? running->name : "")},
                      {A("vsn"), Term(running ? running->vsn : "")}});
  }
  if (cmd == "status") return status();
  if (cmd == "ps") return ps(request);
  if (cmd == "tree") return tree(request);
  if (cmd == "config") return node_.config();
  if (cmd == "state") {
    RELUP_ASSIGN_OR_RETURN(ProcessRef target, Target(request));
    return node_.get_state(target, TimeoutOf(request));
  }
  if (cmd == "call") {
    RELUP_ASSIGN_OR_RETURN(ProcessRef target, Target(request));
    const Term* message = request.find("request");
    if (!message) return Status::InvalidArgument("call: missing field 'request'");
    return node_.call(target, *message, TimeoutOf(request));
  }
  if (cmd == "sup") {  // a call that only a supervisor gets (relup sup)
    RELUP_ASSIGN_OR_RETURN(ProcessRef target, Target(request));
    const Term* message = request.find("request");
    if (!message) return Status::InvalidArgument("sup: missing field 'request'");
    RELUP_ASSIGN_OR_RETURN(ProcessStatus st, node_.get_status(target));
    if (st.module != supervision::kSupervisorModule) {
      return Status::InvalidArgument(target.to_string() + " is not a supervisor (it runs " +
                                     st.module + "); relup tree shows the supervisors");
    }
    return node_.call(target, *message, TimeoutOf(request));
  }
  if (cmd == "cast") {
    RELUP_ASSIGN_OR_RETURN(ProcessRef target, Target(request));
    const Term* message = request.find("message");
    if (!message) return Status::InvalidArgument("cast: missing field 'message'");
    RELUP_RETURN_IF_ERROR(node_.cast(target, *message));
    return Term::atom("ok");
  }
  if (cmd == "spawn") {
    RELUP_ASSIGN_OR_RETURN(std::string module, RequiredString(request, "module"));
    const Term* args = request.find("args");
    SpawnOptions options;
    options.name = OptionalString(request, "name");
    RELUP_ASSIGN_OR_RETURN(Pid pid, node_.spawn(module, args ? *args : Term(), options));
    return Term::map({{A("pid"), Term(pid.to_string())}, {A("name"), Term(options.name)}});
  }
  if (cmd == "adopt") {
    RELUP_ASSIGN_OR_RETURN(std::string module, RequiredString(request, "module"));
    const Term* state = request.find("state");
    if (!state) return Status::InvalidArgument("adopt: missing field 'state'");
    SpawnOptions options;
    options.name = OptionalString(request, "name");
    RELUP_ASSIGN_OR_RETURN(Pid pid, node_.adopt(module, *state, options));
    return Term::map({{A("pid"), Term(pid.to_string())}, {A("name"), Term(options.name)}});
  }
  if (cmd == "kill") {
    RELUP_ASSIGN_OR_RETURN(ProcessRef target, Target(request));
    const Term* reason = request.find("reason");
    RELUP_RETURN_IF_ERROR(node_.send_exit(target, reason ? *reason : A("kill")));
    return Term::atom("ok");
  }
  if (cmd == "resources") {
    RELUP_ASSIGN_OR_RETURN(ProcessRef target, Target(request));
    return node_.resources(target);
  }
  if (cmd == "suspend" || cmd == "resume") {
    RELUP_ASSIGN_OR_RETURN(std::vector<ProcessRef> targets, Targets(request));
    std::vector<Term> done;
    for (const ProcessRef& t : targets) {
      Status s = cmd == "suspend" ? node_.suspend(t, TimeoutOf(request)) : node_.resume(t);
      if (!s.ok()) {
        std::string prefix = t.to_string();
        if (!done.empty()) {
          prefix += " (" + std::string(cmd == "suspend" ? "suspended" : "resumed") + " before it: ";
          for (size_t i = 0; i < done.size(); ++i) prefix += (i ? ", " : "") + done[i].as_string();
          prefix += ")";
        }
        return s.WithContext(prefix);
      }
      done.push_back(Term(t.to_string()));
    }
    return Term::list(std::move(done));
  }
  if (cmd == "load") {
    RELUP_ASSIGN_OR_RETURN(std::string path, RequiredString(request, "path"));
    RELUP_ASSIGN_OR_RETURN(ModuleVersionPtr loaded, node_.code_server().load(path));
    const ModuleInfo& info = loaded->info();
    return Term::map({{A("module"), Term(info.name)},
                      {A("vsn"), Term(info.vsn)},
                      {A("build_id"), Term(info.build_id)},
                      {A("sha256"), Term(info.sha256)}});
  }
  if (cmd == "change_code") {
    RELUP_ASSIGN_OR_RETURN(ProcessRef target, Target(request));
    RELUP_ASSIGN_OR_RETURN(std::string module, RequiredString(request, "module"));
    if (!request.find("old_vsn")) return Status::InvalidArgument("change_code: missing 'old_vsn'");
    const Term* extra = request.find("extra");
    std::string to_vsn = OptionalString(request, "to_vsn");
    RELUP_RETURN_IF_ERROR(
        node_.change_code(target, module, OldVsn(request), extra ? *extra : Term(), to_vsn));
    RELUP_ASSIGN_OR_RETURN(ProcessStatus st, node_.get_status(target));
    return ProcessTerm(st);
  }
  if (cmd == "releases") {
    std::vector<Term> out;
    for (const ReleaseEntry& e : store_.releases()) out.push_back(ReleaseTerm(e));
    return Term::list(std::move(out));
  }
  if (cmd == "make_permanent") {
    std::string vsn = OptionalString(request, "vsn");
    if (vsn.empty()) {
      auto running = store_.running();
      if (!running) {
        return Status::FailedPrecondition(
            "no release runs on this node yet: start it with relup node start --release TARBALL");
      }
      vsn = running->vsn;
    }
    RELUP_RETURN_IF_ERROR(handler_.MakePermanent(vsn));
    auto entry = store_.find(vsn);
    return entry ? ReleaseTerm(*entry) : Term();
  }
  if (cmd == "remove") {
    RELUP_ASSIGN_OR_RETURN(std::string vsn, RequiredString(request, "vsn"));
    RELUP_ASSIGN_OR_RETURN(std::vector<std::string> freed, handler_.Remove(vsn));
    std::vector<Term> dirs;
    for (const std::string& d : freed) dirs.emplace_back("lib/" + d);
    return Term::map({{A("vsn"), Term(vsn)}, {A("freed"), Term::list(std::move(dirs))}});
  }
  if (cmd == "stop") {
    request_stop_();
    return Term::atom("stopping");
  }
  return Status::InvalidArgument(
      "unknown command '" + std::string(cmd) +
      "' (this node knows ping, status, ps, tree, config, state, resources, call, sup, cast, "
      "spawn, adopt, kill, "
      "suspend, "
      "resume, load, change_code, releases, make_permanent, remove, apply, downgrade, stop)");
}

namespace {

// {required: bool, trusted: [{id, source}]}: whether release tarballs must
// be signed, and by which keys (node/node_trust.h).
// Read afresh, as the next apply will; when that fails,
// {required: true, trusted: [], error: MESSAGE}.
Term SignaturesTerm(const Result<std::vector<PublicKey>>& keys) {
  if (!keys.ok()) {
    return Term::map({{A("required"), Term(true)},
                      {A("trusted"), Term::list({})},
                      {A("error"), Term(keys.status().message())}});
  }
  std::vector<Term> trusted;
  for (const PublicKey& k : *keys) {
    trusted.push_back(Term::map({{A("id"), Term(k.id)}, {A("source"), Term(k.source)}}));
  }
  return Term::map(
      {{A("required"), Term(!keys->empty())}, {A("trusted"), Term::list(std::move(trusted))}});
}

}  // namespace

Result<Term> NodeService::status() {
  auto running = store_.running();
  auto permanent = store_.permanent();
  std::vector<ProcessStatus> procs = node_.processes();

  // Every loaded version, with the number of processes on it (0 included):
  // an old version still loaded is worth seeing.
  std::map<std::pair<std::string, std::string>, long long> counts;
  for (const ModuleVersionPtr& v : node_.code_server().loaded()) counts[{v->name(), v->vsn()}];
  std::vector<Term> suspended;
  for (const ProcessStatus& p : procs) {
    ++counts[{p.module, p.vsn}];
    if (p.state == ProcessState::kSuspended) suspended.push_back(ProcessTerm(p));
  }
  std::vector<Term> modules;
  for (const auto& [key, n] : counts) {
    auto current = node_.code_server().current(key.first);
    bool is_current = current && current->vsn() == key.second;
    modules.push_back(Term::map({{A("module"), Term(key.first)},
                                 {A("vsn"), Term(key.second)},
                                 {A("processes"), Term(n)},
                                 {A("current"), Term(is_current)}}));
  }
  auto uptime =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
  return Term::map({
      {A("root"), Term(store_.root())},
      {A("node_pid"), Term(static_cast<long long>(::getpid()))},
      {A("uptime_s"), Term(static_cast<long long>(uptime.count()))},
      {A("release"),
       running ? Term::map({{A("name"), Term(running->name)},
                            {A("vsn"), Term(running->vsn)},
                            {A("state"), Term(std::string(ReleaseStateName(running->state)))}})
               : Term()},
      {A("permanent"), Term(permanent ? permanent->vsn : "")},
      {A("processes"), Term(static_cast<long long>(procs.size()))},
      {A("modules"), Term::list(std::move(modules))},
      {A("suspended"), Term::list(std::move(suspended))},
      {A("io"), node_.io_stats()},
      {A("overdue"), Term(handler_.Overdue())},
      {A("signatures"), SignaturesTerm(handler_.trusted_keys())},
      {A("supervision"), supervision::SupervisionSummary(node_, Millis(500))},
  });
}

// {tree: NODE (supervision_tree.h), unsupervised: N, outside: [PROCESS...]
// (the first kShownOutside of the processes no supervisor in the tree holds,
// when the tree is the root's)}.
Result<Term> NodeService::tree(const Term& request) {
  std::string top = OptionalString(request, "target");
  bool whole = top.empty();
  ProcessRef ref = whole ? ProcessRef(kRootSupervisorName) : ProcessRef::parse(top);
  if (whole && !node_.whereis(kRootSupervisorName).ok()) {
    return Status::NotFound(std::string("this node has no root supervisor (") +
                            kRootSupervisorName +
                            "): its processes were not started from a release");
  }
  RELUP_ASSIGN_OR_RETURN(Term tree, supervision::SupervisionTree(node_, ref));
  Term out = Term::map({{A("tree"), tree}});
  if (!whole) return out;
  std::set<Pid> in_tree;
  std::vector<const Term*> stack{&tree};
  while (!stack.empty()) {
    const Term* n = stack.back();
    stack.pop_back();
    if (const Term* pid = n->find("pid"); pid != nullptr && pid->is_pid()) {
      in_tree.insert(pid->as_pid());
    }
    if (const Term* cs = n->find("children"); cs != nullptr && cs->is_list()) {
      for (const Term& c : cs->elements()) stack.push_back(&c);
    }
  }
  constexpr size_t kShownOutside = 20;
  long long outside = 0;
  std::vector<Term> shown;
  for (const ProcessStatus& p : node_.processes()) {
    if (in_tree.count(p.pid)) continue;
    ++outside;
    if (shown.size() < kShownOutside) shown.push_back(ProcessTerm(p));
  }
  out.set("unsupervised", Term(outside));
  out.set("outside", Term::list(std::move(shown)));
  return out;
}

// Every process; with states: true, each with its server state as well
// (`server_state`, or `state_error` for one that did not reach a message
// boundary within the request's timeout): one request instead of one
// `relup state` per process.
Result<Term> NodeService::ps(const Term& request) {
  bool states = OptionalBool(request, "states");
  Millis wait = TimeoutOf(request);
  std::vector<Term> out;
  for (const ProcessStatus& p : node_.processes()) {
    Term row = ProcessTerm(p);
    if (states) {
      Result<Term> state = node_.get_state(p.pid, wait);
      if (state.ok()) {
        row.set("server_state", *state);
      } else {
        row.set("state_error", Term(state.status().message()));
      }
    }
    out.push_back(std::move(row));
  }
  return Term::list(std::move(out));
}

}  // namespace relup
