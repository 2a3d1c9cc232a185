// rt_counter version 2: state {total: N}.
//
//   call {inc: K} / :get / :vsn ("2"), cast {inc: K}   as in version 1
//   code_change(old_vsn, state, extra)
//       extra :throw        -> throws (a failing upgrade)
//       old_vsn "1"         -> {count: N} becomes {total: N}
//       old_vsn {down, "1"} -> {total: N} becomes {count: N} (the downgrade)
//       anything else       -> error: only those two are accepted
// Every callback refuses (throws) a state that is not version 2's, so v2 code
// running before its code_change can never go unnoticed.
#include <stdexcept>

#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::MessageOutcome;
using relup::Result;
using relup::Term;

namespace {

int64_t Total(const Term& state) {
  const Term* total = state.find("total");
  if (total == nullptr || state.contains("count")) {
    throw std::runtime_error("rt_counter 2 code ran on a state that is not version 2's: " +
                             state.to_yaml());
  }
  return total->as_int();
}

}  // namespace

class Counter : public relup::Server {
 public:
  Term init(const Term& args) {
    return Term::map({{Term::atom("total"), Term(args.is_nil() ? 0 : args.as_int())}});
  }

  CallOutcome handle_call(const Term& request, const From&, Term& state) {
    int64_t total = Total(state);
    if (request.is_atom("get")) return reply(Term(static_cast<long long>(total)));
    if (request.is_atom("vsn")) return reply("2");
    total += request.at("inc").as_int();
    state = state.put("total", Term(static_cast<long long>(total)));
    return reply(Term(static_cast<long long>(total)));
  }

  void handle_cast(const Term& message, Term& state) {
    state =
        state.put("total", Term(static_cast<long long>(Total(state) + message.at("inc").as_int())));
  }

  Result<Term> code_change(const Term& old_vsn, const Term& state, const Term& extra) {
    if (extra.is_atom("throw")) throw std::runtime_error("code_change failed on purpose");
    if (old_vsn == relup::DownVsn("1")) return Term::map({{Term::atom("count"), state.at("total")}});
    if (old_vsn != Term("1")) {
      return error("rt_counter 2 changes up from \"1\" or down to it, not " + old_vsn.to_yaml());
    }
    const Term* count = state.find("count");
    if (count == nullptr) {
      return error("rt_counter 2 code_change expects a version 1 state {count: N}, got " +
                   state.to_yaml());
    }
    return Term::map({{Term::atom("total"), *count}});
  }
};

RELUP_MODULE(rt_counter, "2", Counter)
