// rt_counter version 1: state {count: N}.
//
//   init(N)                 -> {count: N} (nil: 0)
//   call {inc: K}           -> adds K, replies the new count
//   call :get               -> the count;  call :vsn -> "1"
//   cast {inc: K}           -> adds K
//   no code_change: version 2's takes a process both up and back down
// Every callback refuses (throws) a state that is not version 1's, so v1 code
// running on a v2 state can never go unnoticed.
#include <stdexcept>

#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::MessageOutcome;
using relup::Result;
using relup::Term;

namespace {

int64_t Count(const Term& state) {
  const Term* count = state.find("count");
  if (count == nullptr || state.contains("total")) {
    throw std::runtime_error("rt_counter 1 code ran on a state that is not version 1's: " +
                             state.to_yaml());
  }
  return count->as_int();
}

}  // namespace

class Counter : public relup::Server {
 public:
  Term init(const Term& args) {
    return Term::map({{Term::atom("count"), Term(args.is_nil() ? 0 : args.as_int())}});
  }

  CallOutcome handle_call(const Term& request, const From&, Term& state) {
    int64_t count = Count(state);
    if (request.is_atom("get")) return reply(Term(static_cast<long long>(count)));
    if (request.is_atom("vsn")) return reply("1");
    count += request.at("inc").as_int();
    state = state.put("count", Term(static_cast<long long>(count)));
    return reply(Term(static_cast<long long>(count)));
  }

  void handle_cast(const Term& message, Term& state) {
    state =
        state.put("count", Term(static_cast<long long>(Count(state) + message.at("inc").as_int())));
  }

};

RELUP_MODULE(rt_counter, "1", Counter)
