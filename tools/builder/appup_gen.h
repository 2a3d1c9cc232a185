// Appups generated from the difference between two releases (Distillery's
// appup generation, with its known mistakes avoided: module content is
// compared by SHA-256, not by timestamps or vsn alone, and every kind of
// change gets an instruction, so a real difference never yields an empty
// appup).
//
// Going from release A (running) to release B (target):
//   module in B only                          -> add_module
//   module in A only                          -> delete_module
//   module in both, vsn or content differ     -> update if the newer of the
//                                                two versions has a code_change
//                                                (it runs both ways), else
//                                                load_module
//   named process in B only                   -> start
//   named process in A only                   -> stop
// in the order add_module, update/load_module (by module name), stop, start,
// delete_module. The same rules give the up entry (A = old, B = new; start
// by name) and the down entry (A = new, B = old; start in full form, because
// the process is described by the older release).
#pragma once

#include "builder/spec.h"
#include "relup/release.h"

namespace relup::build {

// The up entry of `newer`'s appup for upgrading from `older` (vsn older.vsn).
AppupEntry GenerateUpEntry(const Release& older, const Release& newer);
// The down entry of `newer`'s appup for downgrading to `older`.
AppupEntry GenerateDownEntry(const Release& older, const Release& newer);

}  // namespace relup::build
