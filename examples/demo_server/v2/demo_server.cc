// DemoServer, version 2: money is renamed salary, and {add: N} replies the new
// state instead of a sentence. State {name: NAME, salary: N}.
//
//   relup call blackode '{add: 100000}'  -> {name: blackode, salary: 160000}
//
// code_change upgrades from version "1" by renaming money to salary, and
// takes the state back down to "1" by renaming it again.
#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::MessageOutcome;
using relup::Result;
using relup::Term;

class DemoServer : public relup::Server {
 public:
  // Takes its own layout, or release 1's {name, money}: the release specs
  // start blackode with the same args in both, and a node that boots
  // release 2 (after a restart, or a supervisor's restart of blackode) must
  // get a state this version can serve.
  Term init(const Term& employee) {
    if (!employee.contains("money")) return employee;
    return employee.erase("money").put("salary", employee.at("money"));
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

  // The newer version's code_change runs both ways:
  //   up from "1":               money becomes salary;
  //   down to "1" ({down, "1"}): salary becomes money again.
  Result<Term> code_change(const Term& old_vsn, const Term& state, const Term&) {
    if (old_vsn == Term("1")) return state.erase("money").put("salary", state.at("money"));
    if (old_vsn == relup::DownVsn("1")) {
      return state.erase("salary").put("money", state.at("salary"));
    }
    return error("demo_server 2 changes up from \"1\" or down to it, not " + old_vsn.to_yaml());
  }

 private:
  static Term UnknownRequest(const Term& request) {
    return Term::tuple({Term::atom("error"),
                        "unknown request " + request.to_yaml() + ": expected {add: N} or :get"});
  }
};

RELUP_MODULE(demo_server, "2", DemoServer)
