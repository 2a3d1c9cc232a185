// NodeLock: at most one node per root.
//
// The node holds an exclusive flock on DIR/node.lock for its whole life and
// writes its pid into it. flock is released by the kernel when the process
// dies, however it dies (kill -9 included), so a stale lock file never blocks
// a restart; the pid inside is only for messages.
//
// Thread-compatible; the fd is close-on-exec.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "relup/status.h"

namespace relup {

class NodeLock {
 public:
  // Takes the lock without waiting. AlreadyExists naming the holder's pid and
  // how to stop it when another node holds it.
  static Result<NodeLock> Acquire(const std::string& root);

  NodeLock(NodeLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  NodeLock& operator=(NodeLock&&) = delete;
  NodeLock(const NodeLock&) = delete;
  ~NodeLock();

 private:
  explicit NodeLock(int fd) : fd_(fd) {}
  int fd_;
};

// The pid of the node holding the root's lock (-1 if it holds the lock but
// has not written its pid yet), or nullopt when no node runs there (no lock
// file, or nobody holds it). Does not create anything.
std::optional<pid_t> NodeLockHolder(const std::string& root);

}  // namespace relup
