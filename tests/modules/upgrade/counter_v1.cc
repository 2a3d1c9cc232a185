// counter version 1: {id, count}. No code_change, like a first version
// written before any other: version 2's code_change takes a process up from
// 1 and back down to it.
#include "counter_common.h"

namespace counter {
inline constexpr char kCount[] = "count";

class CounterV1 : public Counter<kCount> {};
}  // namespace counter

COUNTER_MODULE(COUNTER_MODULE_NAME, "1", counter::CounterV1)
