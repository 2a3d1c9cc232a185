// DemoServer, version 1: the seed's GenServer. State {name: NAME, money: N}.
//
//   relup call blackode '{add: 30000}'   -> "30000 added to blackode "
//   relup cast blackode '{add: 5}'       -> adds silently
//   relup call blackode :get             -> the state
//
// Like the seed's, it has no code_change: it was written before version 2
// existed, and it need not know version 2's layout. Version 2's code_change
// takes a process both up to 2 and back down to 1.
#include <cstdint>
#include <string>

#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::MessageOutcome;
using relup::Term;

class DemoServer : public relup::Server {
 public:
  Term init(const Term& employee) { return employee; }

  CallOutcome handle_call(const Term& request, const From&, Term& state) {
    if (request.is_atom("get")) return reply(state);
    if (!request.contains("add")) return reply(UnknownRequest(request));
    int64_t value = request.at("add").as_int();
    const std::string& name = state.at("name").as_string();
    Term answer = std::to_string(value) + " added to " + name + " ";
    state = state.put("money", state.at("money").as_int() + value);
    return reply(answer);
  }

  MessageOutcome handle_cast(const Term& message, Term& state) {
    if (!message.contains("add")) {
      log("ignored cast " + message.to_yaml() + ": expected {add: N}");
      return noreply();
    }
    state = state.put("money", state.at("money").as_int() + message.at("add").as_int());
    return noreply();
  }

 private:
  static Term UnknownRequest(const Term& request) {
    return Term::tuple({Term::atom("error"),
                        "unknown request " + request.to_yaml() + ": expected {add: N} or :get"});
  }
};

RELUP_MODULE(demo_server, "1", DemoServer)
