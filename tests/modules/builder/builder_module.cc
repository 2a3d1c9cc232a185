// A minimal module for the builder's tests. BUILDER_MODULE_NAME names it,
// BUILDER_CODE_CHANGE says whether it has a code_change, BUILDER_VARIANT
// changes its content without changing its name or vsn.
#include "relup/server.h"

namespace {

class BuilderModule : public relup::Server {
 public:
  relup::Term init(const relup::Term& args) { return args; }
  relup::CallOutcome handle_call(const relup::Term&, const relup::From&, relup::Term&) {
    return reply(relup::Term(BUILDER_VARIANT));
  }
#if BUILDER_CODE_CHANGE
  relup::Term code_change(const relup::Term&, const relup::Term& state, const relup::Term&) {
    return state;
  }
#endif
};

}  // namespace

#define BUILDER_MODULE_(name, vsn, cls) RELUP_MODULE(name, vsn, cls)
BUILDER_MODULE_(BUILDER_MODULE_NAME, RELUP_EXPECTED_MODULE_VSN, BuilderModule)
