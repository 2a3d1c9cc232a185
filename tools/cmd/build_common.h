// Helpers shared by the release-building commands (build, gen-appup, explain,
// inspect, verify). Command runners only: these print.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "build/builder.h"
#include "build/diagnostics.h"

namespace relup::cli {

// --lib-dir DIR (repeatable), into search->lib_dirs.
void AddLibDirOption(CLI::App& sub, build::LibrarySearch* search);

// Adds the default fallback directory: <dir of the relup binary>/../modules,
// where the build puts every module (build/bin/relup -> build/modules).
void AddDefaultLibraryDirs(build::LibrarySearch* search);

// Prints every diagnostic to stderr, then "relup CMD: N error(s)[; suffix]".
void PrintDiagnostics(std::string_view cmd, const build::Diagnostics& diags,
                      std::string_view suffix = {});

}  // namespace relup::cli
