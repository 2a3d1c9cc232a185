#include "cmd/build_common.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "cmd/node_client_util.h"
#include "exit_status.h"

namespace relup::cli {

void AddLibDirOption(CLI::App& sub, build::LibrarySearch* search) {
  sub.add_option("--lib-dir", search->lib_dirs,
                 "directory to look for module libraries in first (repeatable)");
}

void AddDefaultLibraryDirs(build::LibrarySearch* search) {
  char buffer[4096];
  ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0) return;
  std::string exe(buffer, static_cast<size_t>(n));
  size_t slash = exe.rfind('/');
  if (slash == std::string::npos) return;
  // A relup build tree: bin/relup beside modules/ (an installed relup has none).
  std::string modules = exe.substr(0, slash) + "/../modules";
  std::error_code ec;
  if (std::filesystem::is_directory(modules, ec)) search->fallback_dirs.push_back(modules);
}

void PrintDiagnostics(std::string_view cmd, const build::Diagnostics& diags,
                      std::string_view suffix) {
  std::fputs(diags.format().c_str(), stderr);
  std::fprintf(stderr, "relup %.*s: %zu error%s%s%.*s\n", static_cast<int>(cmd.size()), cmd.data(),
               diags.size(), diags.size() == 1 ? "" : "s", suffix.empty() ? "" : "; ",
               static_cast<int>(suffix.size()), suffix.data());
}

int TarballOpenFailure(std::string_view cmd, const std::string& path, const Status& status) {
  std::error_code ec;
  StatusCode code = status.code();
  int exit = !std::filesystem::is_regular_file(path, ec)                     ? kExitUsage
             : code == StatusCode::kNotFound || code == StatusCode::kIOError ? kExitFailure
                                                                             : kExitVerifyFailed;
  return ReportFailure(cmd, status, exit, "verify");
}

}  // namespace relup::cli
