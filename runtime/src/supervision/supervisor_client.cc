// Outside-thread calls to supervisors (supervisor_client.h).
#include "supervision/supervisor_client.h"

#include <string>

#include "supervision/supervisor.h"

namespace relup::supervision {

Result<Term> CallSupervisor(Node& node, const ProcessRef& sup, std::string_view request,
                            const Term* arg, Millis timeout) {
  Term req = arg == nullptr ? Term::atom(request) : Term::map({{Term::atom(request), *arg}});
  Result<Term> reply = node.call(sup, req, timeout);
  if (!reply.ok()) return reply.status();
  if (const Term* v = reply->find("ok"); v != nullptr && reply->size() == 1) return *v;
  if (const Term* e = reply->find("error"); e != nullptr && reply->size() == 1) {
    return Status::FailedPrecondition(e->is_string() ? e->as_string() : e->to_yaml());
  }
  return Status::InvalidArgument("not a supervisor: it replied " + reply->to_yaml() + " to " +
                                 req.to_yaml());
}

void ForgetChild(Node& node, Pid child) {
  // A supervisor is linked to each of its children: ask only those.
  Result<Term> held = node.resources(child);
  if (!held.ok()) return;
  const Term* links = held->find("links");
  if (links == nullptr || !links->is_list()) return;
  Term who(child);
  for (const Term& l : links->elements()) {
    if (!l.is_pid()) continue;
    Result<ProcessStatus> st = node.get_status(l.as_pid());
    if (!st.ok() || st->module != kSupervisorModule) continue;
    (void)CallSupervisor(node, l.as_pid(), "remove_child", &who);
  }
}

}  // namespace relup::supervision
