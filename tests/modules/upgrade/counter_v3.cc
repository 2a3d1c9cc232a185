// counter version 3: {id, sum}. Up from 2 (total -> sum) and down to 2 (sum
// -> total); no way straight to or from 1.
#include "counter_common.h"

namespace counter {
inline constexpr char kSum[] = "sum";

class CounterV3 : public Counter<kSum> {
 public:
  Result<Term> code_change(const Term& old_vsn, const Term& state, const Term& extra) {
    if (old_vsn == Term("2")) {
      RELUP_RETURN_IF_ERROR(UpgradeKnobs(state, extra));
      return Rename(state, "total", "sum");
    }
    if (old_vsn == relup::DownVsn("2")) {
      RELUP_RETURN_IF_ERROR(DowngradeKnobs(state, extra));
      return Rename(state, "sum", "total");
    }
    return error("counter 3 changes up from 2 or down to 2, not " + old_vsn.to_yaml());
  }
};
}  // namespace counter

COUNTER_MODULE(COUNTER_MODULE_NAME, "3", counter::CounterV3)
