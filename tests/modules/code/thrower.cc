// thrower: a module whose callbacks fail on request, to test that no
// exception crosses the module boundary and every failure is reported.
// Built twice (thrower-1.so, thrower-2.so) from this one source.
//
//   init(args)         :throw -> std::runtime_error, :bad_access -> BadTermAccess,
//                      {error: MSG} -> error(MSG); anything else becomes the state
//   handle_call        :ping -> :pong, :vsn -> "1"/"2", :get -> state,
//                      {set: V} -> state V, reply :ok,
//                      :throw -> std::runtime_error, :bad_access -> BadTermAccess,
//                      :throw_int -> throws an int, :stop -> reply :bye and stop :normal
//   handle_cast        {set: V} -> state V, :throw -> std::runtime_error
//   handle_info        :throw -> std::runtime_error, else ignored
//   code_change        extra :ok -> state unchanged, extra {error: MSG} -> error(MSG),
//                      otherwise throws std::runtime_error("code_change failed on purpose")
//   terminate          throws when the state is :throw_on_terminate
#include <stdexcept>

#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::MessageOutcome;
using relup::Result;
using relup::Term;

class Thrower : public relup::Server {
 public:
  Result<Term> init(const Term& args) {
    if (args.is_atom("throw")) throw std::runtime_error("init failed on purpose");
    if (args.is_atom("bad_access")) return Term(args.as_int());
    if (const Term* msg = args.find("error")) return error(msg->as_string());
    return args;
  }

  CallOutcome handle_call(const Term& request, const From&, Term& state) {
    if (request.is_atom("ping")) return reply(Term::atom("pong"));
    if (request.is_atom("vsn")) return reply(RELUP_EXPECTED_MODULE_VSN);
    if (request.is_atom("get")) return reply(state);
    if (request.is_atom("throw")) throw std::runtime_error("handle_call failed on purpose");
    if (request.is_atom("bad_access")) return reply(request.as_int());
    if (request.is_atom("throw_int")) throw 42;
    if (request.is_atom("stop")) return stop(Term::atom("normal"), Term::atom("bye"));
    state = request.at("set");
    return reply(Term::atom("ok"));
  }

  MessageOutcome handle_cast(const Term& message, Term& state) {
    if (message.is_atom("throw")) throw std::runtime_error("handle_cast failed on purpose");
    state = message.at("set");
    return noreply();
  }

  void handle_info(const Term& message, Term&) {
    if (message.is_atom("throw")) throw std::runtime_error("handle_info failed on purpose");
  }

  Result<Term> code_change(const Term&, const Term& state, const Term& extra) {
    if (extra.is_atom("ok")) return state;
    if (const Term* msg = extra.find("error")) return error(msg->as_string());
    throw std::runtime_error("code_change failed on purpose");
  }

  void terminate(const Term&, const Term& state) {
    if (state.is_atom("throw_on_terminate"))
      throw std::runtime_error("terminate failed on purpose");
  }
};

// The vsn comes from CMake so one source builds both versions.
RELUP_MODULE(thrower, RELUP_EXPECTED_MODULE_VSN, Thrower)
