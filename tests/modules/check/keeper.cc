// keeper: a module for the tests of `relup check`. State: a map, as init
// gets it ({name: N, note: TEXT}, say); init refuses anything else.
//   version 1: no code_change (a first version).
//   version 2: adds visits: 0 up from "1", and removes it down to "1".
//     KEEPER_LOSSY: the down clause also drops `note`, a field version 1
//     had: the mistake relup check exists to catch.
#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::Result;
using relup::Term;

class Keeper : public relup::Server {
 public:
  Result<Term> init(const Term& args) {
    if (!args.is_map() || !args.contains("name")) {
      return error("keeper's init takes a map with a name, such as {name: a}, not " +
                   args.to_yaml());
    }
    return KEEPER_VSN_NUM >= 2 ? args.put("visits", Term(0)) : args;
  }

  CallOutcome handle_call(const Term&, const From&, Term& state) { return reply(state); }

#if KEEPER_VSN_NUM >= 2
  Result<Term> code_change(const Term& old_vsn, const Term& state, const Term&) {
    if (old_vsn == Term("1")) return state.put("visits", Term(0));
    if (old_vsn == relup::DownVsn("1")) {
      Term down = state.erase("visits");
      return KEEPER_LOSSY ? down.erase("note") : down;
    }
    return error("keeper 2 changes up from \"1\" or down to it, not " + old_vsn.to_yaml());
  }
#endif
};

RELUP_MODULE(keeper, KEEPER_VSN, Keeper)
