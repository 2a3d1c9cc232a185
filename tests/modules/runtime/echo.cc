// rt_echo: the server side of request/reply tests.
//
//   call {echo: X}   -> replies X
//   call {hold: X}   -> no reply now; remembers the caller and X
//   cast :release    -> replies the held X to the held caller (ctx().reply)
//   call :crash      -> throws
#include <stdexcept>

#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::Term;

class Echo : public relup::Server {
 public:
  Term init(const Term&) { return Term::map({}); }

  CallOutcome handle_call(const Term& request, const From& from, Term& state) {
    if (request.is_atom("crash")) throw std::runtime_error("echo crashed on purpose");
    if (const Term* held = request.find("hold")) {
      state = Term::map({{Term::atom("caller"), Term(static_cast<long long>(from.caller))},
                         {Term::atom("tag"), Term(static_cast<long long>(from.tag))},
                         {Term::atom("value"), *held}});
      return noreply();
    }
    return reply(request.at("echo"));
  }

  void handle_cast(const Term&, Term& state) {
    From from{static_cast<uint64_t>(state.at("caller").as_int()),
              static_cast<uint64_t>(state.at("tag").as_int())};
    ctx().reply(from, state.at("value"));
    state = Term::map({});
  }
};

RELUP_MODULE(rt_echo, "1", Echo)
