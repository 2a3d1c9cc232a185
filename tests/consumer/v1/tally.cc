// tally 1: counts named events. State: {counts: {EVENT: N}}.
#include <relup/server.h>

using relup::CallOutcome;
using relup::From;
using relup::Term;

class Tally : public relup::Server {
 public:
  Term init(const Term&) { return Term::map({}).put("counts", Term::map({})); }

  // {hit: EVENT} -> the event's new count; {get: EVENT} -> its count.
  CallOutcome handle_call(const Term& request, const From&, Term& state) {
    const Term* counts = &state.at("counts");
    if (const Term* event = request.find("hit")) {
      const Term* now = counts->find(*event);
      int64_t n = (now != nullptr ? now->as_int() : 0) + 1;
      state = state.put("counts", counts->put(*event, n));
      return reply(n);
    }
    if (const Term* event = request.find("get")) {
      const Term* now = counts->find(*event);
      return reply(now != nullptr ? now->as_int() : 0);
    }
    return reply(Term::map({}).put("error", Term("unknown request")));
  }
};

RELUP_MODULE(tally, "1", Tally)
