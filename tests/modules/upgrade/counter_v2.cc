// counter version 2: {id, total}. Up from 1 (count -> total), down from 3.
#include "counter_common.h"

namespace counter {
inline constexpr char kTotal[] = "total";

class CounterV2 : public Counter<kTotal> {
 public:
  Result<Term> code_change(const Term& old_vsn, const Term& state, const Term& extra) {
    if (old_vsn == Term("1")) {
      RELUP_RETURN_IF_ERROR(UpgradeKnobs(state, extra));
      return Rename(state, "count", "total");
    }
    if (old_vsn == Term::tuple({Term::atom("down"), "3"})) {
      RELUP_RETURN_IF_ERROR(DowngradeKnobs(state, extra));
      return Rename(state, "sum", "total");
    }
    return error("counter 2 upgrades from 1 or downgrades from 3, not " + old_vsn.to_yaml());
  }
};
}  // namespace counter

COUNTER_MODULE(COUNTER_MODULE_NAME, "2", counter::CounterV2)
