// rt_worker: a child for the supervisor tests (tests/runtime/supervisor_test.cc).
// It writes what happens to it into the rt_journal registered as `journal`,
// if there is one, so a test reads start and stop order.
//
//   init(args)        {id: X, trap_exit: BOOL, ignore_shutdown: BOOL, fail: BOOL}
//                     journal "start X"; fail: true refuses to start
//   call :ping        -> :pong
//   call :crash       -> throws (the process ends with an error)
//   call {stop: R}    -> replies :ok and stops with reason R
//   {exit: P, reason: R} (when trapping): stops with R, unless ignore_shutdown
//   terminate(R)      journal "stop X"
//   call {config: K}  -> the release configuration's value of K (ctx().config)
//   config_change(changed, added, removed): appends one YAML line
//                     "{changed: .., added: .., removed: ..}" to the file
//                     $RELUP_TEST_CONFIG_JOURNAL, if set; fails if changed or
//                     added holds fail_config_change: true
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::MessageOutcome;
using relup::Result;
using relup::Term;

namespace {

std::string Id(const Term& state) {
  const Term* id = state.is_map() ? state.find("id") : nullptr;
  if (id == nullptr) return "?";
  if (id->is_atom()) return std::string(id->as_atom());
  return id->is_string() ? id->as_string() : id->to_yaml();
}

bool Flag(const Term& args, const char* key) {
  const Term* v = args.is_map() ? args.find(key) : nullptr;
  return v != nullptr && v->is_bool() && v->as_bool();
}

}  // namespace

class Worker : public relup::Server {
 public:
  relup::Status config_change(const Term& changed, const Term& added, const Term& removed) {
    if (const char* path = std::getenv("RELUP_TEST_CONFIG_JOURNAL")) {
      std::ofstream(path, std::ios::app) << Term::map({{Term::atom("changed"), changed},
                                                       {Term::atom("added"), added},
                                                       {Term::atom("removed"), removed}})
                                                .to_yaml()
                                         << "\n";
    }
    for (const Term* m : {&changed, &added}) {
      if (Flag(*m, "fail_config_change")) {
        return relup::Status::CallbackError("told to fail config_change");
      }
    }
    return relup::Status();
  }

  Result<Term> init(const Term& args) {
    if (Flag(args, "fail")) return error("told to fail");
    if (Flag(args, "trap_exit")) ctx().trap_exit(true);
    Term state = args.is_map() ? args : Term::map({});
    Note("start " + Id(state));
    return state;
  }

  CallOutcome handle_call(const Term& request, const From&, Term& state) {
    if (request.is_atom("crash")) throw std::runtime_error("told to crash");
    if (const Term* k = request.is_map() ? request.find("config") : nullptr) {
      return reply(ctx().config(k->is_atom() ? std::string(k->as_atom()) : k->as_string()));
    }
    if (const Term* r = request.is_map() ? request.find("stop") : nullptr) {
      return stop(*r, Term::atom("ok"));
    }
    (void)state;
    return reply(Term::atom("pong"));
  }

  MessageOutcome handle_info(const Term& message, Term& state) {
    if (message.is_map() && message.find("exit") != nullptr && !Flag(state, "ignore_shutdown")) {
      return stop(message.at("reason"));
    }
    return cont();
  }

  void terminate(const Term&, const Term& state) { Note("stop " + Id(state)); }

 private:
  static void Note(const std::string& what) {
    (void)ctx().cast("journal", Term::map({{Term::atom("append"), Term(what)}}));
  }
};

RELUP_MODULE(rt_worker, "1", Worker)
