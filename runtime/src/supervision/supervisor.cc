// The built-in supervisor module (supervisor.h has the contract).
//
// Its state's layout, and the functions that read and change it, are
// supervisor_state.h.
#include "supervision/supervisor.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "relup/server.h"
#include "supervision/supervisor_args.h"
#include "supervision/supervisor_state.h"
#include "supervision/tree_change.h"

namespace relup::supervision {

namespace {

Term A(const char* name) {
  return Term::atom(name);
}

Term Ok(Term v) {
  return Term::map({{A("ok"), std::move(v)}});
}
Term Error(std::string text) {
  return Term::map({{A("error"), Term(std::move(text))}});
}

}  // namespace

namespace {

class Supervisor : public Server {
 public:
  Result<Term> init(const Term& args) {
    if (Status s = CheckSupervisorArgs(args); !s.ok()) {
      return error("supervisor args: " + s.message());
    }
    ctx().trap_exit(true);
    auto get = [&](const char* key, Term fallback) {
      const Term* v = args.find(key);
      return v != nullptr && !v->is_nil() ? *v : fallback;
    };
    Term state = Term::map({{A("strategy"), AsAtom(get("strategy", A("one_for_one")))},
                            {A("intensity"), get("intensity", Term(1))},
                            {A("period_ms"), get("period_ms", Term(5000))},
                            {A("parent"), get("parent", Term())},
                            {A("template"), Term()},
                            {A("children"), Term::list({})},
                            {A("restarts"), Term::list({})},
                            {A("op"), Term()}});
    Term specs = get("children", Term::list({}));
    if (Simple(state)) {
      state.set("template", Normalized(specs[0]));
      return state;
    }
    std::vector<Term> started;
    for (const Term& raw : specs.elements()) {
      Term spec = Normalized(raw);
      Result<Pid> pid = StartChild(spec);
      if (!pid.ok()) {
        // OTP: a child that fails to start fails the supervisor; the ones
        // already started are stopped, last first.
        for (auto it = started.rbegin(); it != started.rend(); ++it) {
          (void)ctx().exit(it->at("pid").as_pid(), A("shutdown"));
        }
        return error("child " + Text(spec.at("id")) + " (" + Text(spec.at("module")) +
                     ") did not start: " + pid.status().message());
      }
      started.push_back(Child(spec, *pid));
    }
    state.set("children", Term::list(std::move(started)));
    return state;
  }

  Result<CallOutcome> handle_call(const Term& request, const From& from, Term& state) {
    if (request.is_atom("which_children")) return reply(WhichChildren(state));
    if (request.is_atom("count_children")) return reply(CountChildren(state));
    if (request.is_atom("info")) return reply(Info(state));
    if (!request.is_map() || request.size() != 1) {
      return reply(Error("unknown supervisor request " + Show(request) +
                         "; one of which_children, count_children, info, {start_child: ...}, "
                         "{terminate_child: ID}, {restart_child: ID}, {delete_child: ID}"));
    }
    if (!state.at("op").is_nil()) {
      return reply(Error("the supervisor is busy stopping children (" +
                         Show(state.at("op").at("stopping")) + "); try again"));
    }
    const auto& [key, arg] = request.entries()[0];
    if (key.is_atom("start_child")) return reply(StartChildCall(arg, state));
    if (key.is_atom("start_children")) return reply(StartChildrenCall(arg, state));
    if (key.is_atom("remove_child")) return reply(RemoveChildCall(arg, state));
    if (key.is_atom("change_specs")) {
      Result<Term> changed = ChangeSpecs(state, arg, Ops());
      if (!changed.ok()) return reply(Error("change_specs: " + changed.status().message()));
      log("child specs changed by an upgrade: " + std::to_string(changed->at("started").size()) +
          " started, " + std::to_string(changed->at("detached").size()) + " to stop");
      return reply(Ok(*changed));
    }
    if (key.is_atom("restore_specs")) {
      std::vector<Term> ended;
      if (Status s = RestoreSpecs(state, arg, Ops(), &ended); !s.ok()) {
        return reply(Error(s.message()));
      }
      log("child specs restored by a rollback");
      if (!ended.empty()) {
        (void)ctx().send_after(0, Term::map({{A("supervisor_restart"), Term::list(ended)}}));
      }
      return reply(Ok(A("ok")));
    }
    if (key.is_atom("restart_child")) return reply(RestartChildCall(arg, state));
    if (key.is_atom("delete_child")) return reply(DeleteChildCall(arg, state));
    if (key.is_atom("terminate_child")) {
      int i = FindChild(state, arg);
      if (i < 0) return reply(Error("terminate_child: no child " + Show(arg)));
      Term id = Children(state)[static_cast<size_t>(i)].at("id");
      if (Children(state)[static_cast<size_t>(i)].at("pid").is_nil()) {
        if (Simple(state)) RemoveChild(state, static_cast<size_t>(i));
        return reply(Ok(A("ok")));
      }
      Term then = Term::map({{A("reply"), Term::tuple({A("from"), EncodeFrom(from)})}});
      StartOp(state, {id}, then);
      RELUP_RETURN_IF_ERROR(Continue(state).status());  // a reply op never ends it
      return noreply();
    }
    return reply(Error("unknown supervisor request " + Show(key)));
  }

  Result<MessageOutcome> handle_info(const Term& msg, Term& state) {
    if (const Term* who = msg.find("exit"); who != nullptr && msg.find("reason") != nullptr) {
      return OnExit(*who, msg.at("reason"), state);
    }
    if (const Term* pid = msg.find("supervisor_shutdown_timeout")) {
      const Term& op = state.at("op");
      if (!op.is_nil() && !op.at("current").is_nil()) {
        int i = FindById(state, op.at("current"));
        if (i >= 0 && Children(state)[static_cast<size_t>(i)].at("pid") == *pid) {
          log("child " + Text(op.at("current")) + " " + Show(*pid) +
              " did not stop within its shutdown time: killed");
          (void)ctx().exit(pid->as_pid(), A("kill"));
        }
      }
      return cont();
    }
    if (const Term* ids = msg.find("supervisor_restart")) {
      // A restart that failed, or that waited for the op in progress; each
      // attempt counts toward the intensity.
      if (!state.at("op").is_nil()) {
        (void)ctx().send_after(10, msg);
        return cont();
      }
      if (!CountRestart(state)) return GiveUp(state, "restarting " + Show(*ids));
      StartOp(state, {}, Term::map({{A("restart"), *ids}}));
      return Outcome(state);
    }
    log("unexpected message " + Show(msg));
    return cont();
  }

 private:
  Result<Pid> StartChild(const Term& spec) {
    Term args = spec.at("args");
    if (spec.at("type").is_atom("supervisor")) {
      // A supervisor child knows its parent, to stop with it.
      if (args.is_nil()) args = Term::map({});
      if (args.is_map()) args.set("parent", Term(ctx().self()));
    }
    SpawnOptions options;
    if (const Term& name = spec.at("name"); !name.is_nil()) options.name = Text(name);
    options.link = true;
    RELUP_ASSIGN_OR_RETURN(Spawned s, ctx().spawn(Text(spec.at("module")), args, options));
    return s.pid;
  }

  // What tree_change.h does to processes, on this supervisor's context.
  ChildOps Ops() {
    ChildOps ops;
    ops.start = [this](const Term& spec) { return StartChild(spec); };
    ops.stop = [this](Pid pid) {
      (void)ctx().unlink(pid);
      (void)ctx().exit(pid, A("shutdown"));
    };
    ops.unlink = [this](Pid pid) { (void)ctx().unlink(pid); };
    ops.link = [this](Pid pid) { return ctx().link(pid); };
    return ops;
  }

  // ------------------------------------------------------------ calls

  Term WhichChildren(const Term& state) {
    std::vector<Term> out;
    for (const Term& c : Children(state)) {
      out.push_back(Term::map({{A("id"), c.at("id")},
                               {A("pid"), c.at("pid")},
                               {A("module"), c.at("spec").at("module")},
                               {A("type"), c.at("spec").at("type")},
                               {A("restarts"), c.at("restarts")}}));
    }
    return Ok(Term::list(std::move(out)));
  }

  Term Info(const Term& state) {
    const Term* total = state.find("restarts_total");
    const Term* recent = state.find("recent_restarts");
    return Ok(Term::map({{A("strategy"), state.at("strategy")},
                         {A("intensity"), state.at("intensity")},
                         {A("period_ms"), state.at("period_ms")},
                         {A("children"), Term(static_cast<long long>(Children(state).size()))},
                         {A("restarts"), total != nullptr ? *total : Term(0)},
                         {A("recent"), recent != nullptr ? *recent : Term::list({})}}));
  }

  Term CountChildren(const Term& state) {
    long long active = 0, workers = 0, sups = 0;
    for (const Term& c : Children(state)) {
      if (!c.at("pid").is_nil()) ++active;
      (c.at("spec").at("type").is_atom("supervisor") ? sups : workers) += 1;
    }
    return Ok(Term::map({{A("specs"), Term(static_cast<long long>(Children(state).size()))},
                         {A("active"), Term(active)},
                         {A("workers"), Term(workers)},
                         {A("supervisors"), Term(sups)}}));
  }

  Term StartChildCall(const Term& arg, Term& state) {
    Term spec;
    if (Simple(state)) {
      spec = state.at("template");
      if (!arg.is_nil()) {
        Term args = spec.at("args");
        if (args.is_map() && arg.is_map()) {
          for (const auto& [k, v] : arg.entries()) args.set(k, v);
        } else {
          args = arg;
        }
        spec.set("args", std::move(args));
      }
    } else {
      if (Status s = CheckChild(arg, "start_child", false); !s.ok()) return Error(s.message());
      spec = Normalized(arg);
      if (FindById(state, spec.at("id")) >= 0) {
        return Error("start_child: a child " + Text(spec.at("id")) +
                     " exists already; delete_child it first or use another id");
      }
    }
    Result<Pid> pid = StartChild(spec);
    if (!pid.ok()) return Error("start_child: " + pid.status().message());
    if (Simple(state)) spec.set("id", Term(*pid));
    state.find_mut("children")->mutable_elements().push_back(Child(spec, *pid));
    log("started child " + Text(spec.at("id")) + " " + pid->to_string());
    return Ok(Term(*pid));
  }

  // Many children in one request, in order (a release's boot and an
  // upgrade's start steps): ids are checked against a set, so a pool of
  // 100,000 costs no more than its starts. All or nothing: a child that does
  // not start stops the ones this request started, last first.
  Term StartChildrenCall(const Term& specs, Term& state) {
    if (Simple(state)) return Error("start_children: not for simple_one_for_one; use start_child");
    if (!specs.is_list()) return Error("start_children: a list of child specs, not " + Show(specs));
    std::set<Term> ids;
    for (const Term& c : Children(state)) ids.insert(c.at("id"));
    std::vector<Term> normalized;
    for (size_t i = 0; i < specs.size(); ++i) {
      std::string where = "start_children[" + std::to_string(i) + "]";
      if (Status s = CheckChild(specs[i], where, false); !s.ok()) return Error(s.message());
      Term spec = Normalized(specs[i]);
      if (!ids.insert(spec.at("id")).second) {
        return Error(where + ": a child " + Text(spec.at("id")) +
                     " exists already; delete_child it first or use another id");
      }
      normalized.push_back(std::move(spec));
    }
    std::vector<Term> started, pids;
    for (const Term& spec : normalized) {
      Result<Pid> pid = StartChild(spec);
      if (!pid.ok()) {
        ChildOps ops = Ops();
        for (auto it = started.rbegin(); it != started.rend(); ++it) {
          ops.stop(it->at("pid").as_pid());
        }
        return Error("child " + Text(spec.at("id")) + " (" + Text(spec.at("module")) +
                     ") did not start: " + pid.status().message());
      }
      started.push_back(Child(spec, *pid));
      pids.push_back(Term(*pid));
    }
    auto& cs = state.find_mut("children")->mutable_elements();
    for (Term& c : started) cs.push_back(std::move(c));
    log("started " + std::to_string(pids.size()) + " children");
    return Ok(Term::list(std::move(pids)));
  }

  // Forgets a child without stopping it (by pid, or by id): unlinked, its
  // spec gone, so its end is not restarted. For the release handler, which
  // stops it itself (an upgrade's stop step, a rolled-back start).
  Term RemoveChildCall(const Term& who, Term& state) {
    int i = FindChild(state, who);
    if (i < 0) return Error("remove_child: no child " + Show(who));
    const Term& pid = Children(state)[static_cast<size_t>(i)].at("pid");
    if (pid.is_pid()) (void)ctx().unlink(pid.as_pid());
    RemoveChild(state, static_cast<size_t>(i));
    return Ok(A("ok"));
  }

  Term RestartChildCall(const Term& id, Term& state) {
    int i = FindChild(state, id);
    if (i < 0) return Error("restart_child: no child " + Show(id));
    Term& c = MutableChild(state, static_cast<size_t>(i));
    if (!c.at("pid").is_nil()) return Error("restart_child: " + Text(id) + " is running");
    Result<Pid> pid = StartChild(c.at("spec"));
    if (!pid.ok()) return Error("restart_child: " + pid.status().message());
    c.set("pid", Term(*pid));
    return Ok(Term(*pid));
  }

  Term DeleteChildCall(const Term& id, Term& state) {
    int i = FindChild(state, id);
    if (i < 0) return Error("delete_child: no child " + Show(id));
    if (!Children(state)[static_cast<size_t>(i)].at("pid").is_nil()) {
      return Error("delete_child: " + Text(id) + " is running; terminate_child it first");
    }
    RemoveChild(state, static_cast<size_t>(i));
    return Ok(A("ok"));
  }

  // ------------------------------------------------------------ exits

  Result<MessageOutcome> OnExit(const Term& who, const Term& reason, Term& state) {
    const Term& parent = state.at("parent");
    if (!parent.is_nil() && who == parent) {
      // Our supervisor (or whoever started us linked) is going: every child
      // stops, last first, then we go with its reason.
      std::vector<Term> all = RunningIds(state, 0);
      StartOp(state, all, Term::map({{A("exit"), reason}}), /*replace=*/true);
      return Outcome(state);
    }
    if (!who.is_pid()) return cont();
    // Most often the child an op is stopping: found where the op left it.
    int i = FindByPidNear(state, who.as_pid(), AtHint(state.at("op")));
    if (i < 0) return cont();  // not a child (a link someone else made)
    Term id = Children(state)[static_cast<size_t>(i)].at("id");
    MutableChild(state, static_cast<size_t>(i)).set("pid", Term());
    MutableChild(state, static_cast<size_t>(i)).set("last_exit", reason);

    Term* op = state.find_mut("op");
    if (!op->is_nil()) {
      if (op->at("current") == id) {
        if (!op->at("timer").is_nil()) (void)ctx().cancel_timer(op->at("timer"));
        op->set("current", Term());
        op->set("timer", Term());
        return Outcome(state);
      }
      // One it was about to stop went by itself: nothing left to stop there.
      std::vector<Term> rest;
      for (const Term& s : op->at("stopping").elements()) {
        if (s != id) rest.push_back(s);
      }
      op->set("stopping", Term::list(std::move(rest)));
      // A child the op will restart anyway needs nothing more; another one
      // ending on its own is handled below, after the op.
      const Term* then = op->find("then");
      if (then != nullptr && then->find("restart") != nullptr) {
        for (const Term& r : then->at("restart").elements()) {
          if (r == id) return Outcome(state);
        }
      }
      if (then != nullptr && then->find("exit") != nullptr) return Outcome(state);
    }

    const Term& spec = Children(state)[static_cast<size_t>(i)].at("spec");
    const Term& restart = spec.at("restart");
    bool quiet = reason.is_atom("normal") || reason.is_atom("shutdown") ||
                 (reason.is_map() && reason.find("shutdown") != nullptr) ||
                 (reason.is_tuple() && reason.size() == 2 && reason[0].is_atom("shutdown"));
    std::string what = "child " + Text(id) + " " + Show(who) + " ended with " + Show(reason);
    if (restart.is_atom("temporary") || (restart.is_atom("transient") && quiet)) {
      log(what + "; not restarted (" + Text(restart) + ")");
      // A temporary child's spec is forgotten, and so is a dynamic child's
      // (simple_one_for_one): only a static transient child keeps its spec.
      if (restart.is_atom("temporary") || Simple(state)) RemoveChild(state, static_cast<size_t>(i));
      return Outcome(state);
    }
    if (!state.at("op").is_nil()) {
      // An op is under way: restart this one after it (counted then).
      log(what + "; restarting after the stop under way");
      (void)ctx().send_after(0, Term::map({{A("supervisor_restart"), Term::list({id})}}));
      return cont();
    }
    if (!CountRestart(state)) return GiveUp(state, what);
    const Term& strategy = state.at("strategy");
    std::vector<Term> stop, again{id};
    if (strategy.is_atom("one_for_all")) {
      stop = RunningIds(state, 0);
      for (const Term& c : Children(state)) {
        if (c.at("id") != id && !c.at("pid").is_nil()) again.push_back(c.at("id"));
      }
    } else if (strategy.is_atom("rest_for_one")) {
      stop = RunningIds(state, static_cast<size_t>(i) + 1);
      for (size_t k = static_cast<size_t>(i) + 1; k < Children(state).size(); ++k) {
        if (!Children(state)[k].at("pid").is_nil()) again.push_back(Children(state)[k].at("id"));
      }
    }
    log(what + "; restarting" +
        (stop.empty() ? std::string()
                      : " with " + std::to_string(stop.size()) + " more (" + Text(strategy) + ")"));
    // `at`: where the child that ended is, so a one_for_one restart finds it at once.
    StartOp(state, stop,
            Term::map({{A("restart"), Term::list(std::move(again))},
                       {A("at"), Term(static_cast<long long>(i))}}));
    return Outcome(state);
  }

  // Too many restarts: every child stops, last first, then this supervisor,
  // with reason :shutdown (OTP's); its own supervisor decides what then.
  Result<MessageOutcome> GiveUp(Term& state, const std::string& what) {
    log(what + "; more than " + Show(state.at("intensity")) + " restarts in " +
        Show(state.at("period_ms")) +
        " ms (reached_max_restart_intensity): stopping every child, then this supervisor");
    StartOp(state, RunningIds(state, 0), Term::map({{A("exit"), A("shutdown")}}),
            /*replace=*/true);
    return Outcome(state);
  }

  // ------------------------------------------------------------ ops

  // `stopping` comes last first (RunningIds); the op keeps it in start order
  // and takes from the back, so each step is O(1).
  static void StartOp(Term& state, std::vector<Term> stopping, Term then, bool replace = false) {
    std::reverse(stopping.begin(), stopping.end());
    Term* op = state.find_mut("op");
    if (!op->is_nil() && replace) {
      // Keep waiting for the child being stopped now; the rest is replaced.
      Term current = op->at("current"), timer = op->at("timer");
      std::vector<Term> rest;
      for (Term& s : stopping) {
        if (s != current) rest.push_back(std::move(s));
      }
      Term at = op->find("at") != nullptr ? op->at("at") : Term();  // the one being stopped
      *op = Term::map({{A("stopping"), Term::list(std::move(rest))},
                       {A("current"), current},
                       {A("at"), at},
                       {A("timer"), timer},
                       {A("then"), std::move(then)}});
      return;
    }
    *op = Term::map({{A("stopping"), Term::list(std::move(stopping))},
                     {A("current"), Term()},
                     {A("at"), Term()},
                     {A("timer"), Term()},
                     {A("then"), std::move(then)}});
  }

  // Drives the op: stops the next child, or does `then` once all are
  // stopped. True if the supervisor must now end (op->then is exit).
  Result<bool> Continue(Term& state) {
    for (;;) {
      Term* op = state.find_mut("op");
      if (op->is_nil() || !op->at("current").is_nil()) return false;
      std::vector<Term>& stopping = op->find_mut("stopping")->mutable_elements();
      if (!stopping.empty()) {
        Term id = std::move(stopping.back());
        stopping.pop_back();
        int i = FindByIdNear(state, id, AtHint(*op));
        if (i < 0 || Children(state)[static_cast<size_t>(i)].at("pid").is_nil()) continue;
        const Term& c = Children(state)[static_cast<size_t>(i)];
        Pid pid = c.at("pid").as_pid();
        const Term& shutdown = c.at("spec").at("shutdown");
        op = state.find_mut("op");
        op->set("current", id);
        op->set("at", Term(static_cast<long long>(i)));
        if (shutdown.is_atom("brutal_kill")) {
          (void)ctx().exit(pid, A("kill"));
        } else {
          (void)ctx().exit(pid, A("shutdown"));
          if (shutdown.is_int()) {
            Result<Term> timer = ctx().send_after(
                shutdown.as_int(), Term::map({{A("supervisor_shutdown_timeout"), Term(pid)}}));
            if (timer.ok()) op->set("timer", *timer);
          }
        }
        return false;  // its exit message goes on from here
      }
      Term then = op->at("then");
      *op = Term();
      if (const Term* reason = then.find("exit")) {
        state.set("exit_reason", *reason);
        return true;
      }
      if (const Term* from = then.find("reply")) {
        ctx().reply(DecodeFrom((*from)[1]), Ok(A("ok")));
        if (Simple(state)) RemoveStopped(state);
        return false;
      }
      if (const Term* ids = then.find("restart")) Restart(state, *ids, AtHint(then));
      return false;
    }
  }

  // Starts the listed children, in start order. One that does not start is
  // counted as a restart and tried again shortly (as OTP does), so a child
  // that can never start ends in the restart intensity.
  // `hint`: where the first of `ids` probably is (-1: unknown).
  void Restart(Term& state, const Term& ids, int64_t hint = -1) {
    std::vector<Term> retry;
    // The children to start, in start order: one found at its hint, or all
    // those listed (looked up in a set, so a pool's restart is not quadratic).
    std::vector<size_t> todo;
    if (ids.size() == 1) {
      if (int k = FindByIdNear(state, ids[0], hint); k >= 0) todo.push_back(static_cast<size_t>(k));
    } else {
      const std::set<Term> listed(ids.elements().begin(), ids.elements().end());
      const auto& cs = Children(state);
      for (size_t k = 0; k < cs.size(); ++k) {
        if (listed.count(cs[k].at("id")) != 0) todo.push_back(k);
      }
    }
    for (size_t k : todo) {
      if (!Children(state)[k].at("pid").is_nil()) continue;
      const Term id = Children(state)[k].at("id");
      Term& c = MutableChild(state, k);
      Result<Pid> pid = StartChild(c.at("spec"));
      if (pid.ok()) {
        c.set("pid", Term(*pid));
        c.set("restarts", Term(c.at("restarts").as_int() + 1));
        const Term* why = c.find("last_exit");
        Term reason = why != nullptr ? *why : Term();
        log("child " + Text(id) + " restarted as " + pid->to_string());
        RecordRestart(state, id, reason);
      } else {
        log("child " + Text(id) + " did not restart: " + pid.status().message());
        retry.push_back(id);
      }
    }
    if (!retry.empty()) {
      (void)ctx().send_after(10, Term::map({{A("supervisor_restart"), Term::list(retry)}}));
    }
  }

  static void RemoveStopped(Term& state) {
    auto& cs = state.find_mut("children")->mutable_elements();
    cs.erase(
        std::remove_if(cs.begin(), cs.end(), [](const Term& c) { return c.at("pid").is_nil(); }),
        cs.end());
  }

  Result<MessageOutcome> Outcome(Term& state) {
    RELUP_ASSIGN_OR_RETURN(bool stop, Continue(state));
    if (!stop) return cont();
    Term reason = state.at("exit_reason");
    return this->stop(reason);
  }
};

}  // namespace

const ModuleDescriptor& SupervisorDescriptor() {
  static const ModuleDescriptor d =
      detail::MakeDescriptor<Supervisor>(kSupervisorModule, kSupervisorVsn, "builtin");
  return d;
}

}  // namespace relup::supervision
