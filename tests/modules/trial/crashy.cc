// crashy: a module that misbehaves in exactly one way per build, for the
// tests of the trial process (an upgrade must be refused, naming the module
// and how it failed, with the node untouched). CRASHY_VSN is the vsn, and
// CRASHY_MODE one of:
//   0  well behaved. State {n: N}; :get replies it, {add: N} adds N.
//      Versions other than 1 take a state from "1" as {n: N, v2: true}.
//   1  a static constructor dereferences a null pointer (SIGSEGV on load)
//   2  a static constructor calls exit(3)
//   3  a static constructor calls abort()
//   4  code_change dereferences a null pointer
//   5  code_change never returns
//   6  a static constructor never returns
#include <cstdlib>
#include <thread>

#include "relup/server.h"

namespace {

// The pointer itself is volatile: the compiler cannot see that it is null
// (and drop the store as undefined behaviour), so the store really faults.
int* volatile nowhere = nullptr;

[[maybe_unused]] void Misbehave() {
  if constexpr (CRASHY_MODE == 1) *nowhere = 1;
  if constexpr (CRASHY_MODE == 2) std::exit(3);
  if constexpr (CRASHY_MODE == 3) std::abort();
  if constexpr (CRASHY_MODE == 6) {
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

struct AtLoad {
  AtLoad() {
    if constexpr (CRASHY_MODE == 1 || CRASHY_MODE == 2 || CRASHY_MODE == 3 || CRASHY_MODE == 6) {
      Misbehave();
    }
  }
} at_load;

class Crashy : public relup::Server {
 public:
  relup::Result<relup::Term> init(const relup::Term&) {
    return relup::Term::map({{relup::Term::atom("n"), 0}});
  }

  relup::CallOutcome handle_call(const relup::Term& request, const relup::From&,
                                 relup::Term& state) {
    if (const relup::Term* add = request.find("add")) {
      state = state.put("n", state.at("n").as_int() + add->as_int());
    }
    return reply(state);
  }

  relup::Result<relup::Term> code_change(const relup::Term& old_vsn, const relup::Term& state,
                                         const relup::Term&) {
    if constexpr (CRASHY_MODE == 4) *nowhere = 1;
    if constexpr (CRASHY_MODE == 5) {
      for (;;) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (old_vsn == relup::Term("1")) return state.put("v2", true);
    if (old_vsn.is_tuple()) return state.erase("v2");  // down to 1
    return error("crashy " CRASHY_VSN " does not know version " + old_vsn.to_yaml());
  }
};

}  // namespace

RELUP_MODULE(crashy, CRASHY_VSN, Crashy)
