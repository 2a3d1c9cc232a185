// Crash-safe replacement of a small file: the content goes to a temporary
// file in the same directory, which is fsync'ed, renamed over the target, and
// the directory is fsync'ed. After a crash at any point the target holds
// either its old or its new content, whole. Leftover temporaries are named
// "<target>.tmp-<pid>" and are overwritten by the next write from that pid.
#pragma once

#include <string>
#include <string_view>

#include "relup/status.h"

namespace relup {

Status WriteFileAtomically(const std::string& path, std::string_view content, int mode = 0644);

}  // namespace relup
