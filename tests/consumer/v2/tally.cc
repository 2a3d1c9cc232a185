// tally 2: also keeps the total of every event, so its code_change adds it
// on the way up from 1 and drops it on the way down (OTP's rule: the newer
// version's code_change runs both ways).
#include <relup/server.h>
#include <relup/version.h>

using relup::CallOutcome;
using relup::From;
using relup::Result;
using relup::Term;

static_assert(RELUP_VERSION_MAJOR == 0 && RELUP_VERSION_MINOR >= 2, "built against relup 0.2+");

class Tally : public relup::Server {
 public:
  Term init(const Term&) { return Term::map({}).put("counts", Term::map({})).put("total", 0); }

  CallOutcome handle_call(const Term& request, const From&, Term& state) {
    const Term* counts = &state.at("counts");
    if (const Term* event = request.find("hit")) {
      const Term* now = counts->find(*event);
      int64_t n = (now != nullptr ? now->as_int() : 0) + 1;
      state =
          state.put("counts", counts->put(*event, n)).put("total", state.at("total").as_int() + 1);
      return reply(n);
    }
    if (const Term* event = request.find("get")) {
      const Term* now = counts->find(*event);
      return reply(now != nullptr ? now->as_int() : 0);
    }
    if (request.is_atom("total")) return reply(state.at("total"));
    return reply(Term::map({}).put("error", Term("unknown request")));
  }

  Result<Term> code_change(const Term& old_vsn, const Term& state, const Term&) {
    if (old_vsn == Term("1")) {
      int64_t total = 0;
      for (const auto& [event, n] : state.at("counts").entries()) total += n.as_int();
      return state.put("total", total);
    }
    if (old_vsn == relup::DownVsn("1")) return state.erase("total");
    return error("tally 2 changes up from \"1\" or down to it, not " + old_vsn.to_yaml());
  }
};

RELUP_MODULE(tally, "2", Tally)
