#include "node/node_host.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "node/control_protocol.h"
#include "node/control_server.h"
#include "node/node_lock.h"
#include "node/node_service.h"
#include "node/node_trust.h"
#include "node/release_handler.h"
#include "node/root_check.h"
#include "release/release_store.h"
#include "relup/node.h"
#include "relup/release.h"

namespace relup {
namespace fs = std::filesystem;

namespace {

// Writes timestamped lines to the log file (and stderr). Thread-safe.
class NodeLog {
 public:
  NodeLog(int fd, bool to_stderr) : fd_(fd), to_stderr_(to_stderr) {}
  ~NodeLog() {
    if (fd_ >= 0) ::close(fd_);
  }

  void write(LogLevel level, std::string_view text) {
    std::timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    std::tm tm{};
    ::gmtime_r(&ts.tv_sec, &tm);
    char stamp[40];
    size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", ts.tv_nsec / 1000000);
    std::string line = std::string(stamp) + " " + LevelName(level) + " " + std::string(text) + "\n";
    std::lock_guard lock(mu_);
    if (fd_ >= 0) (void)!::write(fd_, line.data(), line.size());
    if (to_stderr_) (void)!::write(STDERR_FILENO, line.data(), line.size());
  }

  void info(std::string_view text) { write(LogLevel::kInfo, text); }
  void error(std::string_view text) { write(LogLevel::kError, text); }

 private:
  static const char* LevelName(LogLevel level) {
    switch (level) {
      case LogLevel::kDebug:
        return "debug";
      case LogLevel::kInfo:
        return "info";
      case LogLevel::kWarning:
        return "warning";
      case LogLevel::kError:
        return "error";
    }
    return "?";
  }

  std::mutex mu_;
  int fd_;
  bool to_stderr_;
};

// Blocks the stop signals in this thread (and so in every thread it creates)
// and returns a signalfd that reports them.
Result<int> StopSignalFd() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    return Status::Internal("cannot block the stop signals");
  }
  ::signal(SIGPIPE, SIG_IGN);
  int fd = ::signalfd(-1, &set, SFD_CLOEXEC);
  if (fd < 0) return Status::IOError(std::string("signalfd: ") + std::strerror(errno));
  return fd;
}

// Follows a boot, so that a long one can be told from a stuck one. Boot
// reports each step (a counter and its text, under a lock: cheap next to
// starting a process). A thread passes the latest step to `out` every
// 250 ms when it changed, and writes it to the log every 5 s of a long boot.
class BootWatch {
 public:
  BootWatch(std::function<void(const std::string&)> out, NodeLog& log)
      : out_(std::move(out)), log_(log), thread_([this] { run(); }) {}
  ~BootWatch() { stop(); }
  BootWatch(const BootWatch&) = delete;
  BootWatch& operator=(const BootWatch&) = delete;

  ReleaseHandler::BootProgress progress() {
    return [this](size_t done, size_t total, const std::function<std::string()>& next) {
      std::string text = next();
      std::lock_guard lock(mu_);
      done_ = done;
      total_ = total;
      next_ = std::move(text);
      ++seq_;
    };
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now();
    auto logged = started;
    uint64_t sent = 0;
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stopped_; })) {
      if (seq_ == 0) continue;
      std::string line =
          "step " + std::to_string(done_ + 1) + " of " + std::to_string(total_) + ": " + next_;
      bool changed = seq_ != sent;
      sent = seq_;
      lock.unlock();
      if (changed && out_) out_(line);
      if (Clock::now() - logged >= std::chrono::seconds(5)) {
        logged = Clock::now();
        auto secs = std::chrono::duration_cast<std::chrono::seconds>(logged - started).count();
        log_.info("booting for " + std::to_string(secs) + " s, at " + line);
      }
      lock.lock();
    }
  }

  std::function<void(const std::string&)> out_;
  NodeLog& log_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  size_t done_ = 0, total_ = 0;
  std::string next_;
  uint64_t seq_ = 0;
  std::thread thread_;  // last: starts once the members above exist
};

// Steps 2 of the contract: install and/or boot a release.
Status BootRelease(const NodeHostOptions& options, ReleaseStore& store, ReleaseHandler& handler,
                   NodeLog& log) {
  BootWatch watch(options.boot_progress, log);
  bool install = !options.release.empty();
  // "Empty" means no permanent release: a first boot that failed after the
  // unpack leaves a release in the store, and must not block the next try.
  if (install && options.release_if_empty && store.permanent()) {
    log.info("the root holds a permanent release already: the first release " + options.release +
             " is not used");
    install = false;
  }
  if (install) {
    auto permanent = store.permanent();
    // Refused before anything is written: another release than the
    // permanent one is installed by apply, not by a start.
    auto only_the_permanent = [&](const Release& r) -> Status {
      if (!permanent || permanent->vsn == r.vsn) return Status::Ok();
      return Status::FailedPrecondition(
          options.root + " already holds permanent release " + permanent->name + " " +
          permanent->vsn +
          ": start it without --release to boot that one, then upgrade with "
          "`relup apply " +
          options.release + " --root " + options.root + "`" +
          (store.find(r.vsn) ? ", or go back with `relup downgrade " + r.vsn + " --root " +
                                   options.root + "` if " + r.vsn + " is older"
                             : std::string()));
    };
    auto vsn = handler.Unpack(options.release, only_the_permanent);
    if (!vsn.ok()) return vsn.status();
    if (!permanent) {
      log.info("installing release " + *vsn + " from " + options.release);
      RELUP_RETURN_IF_ERROR(handler.Boot(*vsn, watch.progress()));
      return handler.MakePermanent(*vsn);
    }
  }
  if (store.empty()) {
    return Status::FailedPrecondition("no release is installed at " + options.root +
                                      ": start the node with --release TARBALL (a service: "
                                      "--first-release TARBALL, for relup@NAME in "
                                      "RELUP_NODE_OPTIONS of /etc/relup/NAME.env)");
  }
  RELUP_RETURN_IF_ERROR(store.revert_to_permanent());
  auto permanent = store.permanent();
  if (!permanent) return Status::Internal("the store has no permanent release after revert");
  log.info("booting permanent release " + permanent->name + " " + permanent->vsn);
  return handler.Boot(permanent->vsn, watch.progress());
}

// Calls on_timeout() and ends the process with status 1 unless disarm()ed
// within `timeout`.
class StopWatchdog {
 public:
  StopWatchdog(std::chrono::milliseconds timeout, std::function<void()> on_timeout)
      : thread_([this, timeout, on_timeout = std::move(on_timeout)] {
          std::unique_lock<std::mutex> lock(mu_);
          if (cv_.wait_for(lock, timeout, [this] { return disarmed_; })) return;
          on_timeout();
          ::_exit(1);
        }) {}
  ~StopWatchdog() { disarm(); }
  StopWatchdog(const StopWatchdog&) = delete;
  StopWatchdog& operator=(const StopWatchdog&) = delete;

  void disarm() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      disarmed_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool disarmed_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

// Steps 1-5 of RunNodeHost. Calls ready(Ok) once the node serves; a start
// failure is only returned, so that the caller reports it after this frame
// (the lock, the log, the node) is gone.
Status StartAndServe(const NodeHostOptions& in, const std::function<void(const Status&)>& ready) {
  NodeHostOptions options = in;

  // What the node creates (releases/, lib/, its store) must not come out
  // writable by others, whatever umask it was started with: the next start
  // would refuse the root (root_check.h).
  ::umask(::umask(0) | 022);
  std::error_code ec;
  if (!fs::exists(options.root, ec)) {
    fs::create_directories(options.root, ec);
    if (ec) return Status::IOError("cannot create root " + options.root + ": " + ec.message());
    fs::permissions(options.root, fs::perms::owner_all, ec);  // 0700, whatever the umask
  }
  RELUP_RETURN_IF_ERROR(CheckRootPermissions(options.root));
  options.root = fs::canonical(options.root, ec).string();
  if (ec) return Status::IOError("cannot resolve root " + in.root + ": " + ec.message());

  auto lock = NodeLock::Acquire(options.root);
  if (!lock.ok()) return lock.status();

  std::string log_path = control::LogPath(options.root);
  // O_NOFOLLOW: a node.log planted as a symlink must not make the node append
  // to a file of somebody else's choosing.
  int log_fd =
      ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (log_fd < 0) {
    if (errno == ELOOP) {
      return Status::FailedPrecondition("refusing " + log_path +
                                        ": it is a symlink; fix: remove it (rm " + log_path +
                                        ") and let the node create it");
    }
    return Status::IOError("cannot open " + log_path + ": " + std::strerror(errno));
  }
  NodeLog log(log_fd, options.log_to_stderr);
  log.info("relup node starting at " + options.root + " (pid " + std::to_string(::getpid()) + ")");

  auto sig_fd = StopSignalFd();
  if (!sig_fd.ok()) return sig_fd.status();
  int stop_fd = ::eventfd(0, EFD_CLOEXEC);
  if (stop_fd < 0) {
    ::close(*sig_fd);
    return Status::IOError(std::string("eventfd: ") + std::strerror(errno));
  }
  struct Fds {
    int a, b;
    ~Fds() {
      ::close(a);
      ::close(b);
    }
  } fds{*sig_fd, stop_fd};

  auto trusted = LoadNodeTrust(options.trust, options.root);
  if (!trusted.ok()) {
    log.error("cannot start: " + trusted.status().ToString());
    return trusted.status();
  }
  if (trusted->empty()) {
    log.info("no trusted keys: unsigned release tarballs are accepted");
  } else {
    log.info("release tarballs must be signed by one of: " + DescribeKeys(*trusted));
  }

  auto store = ReleaseStore::Open(options.root);
  if (!store.ok()) {
    log.error(store.status().ToString());
    return store.status();
  }

  std::string code_dir = options.root + "/code";
  fs::remove_all(code_dir, ec);
  Node::Options node_options;
  node_options.workers = options.workers;
  node_options.code_dir = code_dir;
  node_options.log = [&log](LogLevel level, std::string_view line) { log.write(level, line); };
  Node node(node_options);
  ReleaseHandler handler(node, **store, options.root);
  handler.set_trust(options.trust, !trusted->empty());

  if (Status s = BootRelease(options, **store, handler, log); !s.ok()) {
    log.error("cannot start: " + s.ToString());
    node.shutdown();
    return s;
  }

  NodeService service(
      node, **store, handler,
      [stop_fd] {
        uint64_t one = 1;
        (void)!::write(stop_fd, &one, sizeof one);
      },
      [&log](LogLevel level, std::string_view line) { log.write(level, line); });
  auto server = ControlServer::Listen(
      control::SocketPath(options.root),
      [&service](const Term& request, const ControlServer::ProgressFn& progress) {
        return service.handle(request, progress);
      },
      ControlServer::Limits{},
      [&log](const std::string& line) { log.write(LogLevel::kWarning, line); });
  if (!server.ok()) {
    log.error("cannot serve the control socket: " + server.status().ToString());
    node.shutdown();
    return server.status();
  }
  auto running = (*store)->running();
  log.info("node running release " + (running ? running->name + " " + running->vsn : "?") +
           " with " + std::to_string(node.processes().size()) + " processes; control socket " +
           control::SocketPath(options.root));
  ready(Status::Ok());

  // The root supervisor ending (it gave up: more restarts than its
  // intensity allows) ends the node with an error, as OTP's does when a
  // permanent application's top supervisor dies: a service manager restarts
  // it on the permanent release.
  Result<Pid> root_sup = node.whereis(kRootSupervisorName);
  Status outcome = Status::Ok();
  for (;;) {
    pollfd pfds[2] = {{fds.a, POLLIN, 0}, {fds.b, POLLIN, 0}};
    int n = ::poll(pfds, 2, root_sup.ok() ? 100 : -1);
    if (n == 0) {
      Result<ProcessStatus> alive = node.get_status(*root_sup);
      if (!alive.ok() && (alive.status().code() == StatusCode::kProcessExited ||
                          alive.status().code() == StatusCode::kNotFound)) {
        outcome = Status::Unavailable(std::string("the root supervisor ") + kRootSupervisorName +
                                      " ended (node.log says why: a child restarted more often "
                                      "than the root's intensity allows?): the node stops");
        log.error(outcome.message());
        break;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      log.error(std::string("poll failed: ") + std::strerror(errno) + "; stopping");
      break;
    }
    if (pfds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      (void)!::read(fds.a, &info, sizeof info);
      log.info("signal " + std::to_string(info.ssi_signo) + " received: stopping");
      break;
    }
    if (pfds[1].revents & POLLIN) {
      log.info("stop requested: stopping");
      break;
    }
  }
  // A callback that never returns would keep node.shutdown() joining its
  // worker forever, and `relup node stop` would wait in vain: past the
  // timeout, say so and leave without it (OTP's supervisors kill a child
  // that overruns its shutdown time).
  StopWatchdog watchdog(options.shutdown_timeout, [&log, &options] {
    log.error(std::string(kShutdownGaveUp) + " within " +
              std::to_string(options.shutdown_timeout.count()) +
              " ms: a callback did not return (a process is stuck in handle_call, handle_cast, "
              "handle_info or terminate); exiting without waiting for it, so the processes not "
              "yet stopped did not run terminate");
  });
  (*server)->stop();
  node.shutdown();
  watchdog.disarm();
  log.info(outcome.ok() ? "node stopped" : "node stopped: " + outcome.message());
  return outcome;
}

}  // namespace

Status RunNodeHost(const NodeHostOptions& options,
                   const std::function<void(const Status&)>& ready) {
  bool served = false;
  Status s = StartAndServe(options, [&](const Status& r) {
    served = true;
    ready(r);
  });
  // Reported only now, with the lock released: whoever reads the error may
  // start a node on this root at once.
  if (!served) ready(s);
  return s;
}

}  // namespace relup
