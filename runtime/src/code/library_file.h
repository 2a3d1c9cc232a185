// File-level helpers of the code server: reading a library, hashing it, and
// writing the unique copy that dlopen sees.
//
// Copies are written with O_EXCL: an existing file is never overwritten, not
// even one left behind by an earlier node, because a loaded library's file
// must never change under it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "relup/status.h"

namespace relup::code {

// The whole file; errors name the path and say why.
Result<std::string> ReadLibraryFile(const std::string& path);

// Hex SHA-256 of some bytes.
std::string Sha256Hex(std::string_view bytes);

// True when bytes start like an ELF object.
bool LooksLikeElf(std::string_view bytes);

// Creates `dir` (and its parents) with mode 0700 if missing.
Status EnsureDirectory(const std::string& dir);

// Writes `bytes` to a new file DIR/STEM-SERIAL-SHA8.so, where SERIAL comes
// from next_serial() and is drawn again if that name is taken. Returns the path.
Result<std::string> WriteUniqueCopy(const std::string& dir, std::string_view stem,
                                    std::string_view sha256, std::string_view bytes,
                                    const std::function<uint64_t()>& next_serial);

// "demo_server-2" for "/x/y/demo_server-2.so": a readable stem for copies.
std::string LibraryStem(const std::string& path);

}  // namespace relup::code
