// bench_account: the account server every relup benchmark runs — the seed's
// DemoServer, and the same server as the OTP side's bench_account.erl.
// Built as version 1 (state {name, money}) and version 2 (money renamed
// salary); the version is chosen by relup_add_module's VSN.
//
//   cast {add: N}      adds N to the balance
//   call {add: N}      adds N and replies the new balance
//   call :get          replies the whole state
//   code_change        2 from "1": money becomes salary;
//                      1 from {down, "2"}: salary becomes money again
//
// Written the way a user would write it (state.at("money"), state.put(...)),
// so the benchmarks measure the authoring API as people use it.
#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::Result;
using relup::Term;

namespace {

constexpr bool kV2 = RELUP_EXPECTED_MODULE_VSN[0] == '2';
constexpr const char* kBalance = kV2 ? "salary" : "money";
constexpr const char* kOldBalance = kV2 ? "money" : "salary";

}  // namespace

class Account : public relup::Server {
 public:
  Result<Term> init(const Term& args) {
    if (!args.is_map() || !args.contains("name") || !args.contains(kBalance)) {
      return error(std::string("bench_account init expects {name, ") + kBalance + "}, got " +
                   args.to_yaml());
    }
    return args;
  }

  CallOutcome handle_call(const Term& request, const From&, Term& state) {
    if (request.is_atom("get")) return reply(state);
    int64_t balance = state.at(kBalance).as_int() + request.at("add").as_int();
    state = state.put(kBalance, Term(static_cast<long long>(balance)));
    return reply(Term(static_cast<long long>(balance)));
  }

  void handle_cast(const Term& message, Term& state) {
    int64_t balance = state.at(kBalance).as_int() + message.at("add").as_int();
    state = state.put(kBalance, Term(static_cast<long long>(balance)));
  }

  Result<Term> code_change(const Term&, const Term& state, const Term&) {
    if (!state.contains(kOldBalance)) {
      return error(std::string("bench_account code_change expects a state with ") + kOldBalance +
                   ", got " + state.to_yaml());
    }
    return state.erase(kOldBalance).put(kBalance, state.at(kOldBalance));
  }
};

RELUP_MODULE(bench_account, RELUP_EXPECTED_MODULE_VSN, Account)
