// The built-in supervisor's state (supervisor.cc runs it): its layout, and
// the functions that find, add and remove children in it and count its
// restarts. The state is an ordinary Term, so `relup state` shows it and an
// upgrade's snapshot and rollback carry it like any process's.
//
// State (what `relup state` shows):
//   {strategy, intensity, period_ms, parent: PID | nil,
//    template: CHILD | nil                 simple_one_for_one's child spec
//    children: [{id, spec, pid, restarts, last_exit}] in start order; pid nil
//                                          if stopped; last_exit its last reason
//    restarts: [MS...]                     when the recent restarts happened
//    restarts_total: N, recent_restarts: [{id, reason, at_ms}] (the last 5;
//                                          wall-clock ms), for `relup status`
//    op: nil | {stopping: [ID...], current: ID | nil, at: INDEX | nil,
//               timer: REF | nil,
//               then: {restart: [ID...], at: INDEX} | {exit: REASON} | {reply: FROM}}}
// An op stops children one at a time (the `stopping` list from its end: it
// is in start order, and children stop last first; each waited for through
// its exit message or its shutdown timer), then does `then`. `at` is the
// index of the one being stopped. While an op runs, the calls that would
// start one are refused.
#pragma once

#include <cstdint>
#include <vector>

#include "relup/module_abi.h"  // From
#include "relup/term.h"

namespace relup::supervision {

// simple_one_for_one?
bool Simple(const Term& state);
const std::vector<Term>& Children(const Term& state);
// A children entry for a child started from `spec`.
Term Child(const Term& spec, Pid pid);
// Indexes into Children(state); -1 when there is none.
int FindById(const Term& state, const Term& id);
// The same, looking first at `hint` and then outwards down from it: O(1)
// when children are visited last first, as an op stops them.
int FindByIdNear(const Term& state, const Term& id, int64_t hint);
// By pid, looking at `hint` first (the child an op is stopping).
int FindByPidNear(const Term& state, Pid pid, int64_t hint);
// The index hint a map (an op, or its `then`) keeps under `at`; -1 if none.
int64_t AtHint(const Term& map);
// By its id, its pid, or its pid's text ("<0.5.0>", as the CLI gives a
// simple_one_for_one child's id).
int FindChild(const Term& state, const Term& who);
int FindByPid(const Term& state, Pid pid);
Term& MutableChild(Term& state, size_t i);
void RemoveChild(Term& state, size_t i);
// A caller kept in the state until its reply (From is opaque: both words).
Term EncodeFrom(const From& from);
From DecodeFrom(const Term& t);
// A restart for `relup status` and `relup tree`: the total, and the last
// few with their child, reason and wall-clock time (a crash loop shows).
void RecordRestart(Term& state, const Term& id, const Term& reason);
// Ids of the running children from index `from` on, last first: the order
// they are stopped in.
std::vector<Term> RunningIds(const Term& state, size_t from);
// Records a restart; false if that is one too many within the period.
bool CountRestart(Term& state);

}  // namespace relup::supervision
