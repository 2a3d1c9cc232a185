// Changing a running supervisor's child specs, as an upgrade does
// (`update: {supervisor: NAME}`), and undoing that on a rollback. Pure
// functions over the supervisor's state (supervisor.cc documents it); the
// process operations come in through ChildOps, so the supervisor runs them
// on its own context.
#pragma once

#include <functional>
#include <vector>

#include "relup/status.h"
#include "relup/term.h"

namespace relup::supervision {

struct ChildOps {
  std::function<Result<Pid>(const Term& spec)> start;  // spawn linked
  std::function<void(Pid)> stop;                       // unlink, exit :shutdown
  std::function<void(Pid)> unlink;
  std::function<Status(Pid)> link;  // not ok: it has ended
};

// {change_specs: {args: ARGS, start_stop: BOOL}}: ARGS as the supervisor's
// start args (CheckSupervisorArgs). Strategy, intensity and period_ms apply
// at once; a child whose id stays gets the new spec (used from its next
// restart) and keeps its process. With start_stop, children new in ARGS are
// started in order and children gone from it are detached: unlinked and
// forgotten but not stopped (the caller holds and then stops them, or gives
// them back with RestoreSpecs). Without it (the root, whose children come
// and go by start and stop steps), only specs and settings change.
// All or nothing: a child that does not start undoes the request.
// Returns {saved: SAVED, detached: [{id, pid}], started: [PID...],
// started_ids: [ID...]}.
Result<Term> ChangeSpecs(Term& state, const Term& request, const ChildOps& ops);

// Puts back the state ChangeSpecs saved: the children it started are
// stopped, the detached ones linked again. Ids of children whose process
// ended meanwhile are added to `ended` (the caller restarts them). `saved`
// comes over a call, so anything not shaped as ChangeSpecs made it is
// refused (InvalidArgument) with the state untouched.
Status RestoreSpecs(Term& state, const Term& saved, const ChildOps& ops, std::vector<Term>* ended);

}  // namespace relup::supervision
