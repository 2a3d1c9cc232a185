#include "node/root_check.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace relup {
namespace {

namespace fs = std::filesystem;

std::string UserName(uid_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  char buf[1024];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr) {
    return "uid " + std::to_string(uid) + " (" + found->pw_name + ")";
  }
  return "uid " + std::to_string(uid);
}

std::string Mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

bool TrustedOwner(uid_t owner) {
  return owner == ::geteuid() || owner == 0;
}

Status Refuse(const std::string& root, const std::string& why) {
  return Status::FailedPrecondition(
      "refusing root " + root + ": " + why +
      " (a user who can change it could make this node load their code as " +
      UserName(::geteuid()) + ")");
}

// `path` itself (a directory or file the node writes or loads from).
Status CheckOwnEntry(const std::string& root, const std::string& path, bool must_exist) {
  struct stat ls {};
  if (::lstat(path.c_str(), &ls) != 0) {
    if (errno == ENOENT && !must_exist) return Status();
    return Status::IOError("cannot stat " + path + ": " + std::strerror(errno));
  }
  if (S_ISLNK(ls.st_mode) && !TrustedOwner(ls.st_uid)) {
    return Refuse(root, path + " is a symlink owned by " + UserName(ls.st_uid) +
                            "; fix: remove it (rm " + path + ") and let the node create it");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::IOError("cannot stat " + path + ": " + std::strerror(errno));
  }
  if (!TrustedOwner(st.st_uid)) {
    return Refuse(root, path + " is owned by " + UserName(st.st_uid) + ", not by " +
                            UserName(::geteuid()) + " or root; fix: chown " +
                            std::to_string(::geteuid()) + " " + path);
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Refuse(root, path + " is writable by group or others (mode " + Mode(st.st_mode) +
                            "); fix: chmod go-w " + path);
  }
  return Status();
}

// What the node loads or reads its releases from inside releases/ and lib/:
// releases/VSN/ and lib/NAME-VSN/ and the files in them (two levels; relup
// creates nothing deeper). The same rule as for the directories themselves,
// applied to files too: another user's symlink, or an entry owned or
// writable by another user, could hand the node somebody else's library.
Status CheckEntries(const std::string& root, const fs::path& dir, int depth) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return Status();
    return Status::IOError("cannot list " + dir.string() + ": " + ec.message());
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Status::IOError("cannot list " + dir.string() + ": " + ec.message());
    const std::string path = it->path().string();
    RELUP_RETURN_IF_ERROR(CheckOwnEntry(root, path, false));
    struct stat st {};
    if (depth > 1 && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      RELUP_RETURN_IF_ERROR(CheckEntries(root, it->path(), depth - 1));
    }
  }
  return Status();
}

}  // namespace

Status CheckRootPermissions(const std::string& root) {
  RELUP_RETURN_IF_ERROR(CheckOwnEntry(root, root, true));
  std::error_code ec;
  fs::path real = fs::canonical(root, ec);
  if (ec) return Status::IOError("cannot resolve root " + root + ": " + ec.message());
  for (const char* sub : {"releases", "lib", "code"}) {
    RELUP_RETURN_IF_ERROR(CheckOwnEntry(root, (real / sub).string(), false));
  }
  for (const char* sub : {"releases", "lib"}) {
    RELUP_RETURN_IF_ERROR(CheckEntries(root, real / sub, 2));
  }
  // The directories above: they may be shared (/tmp), but then only with the
  // sticky bit, which keeps others from renaming what they do not own.
  for (fs::path p = real.parent_path(); !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
      return Status::IOError("cannot stat " + p.string() + ": " + std::strerror(errno));
    }
    if (!TrustedOwner(st.st_uid)) {
      return Refuse(root, "the directory above it, " + p.string() + ", is owned by " +
                              UserName(st.st_uid) +
                              "; fix: use a root under a directory of your own or root's");
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
      return Refuse(root, "the directory above it, " + p.string() +
                              ", is writable by group or others without the sticky bit (mode " +
                              Mode(st.st_mode) + "); fix: chmod go-w " + p.string() +
                              " (or chmod +t)");
    }
    if (p == p.root_path()) break;
  }
  return Status();
}

}  // namespace relup
