// ReleaseHandler, taking tarballs in and letting releases go: the keys a
// tarball must be signed by, reading and verifying it, unpacking it into the
// root, making a release permanent, and removing one with the libraries
// only it used (release_handler.h has the contract; release_handler.cc runs
// the upgrades, downgrades and boots).
#include <unistd.h>

#include <filesystem>

#include "node/node_trust.h"
#include "release/atomic_file.h"
#include "node/release_handler.h"
#include "release/release_store.h"
#include "release/release_unpack.h"
#include "release/signing.h"
#include "release/tarball.h"

namespace relup {

Result<std::vector<PublicKey>> ReleaseHandler::trusted_keys() const {
  auto keys = LoadNodeTrust(trust_sources_, root_);
  if (!keys.ok()) {
    // FailedPrecondition whatever the cause: a refusal at the "verify" step
    // (exit 6), not the tarball being unreadable.
    return Status::FailedPrecondition(
        "the node's trusted keys cannot be read, so no tarball is accepted: " +
        keys.status().message() +
        " (the node reads its trust for every tarball: put the key back or fix it; a node "
        "that has had a key needs a restart to stop requiring signatures)");
  }
  if (!keys->empty()) {
    trust_required_.store(true);
  } else if (trust_required_.load()) {
    std::string where = TrustedKeysDir(root_);
    for (const std::string& s : trust_sources_) where += ", " + s;
    return Status::FailedPrecondition(
        "no trusted key is left (" + where +
        "), but this node has required signed tarballs and keeps requiring them while it "
        "runs: add the signing key's .pub to " +
        TrustedKeysDir(root_) + ", or restart the node to accept unsigned tarballs");
  }
  return keys;
}

Result<ReleaseHandler::Verified> ReleaseHandler::ReadVerified(const std::string& tarball) const {
  Verified v;
  auto files = ReadTarball(tarball);
  if (!files.ok() && (files.status().code() == StatusCode::kNotFound ||
                      files.status().code() == StatusCode::kIOError)) {
    // The CLI could read it (it checks first), so this is the node's view:
    // another user, or a service's private /tmp.
    return Status::FromCode(
        files.status().code(),
        files.status().message() + " (the node reads the tarball itself, as uid " +
            std::to_string(::geteuid()) +
            ": put it where that user can read it, outside any private /tmp of the service)");
  }
  RELUP_ASSIGN_OR_RETURN(v.files, std::move(files));
  // Who made it, before what it holds: a node that trusts keys looks no
  // further into a tarball none of them signed.
  RELUP_ASSIGN_OR_RETURN(std::vector<PublicKey> keys, trusted_keys());
  if (!keys.empty()) {
    RELUP_RETURN_IF_ERROR(CheckSignature(v.files, keys, tarball).status());
  }
  std::vector<std::string> problems = VerifyManifest(v.files);
  if (!problems.empty()) {
    std::string text;
    for (const std::string& p : problems) text += "\n  " + p;
    return Status::Corruption(tarball + " failed verification against its MANIFEST:" + text +
                              "\nthe tarball was changed after relup build made it: rebuild it, "
                              "or fetch it again");
  }
  RELUP_ASSIGN_OR_RETURN(v.release, ReleaseFromFiles(v.files, tarball));
  RELUP_RETURN_IF_ERROR(CheckReleaseLayout(v.files, v.release, tarball));
  auto relup = v.files.find(RelupYamlPath(v.release.vsn));
  if (relup != v.files.end()) {
    RELUP_ASSIGN_OR_RETURN(v.plans, ParsePlanSetYaml(relup->second, tarball + ":" + relup->first));
  } else {
    v.plans.release = v.release.name;  // a first release: no plans
    v.plans.vsn = v.release.vsn;
  }
  return v;
}

// Why `v` cannot be installed over the running release, or ok.
Result<std::string> ReleaseHandler::Unpack(const std::string& tarball,
                                           const std::function<Status(const Release&)>& check) {
  std::unique_lock<std::mutex> lock(busy_, std::try_to_lock);
  if (!lock.owns_lock()) return Busy("").status();
  SetActivity("unpack " + tarball);
  return UnpackLocked(tarball, check);
}

Result<std::string> ReleaseHandler::UnpackLocked(
    const std::string& tarball, const std::function<Status(const Release&)>& check) {
  RELUP_ASSIGN_OR_RETURN(Verified v, ReadVerified(tarball));
  if (check) RELUP_RETURN_IF_ERROR(check(v.release));
  return UnpackVerified(v, tarball);
}

std::optional<LibUsers> ReleaseHandler::LibDirUsers(std::string_view except) const {
  LibUsers users;
  for (const ReleaseEntry& e : store_.releases()) {
    if (e.vsn == except) continue;
    Result<ReleaseOnDisk> disk = ReadReleaseDir(store_.release_dir(e.vsn));
    if (!disk.ok()) return std::nullopt;
    for (const ReleaseModule& m : disk->release.modules) users.emplace(m.name + "-" + m.vsn, e.vsn);
  }
  return users;
}

Result<std::string> ReleaseHandler::UnpackVerified(const Verified& v, const std::string& tarball,
                                                   std::vector<std::string>* notes) {
  const ReleaseFiles& files = v.files;
  const Release& release = v.release;
  std::string dir = store_.release_dir(release.vsn);
  if (auto known = store_.find(release.vsn)) {
    if (known->name == release.name && ReleaseOnDiskMatches(files, release, root_, dir)) {
      // The same release again: nothing to do but keep its newest signature.
      auto signature = files.find(std::string(kSignaturePath));
      if (signature != files.end()) {
        RELUP_RETURN_IF_ERROR(
            WriteFileAtomically(dir + "/" + std::string(kSignaturePath), signature->second));
      }
      return release.vsn;
    }
    std::string what = "release " + known->name + " " + release.vsn + " is already installed at " +
                       root_ + " (" + std::string(ReleaseStateName(known->state)) +
                       ") with other content than " + tarball;
    if (known->state == ReleaseState::kCurrent || known->state == ReleaseState::kPermanent) {
      return Status::AlreadyExists(what +
                                   ": it runs (or boots) this node, so give the new "
                                   "release another vsn");
    }
    if (known->state != ReleaseState::kUnpacked || known->ran) {
      return Status::AlreadyExists(what +
                                   " and has run on this node: give the new release "
                                   "another vsn, or remove the old one first (relup "
                                   "remove " +
                                   release.vsn + ")");
    }
    // Unpacked and never ran: its apply was refused or rolled back. The
    // corrected tarball replaces it, as a user retrying expects.
    RELUP_RETURN_IF_ERROR(
        store_.remove(release.vsn)
            .WithContext("replacing release " + release.vsn + ", which never ran"));
    if (notes != nullptr) {
      notes->push_back("release " + release.vsn + " was unpacked before but never ran (" +
                       known->unpacked_at + "); " + tarball + " replaced it");
    }
  }
  // Libraries first, then the release directory, then the store: a crash at
  // any point leaves nothing the store lists as unpacked but incomplete.
  std::optional<LibUsers> users = LibDirUsers(release.vsn);
  RELUP_RETURN_IF_ERROR(WriteReleaseLibraries(files, root_, users ? &*users : nullptr));
  RELUP_RETURN_IF_ERROR(WriteReleaseDir(files, release, dir));
  RELUP_RETURN_IF_ERROR(store_.add_unpacked(release.name, release.vsn));
  return release.vsn;
}

Status ReleaseHandler::MakePermanent(std::string_view vsn) {
  std::unique_lock<std::mutex> lock(busy_, std::try_to_lock);
  if (!lock.owns_lock()) return Busy(vsn).status();
  return store_.make_permanent(vsn);
}

Result<std::vector<std::string>> ReleaseHandler::Remove(std::string_view vsn_view) {
  std::string vsn(vsn_view);
  std::unique_lock<std::mutex> lock(busy_, std::try_to_lock);
  if (!lock.owns_lock()) return Busy(vsn).status();
  // Its modules, read before its directory goes (none if it cannot be read:
  // then its lib directories are left, as unknown ones are).
  std::vector<std::string> dirs;
  if (Result<ReleaseOnDisk> disk = ReadReleaseDir(store_.release_dir(vsn)); disk.ok()) {
    for (const ReleaseModule& m : disk->release.modules) dirs.push_back(m.name + "-" + m.vsn);
  }
  RELUP_RETURN_IF_ERROR(store_.remove(vsn));
  std::vector<std::string> freed;
  std::optional<LibUsers> users = LibDirUsers("");
  if (!users) return freed;
  for (const std::string& dir : dirs) {
    if (users->count(dir) != 0) continue;
    std::error_code ec;
    std::filesystem::remove_all(root_ + "/lib/" + dir, ec);
    if (ec) {
      return Status::IOError(
          "release " + vsn + " was removed but " + root_ + "/lib/" + dir +
          ", which no other release uses, could not be deleted: " + ec.message());
    }
    freed.push_back(dir);
  }
  return freed;
}

}  // namespace relup
