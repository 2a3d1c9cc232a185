// relup build: release spec -> release tarball.
//
//   1. parse the spec (spec.h), reporting every shape problem;
//   2. find each module's library (FindLibrary) and check it: a relup module,
//      whose descriptor name and vsn are the spec's;
//   3. with --from (a spec or a release tarball): load that release, refuse a
//      module whose content changed while its vsn did not, and generate the
//      appup entries the spec does not write for that version (appup_gen.h);
//   4. compile every appup entry into a plan (plan_compiler.h);
//   5. assemble the tarball's files (relup/release.h layout) with MANIFEST,
//      and SIGNATURE when BuildOptions::sign is set (release/signing.h).
// Every problem from every stage is collected in Diagnostics; no output is
// produced if there is any.
//
// Library resolution: `library:` (default NAME-VSN.so) is used as is when
// absolute; otherwise it is looked up, in order, under each --lib-dir, the
// spec's directory, then each fallback directory (the CLI passes
// <directory of the relup binary>/../modules, where the build puts modules).
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "builder/diagnostics.h"
#include "builder/spec.h"
#include "relup/plan.h"
#include "relup/release.h"

namespace relup::build {

struct LibrarySearch {
  std::vector<std::string> lib_dirs;       // --lib-dir, searched first
  std::vector<std::string> fallback_dirs;  // searched after the spec's directory
};

// The directories searched for a library of a spec in `spec_dir`, in order.
std::vector<std::string> SearchDirs(const LibrarySearch& search, const std::string& spec_dir);

// The path of `library` (see above), or nullopt if no candidate exists.
std::optional<std::string> FindLibrary(const std::string& library,
                                       const std::vector<std::string>& dirs);

// A release loaded from a spec (libraries found and checked) or a tarball.
struct LoadedRelease {
  std::string source;               // the file it came from
  Release release;                  // modules sorted by name
  ReleaseFiles libraries;           // tarball path (ModuleLibraryPath) -> library bytes
  std::optional<ReleaseSpec> spec;  // when loaded from a spec
  // Spec modules whose library is missing or wrong (already reported): left
  // out of `release`; later stages do not report them missing again, but
  // still check what the spec says about them (e.g. depends_on cycles).
  std::set<std::string> broken_modules;
};

// True if `path` looks like a tarball (by name: .tar.gz, .tgz, .tar).
bool IsTarballPath(const std::string& path);

// Loads a spec or a tarball; problems go to `diags` (nullopt if unusable).
std::optional<LoadedRelease> LoadRelease(const std::string& path, const LibrarySearch& search,
                                         Diagnostics* diags);

struct BuildOptions {
  std::string spec_path;
  std::string from;  // a spec or a release tarball; empty: none
  LibrarySearch search;
  // When set (relup build --sign KEY): the SIGNATURE entry for the given
  // MANIFEST bytes (SignManifest with a key loaded beforehand). Signing must
  // be deterministic for builds to stay reproducible (Ed25519 is).
  std::function<Result<std::string>(const std::string& manifest)> sign;
};

struct BuildOutput {
  Release release;
  PlanSet plans;
  ReleaseFiles files;  // every file of the tarball, MANIFEST (and SIGNATURE) included
};

// Steps 1-5 above. nullopt if diags holds any error.
std::optional<BuildOutput> BuildRelease(const BuildOptions& options, Diagnostics* diags);

// BuildRelease, then the tarball written atomically to out_path. On any
// error nothing is written (an existing out_path is left untouched).
std::optional<BuildOutput> BuildTarball(const BuildOptions& options, const std::string& out_path,
                                        Diagnostics* diags);

// The appup `relup gen-appup OLD NEW` prints: the generated up entry (from
// OLD) and down entry (to OLD) of NEW. Both are specs or tarballs.
std::optional<Appup> GenerateAppup(const std::string& old_path, const std::string& new_path,
                                   const LibrarySearch& search, Diagnostics* diags);

}  // namespace relup::build
