// plain: a module without code_change (versions 1 and 2 differ only in the
// reply to :vsn), upgraded by load_module: the state is kept as it is.
#include "relup/server.h"

class Plain : public relup::Server {
 public:
  relup::CallOutcome handle_call(const relup::Term& request, const relup::From&,
                                 relup::Term& state) {
    if (request.is_atom("vsn")) return reply(PLAIN_VSN);
    return reply(state);
  }
};

RELUP_MODULE(plain, PLAIN_VSN, Plain)
