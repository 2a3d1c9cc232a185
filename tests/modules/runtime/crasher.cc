// rt_crasher: fails, stops or stalls on request, and logs its terminate.
//
//   init(args)          :fail -> error; anything else becomes the state
//   call :ping          -> :pong
//   call :crash         -> throws
//   call :stop          -> stops with reason :normal, without replying
//   call :stop_reply    -> replies :bye, then stops with reason :normal
//   call {sleep_ms: N}  -> logs "sleeping", sleeps N ms, logs "woke", replies :slept
//   cast :crash         -> throws;  cast {stop: R} -> stops with reason R
//   terminate           -> logs "terminate REASON"
#include <chrono>
#include <stdexcept>
#include <thread>

#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::MessageOutcome;
using relup::Result;
using relup::Term;

class Crasher : public relup::Server {
 public:
  Result<Term> init(const Term& args) {
    if (args.is_atom("fail")) return error("init refused on purpose");
    return args;
  }

  CallOutcome handle_call(const Term& request, const From&, Term&) {
    if (request.is_atom("ping")) return reply(Term::atom("pong"));
    if (request.is_atom("crash")) throw std::runtime_error("crashed on purpose");
    if (request.is_atom("stop")) return stop(Term::atom("normal"));
    if (request.is_atom("stop_reply")) return stop(Term::atom("normal"), Term::atom("bye"));
    log("sleeping");
    std::this_thread::sleep_for(std::chrono::milliseconds(request.at("sleep_ms").as_int()));
    log("woke");
    return reply(Term::atom("slept"));
  }

  MessageOutcome handle_cast(const Term& message, Term&) {
    if (message.is_atom("crash")) throw std::runtime_error("cast crashed on purpose");
    return stop(message.at("stop"));
  }

  void terminate(const Term& reason, const Term&) { log("terminate " + reason.to_yaml()); }
};

RELUP_MODULE(rt_crasher, "1", Crasher)
