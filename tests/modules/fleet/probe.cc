// fleet_probe: counts the upgrades it went through. State {upgrades: N}.
// Version 3's code_change up from 2 refuses when the node's environment has
// RELUP_FLEET_REFUSE_UPGRADE (the fleet test sets it on one host), so that
// host's `relup apply` fails and is rolled back, as a real failing upgrade.
#include <cstdlib>

#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::Result;
using relup::Term;

class Probe : public relup::Server {
 public:
  Term init(const Term&) { return Term::map({}).put("upgrades", 0); }

  CallOutcome handle_call(const Term&, const From&, Term& state) { return reply(state); }

  Result<Term> code_change(const Term& old_vsn, const Term& state, const Term&) {
    if (std::getenv("RELUP_FLEET_REFUSE_UPGRADE") != nullptr && old_vsn == Term("2")) {
      return error("fleet_probe " FLEET_PROBE_VSN
                   ": refusing the upgrade from 2 (RELUP_FLEET_REFUSE_UPGRADE is set on this "
                   "node)");
    }
    int64_t n = state.at("upgrades").as_int();
    return state.put("upgrades", relup::IsDownVsn(old_vsn) ? n - 1 : n + 1);
  }
};

RELUP_MODULE(fleet_probe, FLEET_PROBE_VSN, Probe)
