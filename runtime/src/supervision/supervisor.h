// The `supervisor` module: OTP's supervisor, built into the node (every node
// has it loaded, as version "1", without a library). A supervisor is an
// ordinary relup process: an upgrade suspends it like any other, and
// `relup state` shows its children.
//
// Start arguments (a map; the builder and init check them with
// CheckSupervisorArgs):
//   strategy:   one_for_one | one_for_all | rest_for_one | simple_one_for_one
//   intensity:  restarts allowed within period_ms (default 1, OTP's)
//   period_ms:  default 5000
//   children:   [CHILD...], started in order, each init done before the next
//               (simple_one_for_one: exactly one, the template; none starts
//               until start_child)
//   CHILD: {id: ID, module: M, args: A, name: N, restart: R, shutdown: S, type: T}
//     id        unique among the children (an atom or a string)
//     module    the module to start; args its init args (default nil)
//     name      registered name (optional)
//     restart   permanent (default) | transient | temporary
//     shutdown  milliseconds to run terminate (default 5000; infinity for a
//               supervisor child's default) | brutal_kill
//     type      worker (default) | supervisor
//
// Semantics (OTP's):
//   - Children are linked to the supervisor, which traps exits. A child that
//     ends is restarted by its restart type: permanent always, transient
//     unless it ended with :normal, :shutdown or {shutdown: _}, temporary
//     never (and its spec is forgotten).
//   - one_for_one restarts that child; one_for_all stops every other child
//     (in reverse start order) and restarts them all in order; rest_for_one
//     does that with the children started after it.
//   - More than `intensity` restarts within `period_ms`: the supervisor stops
//     every child in reverse order and ends with reason :shutdown; its own
//     supervisor decides what then.
//   - Stopping a child: exit signal :shutdown, then :kill if it has not ended
//     within its shutdown time (brutal_kill: :kill at once). A child that
//     wants its terminate to run traps exits and stops on the signal.
//   - An exit signal from the supervisor's parent (args `parent`, set by a
//     supervisor for its supervisor children) stops every child in reverse
//     order, then the supervisor, with the parent's reason.
//   Nothing here blocks a worker thread: a stop waits for the child's exit
//   message (or a timer) as a message like any other.
//
// Calls (handle_call requests), the supervisor API:
//   :which_children            [{id, pid, module, type, restarts}...] in start order
//   :count_children            {specs, active, workers, supervisors}
//   :info                      {strategy, intensity, period_ms, children: N,
//                              restarts: TOTAL, recent: [{id, reason, at_ms}]}
//   {start_child: CHILD}       a new child (simple_one_for_one: {start_child: ARGS},
//                              appended to the template's args list... see below)
//   {terminate_child: ID}      stops it; its spec stays (restart_child starts it)
//   {restart_child: ID}        starts a stopped child again
//   {delete_child: ID}         forgets a stopped child's spec
//   {start_children: [CHILD...]}  starts them in order, all or none: {ok: [PID...]}
//                              (a release's boot, an upgrade's start step)
//   {remove_child: PID | ID}   forgets a child without stopping it (unlinked,
//                              so its end is not restarted): for the release
//                              handler, which then stops it itself
//   {change_specs: {args, start_stop}}, {restore_specs: SAVED}
//                              an upgrade's new child specs, and their undoing
//                              (tree_change.h)
// Replies are {ok: VALUE} or {error: TEXT}. For simple_one_for_one,
// start_child's ARGS are the template's args when they are nil, or merged
// over them when both are maps; the child's id is its pid.
#pragma once

#include "relup/module_abi.h"
#include "relup/status.h"
#include "relup/term.h"

namespace relup::supervision {

inline constexpr const char* kSupervisorModule = "supervisor";
inline constexpr const char* kSupervisorVsn = "1";

// The built-in module's descriptor (CodeServer::add_builtin).
const ModuleDescriptor& SupervisorDescriptor();

// Checks a supervisor's start arguments: every field, every child spec,
// duplicate ids and registered names. The error names the field (path such
// as "children[2].restart") and the fix.
Status CheckSupervisorArgs(const Term& args);

// Checks a release's `root:` ({strategy, intensity, period_ms}; the root's
// children are the release's processes, and it is never simple_one_for_one).
Status CheckRootArgs(const Term& root);

}  // namespace relup::supervision
