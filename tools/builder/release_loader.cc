// Loading a release for the builder: from a spec (find and check each
// module's library) or from a release tarball (--from, gen-appup).
#include <sys/stat.h>

#include <algorithm>

#include "builder/builder.h"
#include "release/atomic_file.h"
#include "release/tarball.h"
#include "relup/code_server.h"

namespace relup::build {
namespace {

bool IsRegularFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string JoinDirs(const std::vector<std::string>& dirs) {
  std::string out;
  for (const auto& d : dirs) out += (out.empty() ? "" : ", ") + d;
  return out;
}

// Loads and checks one module's library; true and fills `out` if usable.
bool LoadModule(const SpecModule& m, const std::vector<std::string>& dirs, Diagnostics* diags,
                ReleaseModule* out, std::string* bytes) {
  auto path = FindLibrary(m.library, dirs);
  if (!path) {
    diags->error(m.library_loc,
                 "library " + m.library + " of module " + m.name + " not found (looked in: " +
                     (m.library.front() == '/' ? m.library : JoinDirs(dirs)) + ")",
                 "build the module first and pass --lib-dir BUILD/modules (where "
                 "relup_add_module puts NAME-VSN.so; in a relup checkout, ./scripts/setup.sh "
                 "puts the examples in build/modules), or set `library:` to its path");
    return false;
  }
  auto content = ReadWholeFile(*path);
  if (!content.ok()) {
    diags->error(m.library_loc, "cannot read library " + *path, "check its permissions");
    return false;
  }
  auto info = InspectModuleFile(*path);
  if (!info.ok()) {
    diags->error(m.library_loc,
                 "library " + *path + " of module " + m.name +
                     " is not a usable relup module: " + info.status().message(),
                 "point `library:` at a module built with relup_add_module and RELUP_MODULE");
    return false;
  }
  bool ok = true;
  if (info->name != m.name) {
    diags->error(
        m.library_loc,
        "library " + *path + " is module '" + info->name + "', but the spec says '" + m.name + "'",
        "point `library:` at the build of " + m.name + ", or name the entry " + info->name);
    ok = false;
  } else if (info->vsn != m.vsn) {
    diags->error(m.library_loc,
                 "library " + *path + " is " + m.name + " vsn " + info->vsn +
                     ", but the spec says vsn " + m.vsn,
                 "set `vsn: \"" + info->vsn + "\"`, or point `library:` at the build of " + m.name +
                     " vsn " + m.vsn);
    ok = false;
  }
  if (!ok) return false;
  out->name = m.name;
  out->vsn = m.vsn;
  out->sha256 = Sha256Hex(*content);
  out->build_id = info->build_id;
  out->has_code_change = info->has_code_change;
  out->path = ModuleLibraryPath(m.name, m.vsn);
  *bytes = *std::move(content);
  return true;
}

std::optional<LoadedRelease> LoadFromSpec(const std::string& path, const LibrarySearch& search,
                                          Diagnostics* diags) {
  auto spec = ParseSpecFile(path, diags);
  if (!spec) return std::nullopt;
  LoadedRelease out;
  out.source = path;
  out.release.name = spec->name;
  out.release.vsn = spec->vsn;
  std::vector<std::string> dirs = SearchDirs(search, spec->dir);
  for (const auto& m : spec->modules) {
    ReleaseModule module;
    std::string bytes;
    if (!LoadModule(m, dirs, diags, &module, &bytes)) {
      out.broken_modules.insert(m.name);
      continue;
    }
    out.libraries.emplace(module.path, std::move(bytes));
    out.release.modules.push_back(std::move(module));
  }
  std::sort(out.release.modules.begin(), out.release.modules.end(),
            [](const ReleaseModule& a, const ReleaseModule& b) { return a.name < b.name; });
  for (const auto& p : spec->processes) out.release.processes.push_back(p.process);
  out.release.root = spec->root;
  out.release.config = spec->config;
  out.release.config_schema = spec->config_schema;
  out.spec = std::move(spec);
  return out;
}

std::optional<LoadedRelease> LoadFromTarball(const std::string& path, Diagnostics* diags) {
  auto files = ReadTarball(path);
  if (!files.ok()) {
    diags->error({path, 0, 0}, files.status().message(),
                 "pass a release tarball written by relup build");
    return std::nullopt;
  }
  bool ok = true;
  for (const auto& problem : VerifyManifest(*files)) {
    diags->error({path, 0, 0}, "tarball fails verification: " + problem,
                 "rebuild it, or use the original tarball");
    ok = false;
  }
  auto release = ReleaseFromFiles(*files, path);
  if (!release.ok()) {
    diags->error({path, 0, 0}, release.status().message(), "rebuild the tarball with relup build");
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  LoadedRelease out;
  out.source = path;
  out.release = *std::move(release);
  for (const auto& m : out.release.modules) {
    auto lib = files->find(m.path);
    if (lib == files->end()) {
      diags->error({path, 0, 0}, "library " + m.path + " of module " + m.name + " is missing",
                   "rebuild the tarball with relup build");
      return std::nullopt;
    }
    out.libraries.emplace(m.path, lib->second);
  }
  return out;
}

}  // namespace

std::vector<std::string> SearchDirs(const LibrarySearch& search, const std::string& spec_dir) {
  std::vector<std::string> dirs = search.lib_dirs;
  dirs.push_back(spec_dir);
  dirs.insert(dirs.end(), search.fallback_dirs.begin(), search.fallback_dirs.end());
  return dirs;
}

std::optional<std::string> FindLibrary(const std::string& library,
                                       const std::vector<std::string>& dirs) {
  if (library.empty()) return std::nullopt;
  if (library.front() == '/') {
    if (IsRegularFile(library)) return library;
    return std::nullopt;
  }
  for (const auto& dir : dirs) {
    std::string candidate = dir.empty() ? library : dir + "/" + library;
    if (IsRegularFile(candidate)) return candidate;
  }
  return std::nullopt;
}

bool IsTarballPath(const std::string& path) {
  auto ends = [&](std::string_view suffix) { return std::string_view(path).ends_with(suffix); };
  return ends(".tar.gz") || ends(".tgz") || ends(".tar");
}

std::optional<LoadedRelease> LoadRelease(const std::string& path, const LibrarySearch& search,
                                         Diagnostics* diags) {
  if (IsTarballPath(path)) return LoadFromTarball(path, diags);
  return LoadFromSpec(path, search, diags);
}

}  // namespace relup::build
