#include "node/node_trust.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

namespace relup {
namespace {

namespace fs = std::filesystem;

// Refuses a trust source (a key file, or the directory of them) that anyone
// but the node's user and root could change, the way sshd's StrictModes
// treats authorized_keys: the file (or directory) itself must be owned by
// the node's user or root and not writable by group or others, and so must
// every directory above it, except that a sticky directory such as /tmp may
// be writable by others (they cannot rename what is not theirs).
Status CheckTrustSource(const std::string& path) {
  std::error_code ec;
  fs::path real = fs::canonical(path, ec);
  if (ec) return Status::IOError("cannot resolve " + path + ": " + ec.message());
  const uid_t me = ::geteuid();
  bool first = true;
  for (fs::path p = real;; p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
      return Status::IOError("cannot stat " + p.string() + ": " + std::strerror(errno));
    }
    std::string what = first ? "it" : "the directory " + p.string() + " above it";
    if (st.st_uid != me && st.st_uid != 0) {
      return Status::FailedPrecondition(
          "refusing trusted keys " + path + ": " + what + " is owned by uid " +
          std::to_string(st.st_uid) +
          ", neither this node's user nor root, who could add a key this node trusts (fix: "
          "chown it to the node's user, or keep the keys elsewhere)");
    }
    bool others_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
    bool sticky_dir = !first && (st.st_mode & S_ISVTX) != 0;
    if (others_write && !sticky_dir) {
      return Status::FailedPrecondition(
          "refusing trusted keys " + path + ": " + what +
          " is writable by group or others, so anyone of them could add a key this node "
          "trusts (fix: chmod go-w " +
          p.string() + ")");
    }
    if (p == p.root_path()) break;
    first = false;
  }
  return Status::Ok();
}

// The keys at `path`, each source checked as above.
Result<std::vector<PublicKey>> LoadSource(const std::string& path, std::string_view if_none) {
  RELUP_ASSIGN_OR_RETURN(std::vector<PublicKey> keys, LoadTrustedKeys(path, if_none));
  RELUP_RETURN_IF_ERROR(CheckTrustSource(path));
  for (const PublicKey& k : keys) RELUP_RETURN_IF_ERROR(CheckTrustSource(k.source));
  return keys;
}

}  // namespace

std::string TrustedKeysDir(const std::string& root) {
  return root + "/trusted_keys";
}

Result<std::vector<PublicKey>> LoadNodeTrust(const std::vector<std::string>& trust,
                                             const std::string& root) {
  std::vector<std::string> sources = trust;
  std::error_code ec;
  std::string in_root = TrustedKeysDir(root);
  // Anything there counts, a dangling symlink included: it fails loudly
  // instead of leaving the node trusting nothing (accepting unsigned).
  if (fs::symlink_status(in_root, ec).type() != fs::file_type::not_found) {
    sources.push_back(in_root);
  }
  std::vector<PublicKey> keys;
  std::set<std::string> ids;
  for (const std::string& source : sources) {
    // Nobody names ROOT/trusted_keys, so its way out is not "do not name it".
    RELUP_ASSIGN_OR_RETURN(
        std::vector<PublicKey> more,
        LoadSource(source, source != in_root
                               ? "do not name it"
                               : "if this node should not require signatures, remove the "
                                 "directory and restart the node (one that has had a key keeps "
                                 "requiring them until it restarts)"));
    for (PublicKey& k : more) {
      if (ids.insert(k.id).second) keys.push_back(std::move(k));
    }
  }
  return keys;
}

}  // namespace relup
