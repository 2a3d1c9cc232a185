// The live supervision tree, read by asking the supervisors (never from the
// release's specs): `relup tree`, and the restarts `relup status` shows.
// Outside threads only (blocking calls to the supervisors).
#pragma once

#include "relup/node.h"
#include "relup/status.h"
#include "relup/term.h"

namespace relup::supervision {

// The tree below `top` (a supervisor):
//   {id, pid, name, module, vsn, type: supervisor, strategy, intensity,
//    period_ms, restarts: N (its own, under its parent), restarts_total: N
//    (of its children), children: [NODE...]}
// a worker child is {id, pid, name, module, vsn, type: worker, restarts}; a
// stopped child has pid nil. A supervisor that does not answer within
// `timeout` (suspended, busy) is shown with error: TEXT instead of children.
Result<Term> SupervisionTree(Node& node, const ProcessRef& top, Millis timeout = Millis(2000));

// What `relup status` shows: {supervisors: N, restarts: TOTAL,
// recent: [{supervisor, id, reason, at_ms}...] (newest last, at most 10)}.
Term SupervisionSummary(Node& node, Millis timeout = Millis(2000));

}  // namespace relup::supervision
