#include "node/node_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "node/control_protocol.h"

namespace relup {
namespace {

// The pid written in the lock file, or 0 if unreadable.
pid_t ReadPid(int fd) {
  char buf[32] = {};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  return static_cast<pid_t>(std::strtol(buf, nullptr, 10));
}

}  // namespace

Result<NodeLock> NodeLock::Acquire(const std::string& root) {
  std::string path = control::LockPath(root);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    pid_t holder = ReadPid(fd);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      std::string who = holder > 0 ? " (pid " + std::to_string(holder) + ")" : "";
      return Status::AlreadyExists("another relup node" + who + " is already running at " + root +
                                   ": stop it first with `relup node stop --root " + root +
                                   "`, or use another --root");
    }
    return Status::IOError("cannot lock " + path + ": " + std::strerror(err));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    Status s = Status::IOError("cannot write " + path + ": " + std::strerror(errno));
    ::close(fd);
    return s;
  }
  return NodeLock(fd);
}

NodeLock::~NodeLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<pid_t> NodeLockHolder(const std::string& root) {
  std::string path = control::LockPath(root);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<pid_t> holder;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    pid_t pid = ReadPid(fd);
    holder = pid > 0 ? pid : -1;
  } else {
    ::flock(fd, LOCK_UN);
  }
  ::close(fd);
  return holder;
}

}  // namespace relup
