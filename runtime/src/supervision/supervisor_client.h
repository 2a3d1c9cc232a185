// Talking to supervisors from outside their processes: the release handler
// (boot, an upgrade's start and stop steps) and the control service
// (`relup tree`, `relup sup`). Blocking calls, for outside threads only.
#pragma once

#include <string_view>
#include <vector>

#include "relup/node.h"
#include "relup/status.h"
#include "relup/term.h"

namespace relup::supervision {

// For starts, which wait for every init as a spawn does (a stuck init is the
// caller's to report, as the node host's boot --timeout does).
inline constexpr Millis kStartTimeout{365LL * 24 * 3600 * 1000};

// Calls `sup` with {REQUEST: ARG} (or the atom REQUEST when arg is absent)
// and unwraps the reply: {ok: V} gives V, {error: TEXT} a FailedPrecondition
// with TEXT; a process that is not a supervisor, or no reply, is an error
// naming it.
Result<Term> CallSupervisor(Node& node, const ProcessRef& sup, std::string_view request,
                            const Term* arg = nullptr, Millis timeout = kDefaultTimeout);

// Makes every supervisor forget `child` (remove_child), so its end is not
// restarted: before the release handler stops a process itself. Supervisors
// that do not know it are left as they are.
void ForgetChild(Node& node, Pid child);

}  // namespace relup::supervision
