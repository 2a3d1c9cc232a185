// counter 2: counts resets, so its code_change migrates the state from 1,
// and back down to 1 (the newer version's code_change runs both ways).
#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::Result;
using relup::Term;

class Counter : public relup::Server {
 public:
  Term init(const Term& args) { return args.put("resets", 0); }

  CallOutcome handle_call(const Term& request, const From&, Term& state) {
    if (request.is_atom("get")) return reply(state);
    int64_t count = state.at("count").as_int() + request.at("add").as_int();
    state = state.put("count", count);
    return reply(count);
  }

  void handle_cast(const Term& message, Term& state) {
    if (message.is_atom("reset")) {
      state = state.put("count", 0).put("resets", state.at("resets").as_int() + 1);
    }
  }

  // Runs once per process during the upgrade, while it is suspended.
  Result<Term> code_change(const Term& old_vsn, const Term& state, const Term& extra) {
    if (old_vsn == Term("1")) return state.put("resets", 0);            // up from 1
    if (old_vsn == relup::DownVsn("1")) return state.erase("resets");  // down to 1
    return error("counter 2 changes up from \"1\" or down to it, not " + old_vsn.to_yaml());
  }
};

RELUP_MODULE(counter, "2", Counter)
