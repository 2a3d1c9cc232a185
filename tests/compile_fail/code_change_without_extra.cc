// Must not compile: code_change without its `extra` parameter would leave the
// module without a code_change, and an upgrade would keep the old state.
#include "relup/server.h"

class Sessions : public relup::Server {
 public:
  relup::Result<relup::Term> code_change(const relup::Term& old_vsn, const relup::Term& state) {
    return state;
  }
};
RELUP_MODULE(sessions, "2", Sessions)
