// counter 1: the README's "Writing a server module" example.
#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::Term;

class Counter : public relup::Server {
 public:
  // The spawn arguments become the state, e.g. {count: 0}.
  Term init(const Term& args) { return args; }

  // {add: N} adds N and replies the new count; :get replies the whole state.
  CallOutcome handle_call(const Term& request, const From&, Term& state) {
    if (request.is_atom("get")) return reply(state);
    int64_t count = state.at("count").as_int() + request.at("add").as_int();
    state = state.put("count", count);
    return reply(count);
  }

  // :reset sets the count back to 0; anything else is ignored.
  void handle_cast(const Term& message, Term& state) {
    if (message.is_atom("reset")) state = state.put("count", 0);
  }
};

RELUP_MODULE(counter, "1", Counter)
