// Shared by the builder's tests: a scratch directory, spec files written into
// it, and builds that look for libraries in the test and example module dirs.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "builder/builder.h"

namespace relup::build::testing {

inline const std::string kBuilderModules = RELUP_TEST_MODULE_DIR "/builder";

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "relup-build-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

  // Writes `text` to NAME in this directory and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    std::string file = *this / name;
    std::filesystem::create_directories(std::filesystem::path(file).parent_path());
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }

 private:
  std::string path_;
};

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline BuildOptions Options(const std::string& spec, const std::string& from = {}) {
  BuildOptions options;
  options.spec_path = spec;
  options.from = from;
  options.search.lib_dirs = {kBuilderModules, RELUP_MODULE_DIR};
  return options;
}

// The build of a spec that must succeed (the test fails with the diagnostics).
inline BuildOutput MustBuild(const BuildOptions& options) {
  Diagnostics diags;
  auto out = BuildRelease(options, &diags);
  INFO(diags.format());
  REQUIRE(out);
  return *std::move(out);
}

// The output of a shell command and its exit status.
struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

inline CommandResult Run(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

inline std::string Relup() {
  return std::string("'") + RELUP_BIN + "'";
}

}  // namespace relup::build::testing
