#include "builder/builder.h"

#include <unistd.h>

#include <filesystem>

#include "builder/appup_gen.h"
#include "builder/plan_compiler.h"
#include "release/tarball.h"

namespace relup::build {
namespace {

bool Matches(const std::string& entry_vsn, const std::string& vsn) {
  return entry_vsn == vsn || (IsVersionPattern(entry_vsn) && VersionMatches(entry_vsn, vsn));
}

bool HasEntryFor(const std::vector<AppupEntry>& entries, const std::string& vsn) {
  for (const auto& e : entries) {
    if (!e.refused && Matches(e.vsn, vsn)) return true;
  }
  return false;
}

// A module may not change its content under the same vsn: a node cannot load
// two different builds under one name and vsn.
void CheckSameVsnContent(const LoadedRelease& self, const LoadedRelease& old, Diagnostics* diags) {
  for (const auto& m : self.release.modules) {
    const ReleaseModule* o = old.release.find_module(m.name);
    if (!o || o->vsn != m.vsn || o->sha256 == m.sha256) continue;
    SourceLoc loc{self.source, 0, 0};
    if (self.spec) {
      for (const auto& sm : self.spec->modules) {
        if (sm.name == m.name) loc = sm.loc;
      }
    }
    diags->error(loc,
                 "module " + m.name + " vsn " + m.vsn + " differs in content from " + m.name + " " +
                     m.vsn + " in release " + old.release.name + " " + old.release.vsn + " (" +
                     old.source + "): sha256 " + m.sha256.substr(0, 12) + "... vs " +
                     o->sha256.substr(0, 12) + "...",
                 "bump " + m.name +
                     "'s vsn (relup_add_module and RELUP_MODULE): a node cannot load two "
                     "different builds under one vsn");
  }
}

void SetLocations(AppupEntry* entry, const SourceLoc& loc) {
  entry->loc = loc;
  for (auto& in : entry->instructions) in.loc = loc;
}

}  // namespace

std::optional<BuildOutput> BuildRelease(const BuildOptions& options, Diagnostics* diags) {
  if (IsTarballPath(options.spec_path)) {
    diags->error({options.spec_path, 0, 0}, "relup build reads a release spec, not a tarball",
                 "pass the YAML spec (e.g. release-specs/demo-2.yaml); use --from for a tarball");
    return std::nullopt;
  }
  std::optional<LoadedRelease> self = LoadRelease(options.spec_path, options.search, diags);
  std::optional<LoadedRelease> old;
  if (!options.from.empty()) old = LoadRelease(options.from, options.search, diags);
  if (!self || !self->spec) return std::nullopt;
  const ReleaseSpec& spec = *self->spec;
  const Release& release = self->release;
  Appup appup = spec.appup;

  if (old) {
    if (old->release.vsn == release.vsn) {
      diags->error(spec.vsn_loc.line ? spec.vsn_loc : spec.loc,
                   "--from " + options.from + " is release " + old->release.name + " " +
                       old->release.vsn + ", the same vsn as this release",
                   "pass the release nodes run before this one, or bump this release's vsn");
      old.reset();
    } else {
      CheckSameVsnContent(*self, *old, diags);
      SourceLoc generated_loc{spec.path + " (appup generated from " + options.from + ")", 0, 0};
      if (!HasEntryFor(appup.up, old->release.vsn)) {
        appup.up.push_back(GenerateUpEntry(old->release, release));
        SetLocations(&appup.up.back(), generated_loc);
      }
      if (!HasEntryFor(appup.down, old->release.vsn)) {
        appup.down.push_back(GenerateDownEntry(old->release, release));
        SetLocations(&appup.down.back(), generated_loc);
      }
    }
  }

  BuildOutput out;
  out.release = release;
  out.plans.release = release.name;
  out.plans.vsn = release.vsn;
  auto compile = [&](const std::vector<AppupEntry>& entries, bool down,
                     std::vector<UpgradePlan>* plans) {
    for (const auto& entry : entries) {
      const LoadedRelease* other = nullptr;
      bool exact = false;
      if (old && Matches(entry.vsn, old->release.vsn)) {
        other = &*old;
        exact = entry.vsn == old->release.vsn;
      }
      // A refused entry is compiled for its checks only.
      UpgradePlan plan = CompileAppupEntry(entry, down, *self, other, exact, diags);
      if (!entry.refused) plans->push_back(std::move(plan));
    }
  };
  compile(appup.up, false, &out.plans.up);
  compile(appup.down, true, &out.plans.down);
  if (!diags->empty()) return std::nullopt;

  out.files = self->libraries;
  out.files[ReleaseYamlPath(release.vsn)] = ReleaseToYaml(release);
  out.files[RelupYamlPath(release.vsn)] = PlanSetToYaml(out.plans);
  out.files[kManifestPath] = MakeManifest(out.files);
  if (options.sign) {
    Result<std::string> signature = options.sign(out.files[kManifestPath]);
    if (!signature.ok()) {
      diags->error({options.spec_path, 0, 0},
                   "cannot sign the release: " + signature.status().message(),
                   "check the key given to --sign (relup keygen makes one)");
      return std::nullopt;
    }
    out.files[kSignaturePath] = *std::move(signature);
  }
  return out;
}

std::optional<BuildOutput> BuildTarball(const BuildOptions& options, const std::string& out_path,
                                        Diagnostics* diags) {
  auto out = BuildRelease(options, diags);
  if (!out) return std::nullopt;
  std::error_code ec;
  // The tarball -o should name, for the fixes below.
  const std::string example = out->release.name + "-" + out->release.vsn + ".tar.gz";
  bool trailing_slash = !out_path.empty() && out_path.back() == '/';
  if (out_path.empty() || trailing_slash || std::filesystem::is_directory(out_path, ec)) {
    std::string dir = out_path.empty() ? "dist/" : trailing_slash ? out_path : out_path + "/";
    diags->error({out_path, 0, 0}, "-o names a directory, not the tarball to write",
                 "-o names the tarball file: -o " + dir + example);
    return std::nullopt;
  }
  for (const std::string& input : {options.spec_path, options.from}) {
    if (!input.empty() && std::filesystem::equivalent(out_path, input, ec)) {
      diags->error({out_path, 0, 0}, "-o names " + input + ", an input of this build",
                   "-o names the tarball to write: -o dist/" + example);
      return std::nullopt;
    }
  }
  // Like `cmake -B` or `cargo build`, the output's directory is made when it
  // is missing (CI writes to a fresh dist/); only once the release is good.
  std::filesystem::path parent = std::filesystem::path(out_path).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent, ec)) {
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      diags->error({out_path, 0, 0},
                   "cannot make the output directory " + parent.string() + ": " + ec.message(),
                   "give -o a path in a directory you can write to");
      return std::nullopt;
    }
  }
  Status written = WriteTarballAtomically(out_path, out->files);
  if (!written.ok()) {
    diags->error({out_path, 0, 0}, "cannot write the tarball: " + written.message(),
                 "check that the output directory is writable");
    return std::nullopt;
  }
  return out;
}

std::optional<Appup> GenerateAppup(const std::string& old_path, const std::string& new_path,
                                   const LibrarySearch& search, Diagnostics* diags) {
  auto older = LoadRelease(old_path, search, diags);
  auto newer = LoadRelease(new_path, search, diags);
  if (!older || !newer || !diags->empty()) return std::nullopt;
  if (older->release.vsn == newer->release.vsn) {
    diags->error({old_path, 0, 0},
                 old_path + " and " + new_path + " are both vsn " + newer->release.vsn,
                 "pass the older release first, then the newer one");
    return std::nullopt;
  }
  CheckSameVsnContent(*newer, *older, diags);
  if (!diags->empty()) return std::nullopt;
  Appup appup;
  appup.up.push_back(GenerateUpEntry(older->release, newer->release));
  appup.down.push_back(GenerateDownEntry(older->release, newer->release));
  return appup;
}

}  // namespace relup::build
