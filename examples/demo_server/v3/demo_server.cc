// DemoServer, version 3: a salary now has a currency. State
// {name: NAME, salary: N, currency: EUR}; {add: N} replies the new state.
//
// The newest version knows every layout before it, so its code_change takes a
// process up from "1" or "2" (a node may skip version 2) and back down to
// either, as OTP's default module type does: the newer version's code_change
// runs both ways.
#include "relup/server.h"

using relup::CallOutcome;
using relup::DownVsn;
using relup::From;
using relup::MessageOutcome;
using relup::Result;
using relup::Term;

class DemoServer : public relup::Server {
 public:
  Term init(const Term& employee) {
    return employee.contains("currency") ? employee : employee.put("currency", Term("EUR"));
  }

  CallOutcome handle_call(const Term& request, const From&, Term& state) {
    if (request.is_atom("get")) return reply(state);
    if (!request.contains("add")) return reply(UnknownRequest(request));
    state = state.put("salary", state.at("salary").as_int() + request.at("add").as_int());
    return reply(state);
  }

  MessageOutcome handle_cast(const Term& message, Term& state) {
    if (!message.contains("add")) {
      log("ignored cast " + message.to_yaml() + ": expected {add: N}");
      return noreply();
    }
    state = state.put("salary", state.at("salary").as_int() + message.at("add").as_int());
    return noreply();
  }

  //   up from "1":  money becomes salary, in EUR     down to "1": back to money
  //   up from "2":  the salary is in EUR             down to "2": the currency goes
  // A salary in another currency cannot go down: versions 1 and 2 knew only EUR.
  Result<Term> code_change(const Term& old_vsn, const Term& state, const Term&) {
    if (old_vsn == Term("1")) {
      return state.erase("money").put("salary", state.at("money")).put("currency", Term("EUR"));
    }
    if (old_vsn == Term("2")) return state.put("currency", Term("EUR"));
    if (old_vsn == DownVsn("1") || old_vsn == DownVsn("2")) {
      if (state.at("currency").as_string() != "EUR") {
        return error("a salary in " + state.at("currency").as_string() +
                     " cannot go down to demo_server " + old_vsn[1].as_string() +
                     ", which knew only EUR");
      }
      Term down = state.erase("currency");
      if (old_vsn == DownVsn("2")) return down;
      return down.erase("salary").put("money", state.at("salary"));
    }
    return error("demo_server 3 changes up from \"1\" or \"2\" or down to them, not " +
                 old_vsn.to_yaml());
  }

 private:
  static Term UnknownRequest(const Term& request) {
    return Term::tuple({Term::atom("error"),
                        "unknown request " + request.to_yaml() + ": expected {add: N} or :get"});
  }
};

RELUP_MODULE(demo_server, "3", DemoServer)
