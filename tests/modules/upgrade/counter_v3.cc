// counter version 3: {id, sum}. Up from 2 (total -> sum); no way down to 1.
#include "counter_common.h"

namespace counter {
inline constexpr char kSum[] = "sum";

class CounterV3 : public Counter<kSum> {
 public:
  Result<Term> code_change(const Term& old_vsn, const Term& state, const Term& extra) {
    if (old_vsn != Term("2"))
      return error("counter 3 upgrades only from 2, not " + old_vsn.to_yaml());
    RELUP_RETURN_IF_ERROR(UpgradeKnobs(state, extra));
    return Rename(state, "total", "sum");
  }
};
}  // namespace counter

COUNTER_MODULE(COUNTER_MODULE_NAME, "3", counter::CounterV3)
