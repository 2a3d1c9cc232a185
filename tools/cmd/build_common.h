// Helpers shared by the release-building commands (build, gen-appup, explain,
// inspect, verify). Command runners only: these print.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "builder/builder.h"
#include "builder/diagnostics.h"

namespace relup::cli {

// --lib-dir DIR (repeatable), into search->lib_dirs.
void AddLibDirOption(CLI::App& sub, build::LibrarySearch* search);

// Adds the default fallback directory: <dir of the relup binary>/../modules,
// where the build puts every module (build/bin/relup -> build/modules).
void AddDefaultLibraryDirs(build::LibrarySearch* search);

// For a release tarball named on the command line that could not be opened
// (`status` from ReadTarball or OpenReleaseTarball): prints "relup CMD:
// MESSAGE" and returns kExitUsage when `path` is not a file (missing, a
// directory), kExitFailure when it cannot be read, and kExitVerifyFailed
// when it is not a valid release tarball -- the same for every command.
int TarballOpenFailure(std::string_view cmd, const std::string& path, const Status& status);

// Prints every diagnostic to stderr, then "relup CMD: N error(s)[; suffix]".
void PrintDiagnostics(std::string_view cmd, const build::Diagnostics& diags,
                      std::string_view suffix = {});

}  // namespace relup::cli
