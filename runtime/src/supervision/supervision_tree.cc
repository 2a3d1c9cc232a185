// The live supervision tree (supervision_tree.h).
#include "supervision/supervision_tree.h"

#include <algorithm>
#include <string>
#include <vector>

#include "supervision/supervisor.h"
#include "supervision/supervisor_client.h"

namespace relup::supervision {
namespace {

Term A(const char* name) {
  return Term::atom(name);
}

constexpr int kMaxDepth = 32;

// name and vsn of a live process (nothing when it is gone); its status.
Result<ProcessStatus> Describe(Node& node, const Term& pid, Term& out) {
  if (!pid.is_pid()) return Status::NotFound("not running");
  Result<ProcessStatus> st = node.get_status(pid.as_pid());
  if (!st.ok()) return st;
  out.set("name", st->name.empty() ? Term() : Term(st->name));
  out.set("vsn", Term(st->vsn));
  return st;
}

Term Supervisor(Node& node, Pid pid, Millis timeout, int depth) {
  Term out = Term::map({{A("pid"), Term(pid)}, {A("type"), A("supervisor")}});
  out.set("module", Term(kSupervisorModule));
  Result<ProcessStatus> st = Describe(node, Term(pid), out);
  if (depth > kMaxDepth) {
    out.set("error", Term("deeper than " + std::to_string(kMaxDepth) + " levels: not shown"));
    return out;
  }
  if (st.ok() && st->state == ProcessState::kSuspended) {
    out.set("error", Term("suspended: its children are not shown until it is resumed"));
    return out;
  }
  Result<Term> info = CallSupervisor(node, pid, "info", nullptr, timeout);
  if (!info.ok()) {
    out.set("error", Term(info.status().message()));
    return out;
  }
  for (const char* k : {"strategy", "intensity", "period_ms"}) out.set(k, info->at(k));
  out.set("restarts_total", info->at("restarts"));
  Result<Term> children = CallSupervisor(node, pid, "which_children", nullptr, timeout);
  if (!children.ok()) {
    out.set("error", Term(children.status().message()));
    return out;
  }
  std::vector<Term> nodes;
  for (const Term& c : children->elements()) {
    const Term& cpid = c.at("pid");
    Term n;
    if (c.at("type").is_atom("supervisor") && cpid.is_pid()) {
      n = Supervisor(node, cpid.as_pid(), timeout, depth + 1);
    } else {
      n = Term::map({{A("pid"), cpid}, {A("type"), c.at("type")}, {A("module"), c.at("module")}});
      (void)Describe(node, cpid, n);
    }
    n.set("id", c.at("id"));
    n.set("restarts", c.at("restarts"));
    nodes.push_back(std::move(n));
  }
  out.set("children", Term::list(std::move(nodes)));
  return out;
}

}  // namespace

Result<Term> SupervisionTree(Node& node, const ProcessRef& top, Millis timeout) {
  Result<ProcessStatus> st = node.get_status(top);
  if (!st.ok()) return st.status();
  if (st->module != kSupervisorModule) {
    return Status::InvalidArgument(top.to_string() + " is not a supervisor (it runs " + st->module +
                                   ")");
  }
  return Supervisor(node, st->pid, timeout, 0);
}

Term SupervisionSummary(Node& node, Millis timeout) {
  long long supervisors = 0, total = 0;
  std::vector<Term> recent;
  for (Pid sup : node.processes_running(kSupervisorModule)) {
    ++supervisors;
    Result<ProcessStatus> st = node.get_status(sup);
    if (!st.ok() || st->state == ProcessState::kSuspended) continue;
    Result<Term> info = CallSupervisor(node, sup, "info", nullptr, timeout);
    if (!info.ok()) continue;
    total += info->at("restarts").as_int();
    Term who = !st->name.empty() ? Term(st->name) : Term(sup.to_string());
    for (const Term& r : info->at("recent").elements()) {
      Term e = r;
      e.set("supervisor", who);
      recent.push_back(std::move(e));
    }
  }
  std::sort(recent.begin(), recent.end(), [](const Term& a, const Term& b) {
    return a.at("at_ms").as_int() < b.at("at_ms").as_int();
  });
  constexpr size_t kShow = 10;
  if (recent.size() > kShow) recent.erase(recent.begin(), recent.end() - kShow);
  return Term::map({{A("supervisors"), Term(supervisors)},
                    {A("restarts"), Term(total)},
                    {A("recent"), Term::list(std::move(recent))}});
}

}  // namespace relup::supervision
