// Crash-safe file primitives for a node root.
//
// WriteFileAtomically replaces a small file: the content goes to a temporary
// file in the same directory, which is fsync'ed, renamed over the target, and
// the directory is fsync'ed. After a crash at any point the target holds
// either its old or its new content, whole. Leftover temporaries are named
// "<target>.tmp-<pid>" and are replaced by the next write from that pid.
//
// WriteNewFile and FsyncDirectory are its two halves, for callers that write
// many files into one fresh directory and sync that directory once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "relup/status.h"

namespace relup {

Status WriteFileAtomically(const std::string& path, std::string_view content, int mode = 0644);

// Creates `path` (which must not exist) with `content`, fsync'ed. The
// directory entry is not synced. On failure a partial file may remain.
Status WriteNewFile(const std::string& path, std::string_view content, int mode);

// fsyncs a directory, making the entries created or renamed in it durable.
Status FsyncDirectory(const std::string& dir);

// Reads a whole file. NotFound / IOError naming the path; InvalidArgument
// naming it and the limit when it holds more than `max_bytes`.
Result<std::string> ReadWholeFile(const std::string& path, size_t max_bytes = SIZE_MAX);

}  // namespace relup
