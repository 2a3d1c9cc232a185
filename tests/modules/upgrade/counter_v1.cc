// counter version 1: {id, count}. Reached from 2 only by a downgrade.
#include "counter_common.h"

namespace counter {
inline constexpr char kCount[] = "count";

class CounterV1 : public Counter<kCount> {
 public:
  Result<Term> code_change(const Term& old_vsn, const Term& state, const Term& extra) {
    if (old_vsn != Term::tuple({Term::atom("down"), "2"})) {
      return error("counter 1 is reached only by a downgrade from 2, not from " +
                   old_vsn.to_yaml());
    }
    RELUP_RETURN_IF_ERROR(DowngradeKnobs(state, extra));
    return Rename(state, "total", "count");
  }
};
}  // namespace counter

COUNTER_MODULE(COUNTER_MODULE_NAME, "1", counter::CounterV1)
