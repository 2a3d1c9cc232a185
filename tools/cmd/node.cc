// relup node start|stop: the node's lifecycle.
//
// `start` detaches by default: fork, setsid, fork again; the grandchild
// becomes the node (stdio on DIR/node.log, working directory /) and reports
// through a pipe once it serves its socket, or why it could not start. The
// command then pings the node and returns. `--foreground` runs the node in
// this process (for service managers), logging to DIR/node.log and stderr.
//
// `stop` asks the node to stop and waits until the node process is gone
// (every process's terminate has run by then).
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cmd/node_client_util.h"
#include "command.h"
#include "node/control_protocol.h"
#include "node/node_host.h"
#include "node/node_lock.h"
#include "node/node_trust.h"
#include "release/release_store.h"

namespace relup::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int ExitCodeForStartError(const Status& s) {
  switch (s.code()) {
    case StatusCode::kCorruption:
      return kExitVerifyFailed;
    case StatusCode::kInvalidArgument:
      return kExitUsage;
    default:
      return kExitFailure;
  }
}

// The last lines of the node log, indented, for an error message.
std::string LogTail(const std::string& root, size_t lines) {
  std::ifstream in(control::LogPath(root));
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += "    " + all[i] + "\n";
  }
  return out;
}

// The ready pipe carries zero or more "progress TEXT\n" lines while the
// release boots (NodeHostOptions::boot_progress), then the ready message:
// "ok\n", or "<status code name>\n<message>", and EOF.
constexpr std::string_view kProgress = "progress ";

void WriteProgress(int fd, const std::string& text) {
  std::string line = std::string(kProgress) + text + "\n";
  (void)!::write(fd, line.data(), line.size());
}

void WriteReady(int fd, const Status& s) {
  std::string msg = s.ok() ? "ok\n" : std::string(StatusCodeName(s.code())) + "\n" + s.message();
  (void)!::write(fd, msg.data(), msg.size());
  ::close(fd);
}

struct ReadyMessage {
  bool timed_out = false;
  std::string message;  // the ready message (empty: the node exited first)
  std::string last;     // the last progress line's text
};

// Reads the ready pipe until EOF. The node may take as long as it keeps
// making progress: it times out only after `quiet` without a progress line.
ReadyMessage ReadReady(int fd, std::chrono::milliseconds quiet) {
  ReadyMessage r;
  std::string buf;
  auto deadline = Clock::now() + quiet;
  for (;;) {
    // Progress lines at the front of what was read; the rest waits for its
    // newline (or is the ready message).
    for (size_t nl; buf.rfind(kProgress, 0) == 0 && (nl = buf.find('\n')) != std::string::npos;) {
      r.last = buf.substr(kProgress.size(), nl - kProgress.size());
      buf.erase(0, nl + 1);
      deadline = Clock::now() + quiet;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      return r;
    }
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) continue;  // the deadline check above decides
    char chunk[4096];
    ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      r.message = std::move(buf);
      return r;
    }
    buf.append(chunk, static_cast<size_t>(got));
  }
}

// In the grandchild: stdio to the log, every other inherited fd closed
// except `keep`, which becomes fd 3. Returns the new fd of `keep`.
int DetachStdio(const std::string& root, int keep) {
  int null_fd = ::open("/dev/null", O_RDONLY);
  // O_NOFOLLOW: never append to what a planted symlink points at (the node
  // itself then refuses the root, saying why).
  int log_fd =
      ::open(control::LogPath(root).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
  if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
  if (log_fd >= 0) {
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
  }
  if (keep != 3) {
    ::dup2(keep, 3);
  }
  ::fcntl(3, F_SETFD, FD_CLOEXEC);
  if (::syscall(SYS_close_range, 4u, ~0u, 0u) != 0) {
    for (int fd = 4; fd < 1024; ++fd) ::close(fd);
  }
  return 3;
}

struct StartArgs {
  std::string root, release, first_release;
  std::vector<std::string> trust;
  unsigned workers = 0;
  bool foreground = false;
  int64_t timeout_ms = 30000;
  int64_t shutdown_timeout_ms = 20000;
};

// The highest directory of `root` that does not exist yet (root itself if
// only it is missing): what a start that fails removes again. Empty if root
// exists.
std::string FirstMissing(const std::string& root) {
  std::error_code ec;
  fs::path top;
  for (fs::path p = root; !p.empty() && !fs::exists(p, ec) && !ec; p = p.parent_path()) {
    top = p;
    if (p == p.parent_path()) break;
  }
  return top.string();
}

// After a start that failed on a root it made itself: removes the root, and
// the directories above it that this start made, again, so that nothing is
// left behind and a retry starts clean. Only under the root's lock, and only
// when it lists no release (so never a root another start has meanwhile
// brought up); the root is renamed aside before it is deleted, so a
// concurrent start never sees half of it. True if it was removed.
bool RemoveFailedNewRoot(const std::string& root, const std::string& made_top) {
  {
    auto lock = NodeLock::Acquire(root);
    if (!lock.ok()) return false;
    auto releases = ReleaseStore::ReadFile(root);
    if (!releases.ok() || !releases->empty()) return false;
    std::error_code ec;
    std::string aside = root + ".failed-start-" + std::to_string(::getpid());
    fs::rename(root, aside, ec);
    if (ec) return false;
    fs::remove_all(aside, ec);
  }
  // made_top is root or one of its ancestors: up to it, each parent that is
  // empty again was made by this start.
  std::error_code ec;
  for (fs::path p = fs::path(root); p != fs::path(made_top);) {
    p = p.parent_path();
    if (!fs::remove(p, ec) || ec) break;  // not empty (someone else's), or gone
  }
  return true;
}

int StartForeground(const NodeHostOptions& options) {
  Status s = RunNodeHost(options, [&](const Status& ready) {
    if (ready.ok()) {
      std::fprintf(stderr,
                   "relup node running at %s (pid %d); stop it with `relup node stop "
                   "--root %s` or SIGTERM\n",
                   options.root.c_str(), static_cast<int>(::getpid()), options.root.c_str());
    }
  });
  if (!s.ok()) {
    std::fprintf(stderr, "relup node start: %s\n", s.message().c_str());
    return ExitCodeForStartError(s);
  }
  return kExitOk;
}

int Start(const StartArgs& args) {
  auto root = ResolveRoot(args.root);
  if (!root.ok()) return UsageError("node start", root.status());
  const std::string made_top = FirstMissing(*root);
  const bool new_root = !made_top.empty();
  NodeHostOptions options;
  options.root = *root;
  options.workers = args.workers;
  options.shutdown_timeout = std::chrono::milliseconds(args.shutdown_timeout_ms);
  const std::string& release = args.release.empty() ? args.first_release : args.release;
  options.release_if_empty = args.release.empty();
  if (!release.empty()) {
    std::error_code ec;
    options.release = fs::absolute(release, ec).lexically_normal().string();
    // A first release is needed only on an empty root: the node says so then.
    if (!options.release_if_empty && !fs::is_regular_file(options.release, ec)) {
      return UsageError("node start",
                        Status::InvalidArgument("release tarball " + release + " not found"));
    }
  }
  // Read here too, so that a bad --trust is told at once (the node, which
  // works from /, gets absolute paths and reads them again).
  for (const std::string& t : args.trust) {
    std::error_code ec;
    options.trust.push_back(fs::absolute(t, ec).lexically_normal().string());
  }
  auto trusted = LoadNodeTrust(options.trust, options.root);
  if (!trusted.ok()) {
    StatusCode c = trusted.status().code();
    return c == StatusCode::kNotFound || c == StatusCode::kInvalidArgument
               ? UsageError("node start", trusted.status())
               : ReportError("node start", trusted.status());
  }
  if (auto holder = NodeLockHolder(options.root)) {
    return ReportError(
        "node start",
        Status::AlreadyExists("another relup node" +
                              (*holder > 0 ? " (pid " + std::to_string(*holder) + ")" : "") +
                              " is already running at " + options.root +
                              ": stop it first with `relup node stop --root " + options.root +
                              "`, or use another --root"));
  }
  if (args.foreground) {
    options.log_to_stderr = true;
    int rc = StartForeground(options);
    if (rc != kExitOk && new_root && RemoveFailedNewRoot(options.root, made_top)) {
      std::fprintf(stderr, "  (%s was made by this start and is removed again)\n",
                   options.root.c_str());
    }
    return rc;
  }

  std::error_code ec;
  if (!fs::exists(options.root, ec)) {
    fs::create_directories(options.root, ec);
    if (ec) {
      return ReportError("node start",
                         Status::IOError("cannot create " + options.root + ": " + ec.message()));
    }
    // 0700, whatever the umask, as the node makes a root it creates itself.
    fs::permissions(options.root, fs::perms::owner_all, ec);
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return ReportError("node start", Status::IOError(std::string("pipe: ") + std::strerror(errno)));
  }
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t child = ::fork();
  if (child < 0) {
    return ReportError("node start", Status::IOError(std::string("fork: ") + std::strerror(errno)));
  }
  if (child == 0) {
    ::close(pipe_fds[0]);
    ::setsid();
    pid_t grandchild = ::fork();
    if (grandchild != 0) ::_exit(grandchild < 0 ? 1 : 0);
    int ready_fd = DetachStdio(options.root, pipe_fds[1]);
    if (::chdir("/") != 0) {
      // Paths are absolute already; the working directory only matters for
      // not pinning a mount point.
    }
    options.boot_progress = [ready_fd](const std::string& text) { WriteProgress(ready_fd, text); };
    Status s =
        RunNodeHost(options, [ready_fd](const Status& ready) { WriteReady(ready_fd, ready); });
    std::fflush(nullptr);
    ::_exit(s.ok() ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  int wstatus = 0;
  ::waitpid(child, &wstatus, 0);
  ReadyMessage ready = ReadReady(pipe_fds[0], std::chrono::milliseconds(args.timeout_ms));
  ::close(pipe_fds[0]);
  std::string log = control::LogPath(options.root);
  if (ready.timed_out) {
    std::string where = ready.last.empty() ? ""
                                           : " (stuck at " + ready.last +
                                                 ": a process's init that does not "
                                                 "return?)";
    auto holder = NodeLockHolder(options.root);
    std::string still =
        holder && *holder > 0
            ? ". The node (pid " + std::to_string(*holder) +
                  ") is still starting: wait for `relup status`, or end it with `kill -9 " +
                  std::to_string(*holder) + "`"
            : "";
    return ReportError(
        "node start",
        Status::Timeout("the node made no progress for " + std::to_string(args.timeout_ms) +
                        " ms while starting" + where + still + "; see " + log + ":\n" +
                        LogTail(options.root, 10)));
  }
  if (ready.message.rfind("ok\n", 0) != 0) {
    if (ready.message.empty()) {
      std::string tail = LogTail(options.root, 10);
      bool removed = new_root && RemoveFailedNewRoot(options.root, made_top);
      return ReportError("node start",
                         Status::Internal("the node exited while starting; " +
                                          (removed ? "its log, before " + options.root +
                                                         " (made by this start) was removed:\n"
                                                   : "see " + log + ":\n") +
                                          tail));
    }
    size_t nl = ready.message.find('\n');
    std::string code = ready.message.substr(0, nl);
    std::string message = nl == std::string::npos ? "" : ready.message.substr(nl + 1);
    if (new_root && RemoveFailedNewRoot(options.root, made_top)) {
      std::fprintf(stderr,
                   "relup node start: %s\n  (%s was made by this start and is removed "
                   "again)\n",
                   message.c_str(), options.root.c_str());
    } else {
      std::fprintf(stderr, "relup node start: %s\n  (log: %s)\n", message.c_str(), log.c_str());
    }
    StatusCode c = control::StatusCodeFromName(code);
    return c == StatusCode::kCorruption ? kExitVerifyFailed : kExitFailure;
  }
  // Ready: the node serves its socket. Ping it, as every later command will.
  auto client = ControlClient::Connect(options.root);
  if (!client.ok()) return ReportError("node start", client.status());
  (void)(*client)->set_reply_timeout(kReplyTimeout);
  Answer a = Ask("node start", **client, MakeRequest("ping"));
  if (!a) return a.exit;
  auto field = [&](const char* key) {
    const Term* v = a.value.find(key);
    return v ? (v->is_string() ? v->as_string() : v->to_yaml()) : std::string();
  };
  PrintLine("relup node started at " + options.root + " (pid " + field("pid") + "): release " +
            field("release") + " " + field("vsn") + "; log " + log);
  if (!trusted->empty()) {
    PrintLine("release tarballs must be signed by one of: " + DescribeKeys(*trusted));
  }
  return kExitOk;
}

// Waits for a process to exit (pidfd when the kernel has it, else the lock).
bool WaitGone(const std::string& root, pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  int pidfd = pid > 0 ? static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)) : -1;
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) break;
      int n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    ::close(pidfd);
  }
  // Without a pidfd (or to double-check): the lock is free once it is gone.
  while (NodeLockHolder(root).has_value()) {
    if (Clock::now() >= deadline) return false;
    ::usleep(10000);
  }
  return true;
}

int Stop(const std::string& root_arg, int64_t timeout_ms) {
  auto root = ResolveRoot(root_arg);
  if (!root.ok()) return UsageError("node stop", root.status());
  auto holder = NodeLockHolder(*root);
  auto client = ControlClient::Connect(*root);
  if (!client.ok()) {
    if (holder) {
      return ReportError(
          "node stop",
          Status::Unavailable("the node at " + *root + " (pid " + std::to_string(*holder) +
                              ") holds its lock but does not answer on " +
                              control::SocketPath(*root) + "; see " + control::LogPath(*root)));
    }
    return ReportError("node stop", client.status());
  }
  std::error_code ec;
  std::string log = control::LogPath(*root);
  uintmax_t log_before = fs::file_size(log, ec);
  if (ec) log_before = 0;
  (void)(*client)->set_reply_timeout(std::chrono::milliseconds(timeout_ms));
  auto reply = (*client)->request(MakeRequest("stop"));
  // A node that closes the connection while stopping has stopped as asked.
  if (!reply.ok() && reply.status().code() != StatusCode::kUnavailable) {
    return ReportError("node stop", reply.status());
  }
  client->reset();
  pid_t pid = holder.value_or(-1);
  if (!WaitGone(*root, pid, std::chrono::milliseconds(timeout_ms))) {
    return ReportError(
        "node stop",
        Status::Timeout("the node (pid " + std::to_string(pid) + ") has not exited after " +
                        std::to_string(timeout_ms) + " ms; see " + control::LogPath(*root)));
  }
  PrintLine("relup node at " + *root + " stopped" +
            (pid > 0 ? " (pid " + std::to_string(pid) + ")" : ""));
  // The node gives up on a callback that never returns (NodeHostOptions::
  // shutdown_timeout) and says so in its log: a stop that skipped terminate
  // callbacks is not a clean one.
  std::ifstream in(log);
  in.seekg(static_cast<std::streamoff>(log_before));
  for (std::string line; std::getline(in, line);) {
    size_t at = line.find(kShutdownGaveUp);
    if (at != std::string::npos) {
      return ReportError("node stop",
                         Status::Timeout("the node " + line.substr(at) + " (" + log + ")"));
    }
  }
  return kExitOk;
}

CommandRunner Setup(CLI::App& sub) {
  sub.require_subcommand(1);
  auto start_args = std::make_shared<StartArgs>();
  CLI::App* start = sub.add_subcommand("start", "start a node at a root (detached by default)");
  AddRootOption(*start, start_args->root);
  CLI::Option* release =
      start->add_option("--release", start_args->release,
                        "release tarball to install (needed the first time; afterwards the "
                        "permanent release boots)");
  start
      ->add_option("--first-release", start_args->first_release,
                   "release tarball to install if the root holds no permanent release yet; "
                   "otherwise the permanent release boots (for service units, which give it on "
                   "every start)")
      ->excludes(release);
  start->add_option("--trust", start_args->trust,
                    "public key (NAME.pub) or directory of *.pub: refuse every release tarball "
                    "not signed by one of these keys (repeatable; ROOT/trusted_keys/ counts "
                    "too; read again for every tarball, so keep it in place)");
  start->add_flag("--foreground", start_args->foreground,
                  "run in this process (for service managers); log to stderr too");
  start->add_option("--workers", start_args->workers, "scheduler threads (default: one per core)");
  start->add_option("--timeout", start_args->timeout_ms,
                    "milliseconds the node may go without progress while it comes up (each "
                    "module load and process start is progress; default 30000)");
  start
      ->add_option("--shutdown-timeout", start_args->shutdown_timeout_ms,
                   "milliseconds stopping may take before the node gives up on a callback "
                   "that does not return, and exits without it (default 20000)")
      ->check(CLI::Range(int64_t{1}, int64_t{86400000}));

  auto stop_root = std::make_shared<std::string>();
  auto stop_timeout = std::make_shared<int64_t>(30000);
  CLI::App* stop = sub.add_subcommand("stop", "stop the node (every process's terminate runs)");
  AddRootOption(*stop, *stop_root);
  stop->add_option("--timeout", *stop_timeout, "milliseconds to wait for the node to exit");

  return [start, start_args, stop, stop_root, stop_timeout]() -> int {
    if (start->parsed()) return Start(*start_args);
    if (stop->parsed()) return Stop(*stop_root, *stop_timeout);
    return kExitUsage;
  };
}

RELUP_COMMAND("node", "start or stop a node (relup node start|stop --root DIR)", Setup);

}  // namespace
}  // namespace relup::cli
