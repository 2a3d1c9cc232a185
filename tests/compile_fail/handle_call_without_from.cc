// Must not compile: handle_call without its `from` parameter would never be called.
#include "relup/server.h"

class Sessions : public relup::Server {
 public:
  relup::CallOutcome handle_call(const relup::Term& request, relup::Term& state) {
    return reply(request);
  }
};
RELUP_MODULE(sessions, "1", Sessions)
