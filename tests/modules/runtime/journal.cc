// rt_journal: appends every cast {append: X} to a list. No code_change, so a
// version change is code-only (switch_code). Built as versions 1 and 2.
//
//   init(_)            -> []
//   cast {append: X}   -> state ++ [X]
//   call :get          -> the list;  call :vsn -> the version
#include <vector>

#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::Term;

class Journal : public relup::Server {
 public:
  Term init(const Term&) { return Term::list({}); }

  CallOutcome handle_call(const Term& request, const From&, Term& state) {
    if (request.is_atom("vsn")) return reply(RELUP_EXPECTED_MODULE_VSN);
    return reply(state);
  }

  void handle_cast(const Term& message, Term& state) {
    std::vector<Term> items = state.elements();
    items.push_back(message.at("append"));
    state = Term::list(std::move(items));
  }
};

RELUP_MODULE(rt_journal, RELUP_EXPECTED_MODULE_VSN, Journal)
