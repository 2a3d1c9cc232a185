// twin 1, built twice with a different TWIN_REPLY: same name and vsn,
// different content (the code server must refuse the second).
#include "relup/server.h"

class Twin : public relup::Server {
 public:
  relup::CallOutcome handle_call(const relup::Term&, const relup::From&, relup::Term&) {
    return reply(TWIN_REPLY);
  }
};

RELUP_MODULE(twin, "1", Twin)
