// The client side of `relup check` (and `relup build --check-from`): runs
// the round trip (tools/check/round_trip.h), prints it as tables or JSON,
// and picks the exit status: 0 ok, 4 a round trip differs (or a process
// crashed or did not change), 3 a step was refused or rolled back, 6 a
// tarball fails verification, 2 what cannot be checked (two release names,
// no path between them, a bad states file), 1 the scratch node failed.
#pragma once

#include "check/round_trip.h"

namespace relup::cli {

// options.relup_exe is filled in here (this very binary).
int RunCheck(check::CheckOptions options, bool json);

}  // namespace relup::cli
