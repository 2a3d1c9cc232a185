#include "node/node_trust.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

namespace relup {
namespace {

namespace fs = std::filesystem;

// Refuses `path` when group or others may write to it.
Status CheckNotWritableByOthers(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::IOError("cannot stat " + path + ": " + std::strerror(errno));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Status::FailedPrecondition(
        "refusing trusted keys " + path +
        ": it is writable by group or others, so anyone of them could add a key this node "
        "trusts (fix: chmod go-w " +
        path + ")");
  }
  return Status::Ok();
}

// The keys at `path`, each source checked as above.
Result<std::vector<PublicKey>> LoadSource(const std::string& path) {
  RELUP_ASSIGN_OR_RETURN(std::vector<PublicKey> keys, LoadTrustedKeys(path));
  RELUP_RETURN_IF_ERROR(CheckNotWritableByOthers(path));
  for (const PublicKey& k : keys) RELUP_RETURN_IF_ERROR(CheckNotWritableByOthers(k.source));
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
  if (fs::exists(in_root, ec)) sources.push_back(in_root);
  std::vector<PublicKey> keys;
  std::set<std::string> ids;
  for (const std::string& source : sources) {
    RELUP_ASSIGN_OR_RETURN(std::vector<PublicKey> more, LoadSource(source));
    for (PublicKey& k : more) {
      if (ids.insert(k.id).second) keys.push_back(std::move(k));
    }
  }
  return keys;
}

}  // namespace relup
