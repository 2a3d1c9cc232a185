// counter version 2: {id, total}. Its code_change runs both ways with 1 (the
// newer version's runs, as in OTP): up from "1" (count -> total) and down to
// "1" (total -> count).
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
    if (old_vsn == relup::DownVsn("1")) {
      RELUP_RETURN_IF_ERROR(DowngradeKnobs(state, extra));
      return Rename(state, "total", "count");
    }
    return error("counter 2 changes up from 1 or down to 1, not " + old_vsn.to_yaml());
  }
};
}  // namespace counter

COUNTER_MODULE(COUNTER_MODULE_NAME, "2", counter::CounterV2)
