// Live changes of a supervisor's child specs (tree_change.h).
#include "supervision/tree_change.h"

#include <map>
#include <set>
#include <string>

#include "supervision/supervisor.h"
#include "supervision/supervisor_args.h"

namespace relup::supervision {
namespace {

Term A(const char* name) {
  return Term::atom(name);
}

// A child spec as Normalized left it: every key the supervisor reads is
// there, and (but for a dynamic child, whose id is its pid) it passes the
// supervisor's own check.
bool SavedSpec(const Term* spec, bool simple, bool is_template = false) {
  if (spec == nullptr || !spec->is_map()) return false;
  if (!is_template && spec->find("id") == nullptr) return false;
  for (const char* k : {"module", "args", "name", "restart", "shutdown", "type"}) {
    if (spec->find(k) == nullptr) return false;
  }
  return simple || CheckChild(*spec, "saved", false).ok();
}

Term Saved(const Term& state) {
  Term saved = Term::map({});
  for (const char* k : {"strategy", "intensity", "period_ms", "template", "children"}) {
    const Term* v = state.find(k);
    saved.set(k, v != nullptr ? *v : Term());
  }
  return saved;
}

}  // namespace

Result<Term> ChangeSpecs(Term& state, const Term& request, const ChildOps& ops) {
  const Term* args = request.is_map() ? request.find("args") : nullptr;
  if (args == nullptr)
    return Status::InvalidArgument("change_specs: {args: ARGS, start_stop: BOOL}");
  RELUP_RETURN_IF_ERROR(CheckSupervisorArgs(*args));
  const Term* flag = request.find("start_stop");
  const bool start_stop = flag == nullptr || (flag->is_bool() && flag->as_bool());
  auto get = [&](const char* key, Term fallback) {
    const Term* v = args->find(key);
    return v != nullptr && !v->is_nil() ? *v : fallback;
  };
  Term strategy = AsAtom(get("strategy", A("one_for_one")));
  const bool was_simple = state.at("strategy").is_atom("simple_one_for_one");
  if (strategy.is_atom("simple_one_for_one") != was_simple) {
    return Status::FailedPrecondition(
        "the strategy cannot change to or from simple_one_for_one while the supervisor runs (its "
        "children are of another kind); give the new supervisor another name, so the upgrade "
        "stops the old one and starts the new one");
  }
  Term saved = Saved(state);
  Term specs = get("children", Term::list({}));
  state.set("strategy", strategy);
  state.set("intensity", get("intensity", Term(1)));
  state.set("period_ms", get("period_ms", Term(5000)));
  if (was_simple) {
    state.set("template", Normalized(specs[0]));
    return Term::map(
        {{A("saved"), saved}, {A("detached"), Term::list({})}, {A("started"), Term::list({})}});
  }

  std::map<Term, size_t> old_at;  // id -> index in the old children
  const std::vector<Term>& old = saved.at("children").elements();
  for (size_t i = 0; i < old.size(); ++i) old_at[old[i].at("id")] = i;
  std::set<Term> listed;
  std::vector<Term> children, started_pids, started_ids, detached;
  for (const Term& raw : specs.elements()) {
    Term spec = Normalized(raw);
    listed.insert(spec.at("id"));
    auto it = old_at.find(spec.at("id"));
    if (it != old_at.end()) {
      Term c = old[it->second];
      c.set("spec", spec);
      children.push_back(std::move(c));
      continue;
    }
    if (!start_stop) continue;
    Result<Pid> pid = ops.start(spec);
    if (!pid.ok()) {
      for (auto p = started_pids.rbegin(); p != started_pids.rend(); ++p) ops.stop(p->as_pid());
      for (const char* k : {"strategy", "intensity", "period_ms", "template"}) {
        state.set(k, saved.at(k));
      }
      return Status::FailedPrecondition("new child " + Text(spec.at("id")) + " (" +
                                        Text(spec.at("module")) +
                                        ") did not start: " + pid.status().message());
    }
    started_pids.push_back(Term(*pid));
    started_ids.push_back(spec.at("id"));
    children.push_back(Term::map({{A("id"), spec.at("id")},
                                  {A("spec"), spec},
                                  {A("pid"), Term(*pid)},
                                  {A("restarts"), Term(0)}}));
  }
  for (const Term& c : old) {
    if (listed.count(c.at("id"))) continue;
    if (!start_stop) {
      children.push_back(c);  // the root's: a stop step decides
      continue;
    }
    if (c.at("pid").is_pid()) {
      ops.unlink(c.at("pid").as_pid());
      detached.push_back(Term::map({{A("id"), c.at("id")}, {A("pid"), c.at("pid")}}));
    }
  }
  state.set("children", Term::list(std::move(children)));
  return Term::map({{A("saved"), saved},
                    {A("detached"), Term::list(std::move(detached))},
                    {A("started"), Term::list(std::move(started_pids))},
                    {A("started_ids"), Term::list(std::move(started_ids))}});
}

Status RestoreSpecs(Term& state, const Term& saved, const ChildOps& ops, std::vector<Term>* ended) {
  const Term* children = saved.is_map() ? saved.find("children") : nullptr;
  bool shaped = children != nullptr && children->is_list();
  for (const char* k : {"strategy", "intensity", "period_ms", "template"}) {
    shaped = shaped && saved.find(k) != nullptr;
  }
  // Its settings and specs as the supervisor's own checks would pass them.
  const bool simple = shaped && IsWord(saved.at("strategy"), "simple_one_for_one");
  shaped = shaped &&
           OneOf(saved.at("strategy"),
                 {"one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one"}) &&
           saved.at("intensity").is_int() && saved.at("intensity").as_int() >= 0 &&
           saved.at("period_ms").is_int() && saved.at("period_ms").as_int() >= 1 &&
           (!simple || SavedSpec(&saved.at("template"), true, /*is_template=*/true));
  for (size_t i = 0; shaped && i < children->size(); ++i) {
    const Term& c = (*children)[i];
    const Term* pid = c.is_map() ? c.find("pid") : nullptr;
    const Term* restarts = c.is_map() ? c.find("restarts") : nullptr;
    shaped = c.find("id") != nullptr && pid != nullptr && (pid->is_pid() || pid->is_nil()) &&
             restarts != nullptr && restarts->is_int() && SavedSpec(c.find("spec"), simple);
  }
  if (!shaped) {
    return Status::InvalidArgument(
        "restore_specs takes the `saved` that change_specs replied, not " + Show(saved));
  }
  std::set<Term> keep;
  for (const Term& c : saved.at("children").elements()) {
    if (c.at("pid").is_pid()) keep.insert(c.at("pid"));
  }
  for (const Term& c : state.at("children").elements()) {
    const Term& pid = c.at("pid");
    if (pid.is_pid() && !keep.count(pid)) ops.stop(pid.as_pid());
  }
  for (const char* k : {"strategy", "intensity", "period_ms", "template", "children"}) {
    state.set(k, saved.at(k));
  }
  for (Term& c : state.find_mut("children")->mutable_elements()) {
    const Term& pid = c.at("pid");
    if (!pid.is_pid()) continue;
    if (!ops.link(pid.as_pid()).ok()) {
      c.set("pid", Term());
      ended->push_back(c.at("id"));
    }
  }
  return Status::Ok();
}

}  // namespace relup::supervision
