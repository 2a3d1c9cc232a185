#include "release/release_unpack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "release/atomic_file.h"

namespace relup {
namespace {

namespace fs = std::filesystem;

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError(what + " " + path + ": " + std::strerror(errno));
}

std::string FreshScratch(const std::string& parent, const std::string& stem) {
  static std::atomic<uint64_t> counter{0};
  for (;;) {
    std::string path = parent + "/.staging-" + stem + "-" + std::to_string(::getpid()) + "-" +
                       std::to_string(++counter);
    std::error_code ec;
    if (!fs::exists(path, ec)) return path;
  }
}

// Writes `entries` (file name -> bytes) into a fresh directory next to
// `final_dir` and renames it to `final_dir`. A directory already at final_dir
// is replaced only if `replace`; otherwise the rename's failure is returned.
Status WriteDirectory(const std::map<std::string, const std::string*>& entries,
                      const std::string& final_dir, bool replace) {
  fs::path parent = fs::path(final_dir).parent_path();
  std::string staging = FreshScratch(parent.string(), fs::path(final_dir).filename().string());
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (::mkdir(staging.c_str(), 0755) != 0) return Errno("cannot create directory", staging);
  for (const auto& [name, bytes] : entries) {
    int mode = name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0 ? 0755 : 0644;
    Status s = WriteNewFile(staging + "/" + name, *bytes, mode);
    if (!s.ok()) {
      RemoveTree(staging);
      return s;
    }
  }
  RELUP_RETURN_IF_ERROR(FsyncDirectory(staging));
  if (replace && fs::exists(final_dir, ec)) RemoveTree(final_dir);
  if (::rename(staging.c_str(), final_dir.c_str()) != 0) {
    Status s = Errno("cannot rename " + staging + " to", final_dir);
    RemoveTree(staging);
    return s;
  }
  return FsyncDirectory(parent.string());
}

// "lib/NAME-VSN/FILE" -> ("NAME-VSN", "FILE"); false for anything else.
bool SplitLibPath(const std::string& path, std::string* dir, std::string* file) {
  if (path.rfind("lib/", 0) != 0) return false;
  size_t slash = path.find('/', 4);
  if (slash == std::string::npos || path.find('/', slash + 1) != std::string::npos) return false;
  *dir = path.substr(4, slash - 4);
  *file = path.substr(slash + 1);
  return !dir->empty() && !file->empty();
}

std::map<std::string, std::map<std::string, const std::string*>> LibDirs(
    const ReleaseFiles& files) {
  std::map<std::string, std::map<std::string, const std::string*>> dirs;
  for (const auto& [path, bytes] : files) {
    std::string dir, file;
    if (SplitLibPath(path, &dir, &file)) dirs[dir][file] = &bytes;
  }
  return dirs;
}

std::map<std::string, const std::string*> ReleaseDirEntries(const ReleaseFiles& files,
                                                            const Release& release) {
  std::map<std::string, const std::string*> entries;
  std::string prefix = "releases/" + release.vsn + "/";
  for (const auto& [path, bytes] : files) {
    if (path == kManifestPath || path == kSignaturePath) entries[path] = &bytes;
    if (path.rfind(prefix, 0) == 0) entries[path.substr(prefix.size())] = &bytes;
  }
  return entries;
}

}  // namespace

void RemoveTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

Status CheckReleaseLayout(const ReleaseFiles& files, const Release& release,
                          const std::string& source_name) {
  std::set<std::string> lib_dirs;
  for (const ReleaseModule& m : release.modules) lib_dirs.insert(m.name + "-" + m.vsn);
  std::string prefix = "releases/" + release.vsn + "/";
  for (const auto& [path, bytes] : files) {
    if (path == kManifestPath || path == kSignaturePath) continue;
    if (path.rfind(prefix, 0) == 0 && path.find('/', prefix.size()) == std::string::npos) continue;
    std::string dir, file;
    if (SplitLibPath(path, &dir, &file) && lib_dirs.count(dir)) continue;
    return Status::Corruption(source_name + ": unexpected entry " + path +
                              ": a release tarball holds only MANIFEST, SIGNATURE, " + prefix +
                              "FILE and lib/NAME-VSN/FILE for the modules of its release "
                              "(rebuild it with relup build)");
  }
  return Status::Ok();
}

Status WriteReleaseLibraries(const ReleaseFiles& files, const std::string& root,
                             const LibUsers* users) {
  std::string lib_root = root + "/lib";
  for (const auto& [dir, entries] : LibDirs(files)) {
    std::string final_dir = lib_root + "/" + dir;
    std::error_code ec;
    bool replace = false;
    if (fs::exists(final_dir, ec)) {
      // Shared with another release (or left by an interrupted unpack of this one).
      bool same = true;
      std::string differs;
      for (const auto& [file, bytes] : entries) {
        Result<std::string> on_disk = ReadWholeFile(final_dir + "/" + file);
        if (!on_disk.ok() || *on_disk != *bytes) {
          same = false;
          differs = file;
          break;
        }
      }
      if (same) continue;
      auto user = users != nullptr ? users->find(dir) : LibUsers::const_iterator();
      if (users == nullptr || user != users->end()) {
        std::string who = users != nullptr ? "release " + user->second + " uses" : "it holds";
        return Status::AlreadyExists(
            final_dir + "/" + differs + " already exists with other content than the tarball's " +
            "lib/" + dir + "/" + differs + " (" + who + " that version): the same module " +
            "version was built twice with different code; bump the module's vsn and rebuild " +
            "the release");
      }
      replace = true;  // left by a release no longer listed
    }
    RELUP_RETURN_IF_ERROR(WriteDirectory(entries, final_dir, replace));
  }
  return Status::Ok();
}

Status WriteReleaseDir(const ReleaseFiles& files, const Release& release,
                       const std::string& release_dir) {
  return WriteDirectory(ReleaseDirEntries(files, release), release_dir, /*replace=*/true);
}

bool ReleaseOnDiskMatches(const ReleaseFiles& files, const Release& release,
                          const std::string& root, const std::string& release_dir) {
  for (const auto& [name, bytes] : ReleaseDirEntries(files, release)) {
    // Who signed it is not what it holds: MANIFEST already names every byte,
    // so the same release signed anew (another key, or signed at last) is
    // the same release.
    if (name == kSignaturePath) continue;
    Result<std::string> on_disk = ReadWholeFile(release_dir + "/" + name);
    if (!on_disk.ok() || *on_disk != *bytes) return false;
  }
  for (const auto& [dir, entries] : LibDirs(files)) {
    for (const auto& [file, bytes] : entries) {
      Result<std::string> on_disk = ReadWholeFile(root + "/lib/" + dir + "/" + file);
      if (!on_disk.ok() || *on_disk != *bytes) return false;
    }
  }
  return true;
}

Result<ReleaseOnDisk> ReadReleaseDir(const std::string& dir) {
  ReleaseOnDisk out;
  std::string release_path = dir + "/release.yaml";
  RELUP_ASSIGN_OR_RETURN(std::string release_text, ReadWholeFile(release_path));
  RELUP_ASSIGN_OR_RETURN(out.release, ParseReleaseYaml(release_text, release_path));
  std::string relup_path = dir + "/relup.yaml";
  Result<std::string> relup_text = ReadWholeFile(relup_path);
  if (relup_text.ok()) {
    RELUP_ASSIGN_OR_RETURN(out.plans, ParsePlanSetYaml(*relup_text, relup_path));
  } else if (relup_text.status().code() != StatusCode::kNotFound) {
    return relup_text.status();
  } else {
    out.plans.release = out.release.name;  // a first release: no plans
    out.plans.vsn = out.release.vsn;
  }
  return out;
}

}  // namespace relup
