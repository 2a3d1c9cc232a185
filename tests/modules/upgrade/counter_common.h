// Shared by the counter test modules (versions 1, 2, 3, also built under the
// name `ledger` for two-module depends_on groups). Every version answers the
// same requests; only the name of the counter field differs, so a process
// running new code on an old state fails loudly (BadTermAccess ends it):
//   v1 {id: I, count: N}   v2 {id: I, total: N}   v3 {id: I, sum: N}
//
// Requests (call or cast):
//   :get                      reply the whole state
//   {add: N}                  add N, reply the new value
//   {sleep_ms: N}             be busy for N ms (a straggler), reply :ok
//   {sleep_ms: N, mark: PATH} create PATH first, then sleep: a test can wait
//                             until the process is really busy
//   {set: KEY, to: V}         put V under the atom KEY in the state (call only)
//
// Init knob: args {init_sleep_ms: N} make init take N ms (a slow boot).
//
// code_change knobs, read from the state (set through init args) or from
// the appup's extra:
//   state fail_on_upgrade: true     the upgrade's code_change fails
//   state fail_on_downgrade: true   the down code_change fails
//   extra {fail_id: I}              the upgrade (or, in a down entry's extra, the
//                                   downgrade) fails for the process with id I
//   extra {fail_id: I, fail_in_node: true}  ... only in the node, not in the
//                                   trial process (relup-trial) where the
//                                   precheck runs, so a test can pass the
//                                   precheck and fail mid-rollout. Test-only:
//                                   a real module behaves the same everywhere.
//   extra {slow_ms: N}              every code_change sleeps N ms (kill -9 test)
//   extra {slow_in_node_ms: N}      ... only in the node, not in the trial
//                                   process: a rollout code_change that
//                                   overruns its timeout
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>
#include <thread>

#include "relup/server.h"

namespace counter {

using relup::CallOutcome;
using relup::From;
using relup::MessageOutcome;
using relup::Result;
using relup::Status;
using relup::Term;

inline void BeBusy(const Term& request) {
  if (const Term* mark = request.find("mark")) {
    int fd = ::open(mark->as_string().c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) ::close(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(request.at("sleep_ms").as_int()));
}

inline bool Flag(const Term& map, const char* key) {
  const Term* v = map.is_map() ? map.find(key) : nullptr;
  return v != nullptr && v->is_bool() && v->as_bool();
}

// Applies the extra's knobs; an error if this process must fail.
inline Status UpgradeKnobs(const Term& state, const Term& extra) {
  if (extra.is_map()) {
    if (const Term* slow = extra.find("slow_ms")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(slow->as_int()));
    }
    bool in_trial = std::string_view(program_invocation_short_name) == "relup-trial";
    if (const Term* slow = extra.find("slow_in_node_ms"); slow != nullptr && !in_trial) {
      std::this_thread::sleep_for(std::chrono::milliseconds(slow->as_int()));
    }
    const Term* fail_id = extra.find("fail_id");
    bool fail = fail_id != nullptr && *fail_id == state.at("id") &&
                !(Flag(extra, "fail_in_node") && in_trial);
    if (fail) {
      return Status::CallbackError("extra fail_id " + fail_id->to_yaml() +
                                   " asks this process to refuse the upgrade");
    }
  }
  if (Flag(state, "fail_on_upgrade")) {
    return Status::CallbackError("state says fail_on_upgrade for id " + state.at("id").to_yaml());
  }
  return Status::Ok();
}

inline Status DowngradeKnobs(const Term& state, const Term& extra) {
  if (extra.is_map()) {
    if (const Term* slow = extra.find("slow_ms")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(slow->as_int()));
    }
    const Term* fail_id = extra.find("fail_id");
    if (fail_id != nullptr && *fail_id == state.at("id")) {
      return Status::CallbackError("extra fail_id " + fail_id->to_yaml() +
                                   " asks this process to refuse the downgrade");
    }
  }
  if (Flag(state, "fail_on_downgrade")) {
    return Status::CallbackError("state says fail_on_downgrade for id " + state.at("id").to_yaml());
  }
  return Status::Ok();
}

inline Term Rename(const Term& state, const char* from, const char* to) {
  return state.erase(from).put(to, state.at(from));
}

// The server of one version; Field is the counter's key in that version.
template <const char* Field>
class Counter : public relup::Server {
 public:
  Term init(const Term& args) {
    Term state = args.is_map() ? args : Term::map({});
    if (const Term* sleep = state.find("init_sleep_ms")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(sleep->as_int()));
      state = state.erase("init_sleep_ms");
    }
    if (!state.contains("id")) state = state.put("id", Term(0));
    if (!state.contains(Field)) state = state.put(Field, Term(0));
    return state;
  }

  CallOutcome handle_call(const Term& request, const From&, Term& state) {
    if (request.is_atom("get")) return reply(state);
    if (request.contains("sleep_ms")) {
      BeBusy(request);
      return reply(Term::atom("ok"));
    }
    if (request.contains("set")) {
      state = state.put(std::string_view(request.at("set").as_string()), request.at("to"));
      return reply(Term::atom("ok"));
    }
    state = state.put(Field, state.at(Field).as_int() + request.at("add").as_int());
    return reply(state.at(Field));
  }

  void handle_cast(const Term& message, Term& state) {
    if (message.contains("sleep_ms")) {
      BeBusy(message);
      return;
    }
    state = state.put(Field, state.at(Field).as_int() + message.at("add").as_int());
  }
};

}  // namespace counter

#ifndef COUNTER_MODULE_NAME
#define COUNTER_MODULE_NAME counter
#endif
// Expands COUNTER_MODULE_NAME before RELUP_MODULE stringifies it.
#define COUNTER_MODULE(name, vsn, Class) RELUP_MODULE(name, vsn, Class)
