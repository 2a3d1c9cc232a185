// Compiles appup instructions into a low-level upgrade plan (relup/plan.h),
// checking them against the releases on both sides.
//
// For an up entry, `self` is the release being built (the target) and `other`
// the release upgraded from; for a down entry, `self` is the release being
// left and `other` the one downgraded to. `other` is known only when the
// builder has it (--from); `other_exact` says the entry names exactly that
// version (only then are its module versions written into the plan: a pattern
// entry serves several releases).
//
// Checks (each a diagnostic at the instruction): a module not in the release
// it must be in (or, for add/delete_module, one that already/still is), an
// update of a module version without code_change, an update or load_module of
// a module whose vsn does not change, a depends_on naming a module not in the
// release, a depends_on cycle, a start naming no process of the release.
//
// Every instruction written is checked, each on its own: a module in a side's
// broken_modules (its library already reported) is not reported missing from
// that side again, but the instruction's other problems are; an instruction
// marked `duplicate` is checked and takes part in the cycle check, but is left
// out of the plan. An entry's `refused` flag is the caller's business (the
// builder compiles it for its checks and drops the plan).
#pragma once

#include "builder/builder.h"
#include "builder/diagnostics.h"
#include "builder/spec.h"
#include "relup/plan.h"
#include "relup/release.h"

namespace relup::build {

UpgradePlan CompileAppupEntry(const AppupEntry& entry, bool down, const LoadedRelease& self,
                              const LoadedRelease* other, bool other_exact, Diagnostics* diags);

}  // namespace relup::build
