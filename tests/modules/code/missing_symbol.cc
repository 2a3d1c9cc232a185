// A module that calls a function no library defines. It links (no -z defs)
// but dlopen(RTLD_NOW) must refuse it.
#include "relup/server.h"

extern "C" int relup_test_function_nobody_defines(int);

class MissingSymbol : public relup::Server {
 public:
  relup::CallOutcome handle_call(const relup::Term& request, const relup::From&, relup::Term&) {
    return reply(relup_test_function_nobody_defines(static_cast<int>(request.as_int())));
  }
};

RELUP_MODULE(missing_symbol, "1", MissingSymbol)
