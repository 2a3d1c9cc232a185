// Writing a verified release tarball's files into a node root, crash-safely.
//
// A release tarball (relup/release.h) holds MANIFEST, maybe SIGNATURE
// (kept beside MANIFEST in ROOT/releases/VSN/), releases/VSN/... and
// lib/NAME-VSN/... for the modules of its release. CheckReleaseLayout refuses
// any other path, so nothing is ever written outside ROOT/releases/VSN and
// ROOT/lib/NAME-VSN (ReadTarball has already refused absolute paths, "..",
// and links).
//
// Each directory is written complete under a temporary name in its parent
// (files fsync'ed), then renamed into place and the parent fsync'ed: after a
// crash a directory is either absent or whole. ROOT/lib/NAME-VSN directories
// are shared between releases: an existing one is kept if its files have the
// same bytes as the tarball's. One with other bytes is replaced if no
// release the store lists uses it (it was left by a release that was
// removed, or replaced because it never ran), and refused otherwise, naming
// the file and the release that uses it.
//
// Thread-compatible: the release handler serialises its callers.
#pragma once

#include <map>
#include <string>

#include "relup/plan.h"
#include "relup/release.h"
#include "relup/status.h"

namespace relup {

// Every path is MANIFEST, SIGNATURE, releases/VSN/FILE or lib/NAME-VSN/FILE of a module
// of `release` (with NAME-VSN its name and vsn). Corruption naming the entry.
Status CheckReleaseLayout(const ReleaseFiles& files, const Release& release,
                          const std::string& source_name);

// Writes the lib/NAME-VSN directories of `files` under `root` (see above).
// `users` maps each lib directory name (NAME-VSN) that a listed release
// uses to that release's vsn; nullptr when that is not known (then no
// existing directory is replaced).
using LibUsers = std::map<std::string, std::string>;
Status WriteReleaseLibraries(const ReleaseFiles& files, const std::string& root,
                             const LibUsers* users);

// Writes the releases/VSN/ files of `files`, MANIFEST and SIGNATURE, into a fresh
// .staging-VSN-* directory next to `release_dir`, then renames it to
// `release_dir` (replacing a directory left there by a crash: the caller
// knows the store does not list it).
Status WriteReleaseDir(const ReleaseFiles& files, const Release& release,
                       const std::string& release_dir);

// True if `release_dir` and ROOT/lib hold exactly these files' bytes, SIGNATURE
// aside (the same release signed anew, or signed at last, is the same release).
bool ReleaseOnDiskMatches(const ReleaseFiles& files, const Release& release,
                          const std::string& root, const std::string& release_dir);

// An unpacked release read back from ROOT/releases/VSN: its release.yaml
// and, unless it is a first release, its relup.yaml.
struct ReleaseOnDisk {
  Release release;
  PlanSet plans;
};
Result<ReleaseOnDisk> ReadReleaseDir(const std::string& dir);

// Removes a directory tree, ignoring errors (scratch directories).
void RemoveTree(const std::string& path);

}  // namespace relup
