#include "trial/trial_session.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <new>
#include <thread>
#include <vector>

#include "core/term_binary.h"
#include "trial/trial_frames.h"

extern char** environ;

namespace relup::trial {

namespace {

constexpr size_t kFlushBytes = 64 * 1024;    // Send writes once this much is queued
constexpr size_t kMaxQueuedBytes = 1 << 20;  // ... and blocks past this
constexpr size_t kMaxInFlight = 8192;        // or past this many unanswered
constexpr auto kExitGrace = std::chrono::seconds(1);

std::string SignalName(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  std::string name =
      abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
  const char* desc = ::sigdescr_np(sig);
  if (desc != nullptr) name += std::string(" (") + desc + ")";
  return name;
}

}  // namespace

std::string DefaultTrialHelper() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto beside = self.parent_path() / "relup-trial";
    if (std::filesystem::exists(beside, ec)) return beside.string();
#ifdef RELUP_TRIAL_HELPER_INSTALLED
    // Installed: PREFIX/bin/relup and PREFIX/libexec/relup/relup-trial.
    auto installed = (self.parent_path() / RELUP_TRIAL_HELPER_INSTALLED).lexically_normal();
    if (std::filesystem::exists(installed, ec)) return installed.string();
#endif
  }
#ifdef RELUP_TRIAL_HELPER_BUILT
  return RELUP_TRIAL_HELPER_BUILT;
#else
  return (self.parent_path() / "relup-trial").string();
#endif
}

std::string LoadFrame(std::string_view path, std::string_view module) {
  std::string out;
  size_t at = BeginFrame(kLoad, &out);
  detail::PutBytes(path, &out);
  detail::PutBytes(module, &out);
  FinishFrame(at, &out);
  return out;
}

std::string CheckPrefix(uint32_t to_lib, int64_t back_lib, const Term& extra,
                        const Term& back_old_vsn, const Term& back_extra) {
  std::string out;
  detail::PutVarint(to_lib, &out);
  detail::PutVarint(back_lib < 0 ? 0 : static_cast<uint64_t>(back_lib) + 1, &out);
  detail::EncodeTerm(extra, &out);
  detail::EncodeTerm(back_old_vsn, &out);
  detail::EncodeTerm(back_extra, &out);
  return out;
}

void AppendCheckFrame(std::string_view prefix, const Term& old_vsn, const Term& state,
                      std::string* out) {
  size_t at = BeginFrame(kCheck, out);
  out->append(prefix);
  detail::EncodeTerm(old_vsn, out);
  detail::EncodeTerm(state, out);
  FinishFrame(at, out);
}

Result<std::unique_ptr<TrialSession>> TrialSession::Start(const std::string& helper,
                                                          const std::string& code_parent,
                                                          OnReply on_reply, Describe describe) {
  auto cannot = [&](const std::string& why) {
    return Status::Unavailable("cannot start the trial helper " + helper +
                               " (which tries new module code before the node loads it): " + why);
  };
  std::string dir = code_parent + "/trial-XXXXXX";
  std::error_code ec;
  std::filesystem::create_directories(code_parent, ec);
  if (::mkdtemp(dir.data()) == nullptr) return cannot(std::string("mkdtemp: ") + strerror(errno));
  auto remove_dir = [&] { std::filesystem::remove_all(dir, ec); };

  // The child's ends are moved above the fds they become in the helper, so
  // that one dup2 cannot overwrite the other's source.
  auto above = [](int fd) {
    if (fd < 0 || fd > kProgressFd) return fd;
    int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, kProgressFd + 1);
    ::close(fd);
    return moved;
  };
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    remove_dir();
    return cannot(std::string("socketpair: ") + strerror(errno));
  }
  sv[1] = above(sv[1]);
  int page_fd = above(::memfd_create("relup-trial-progress", MFD_CLOEXEC));
  void* page = MAP_FAILED;
  if (page_fd >= 0 && ::ftruncate(page_fd, sizeof(Progress)) == 0) {
    page = ::mmap(nullptr, sizeof(Progress), PROT_READ | PROT_WRITE, MAP_SHARED, page_fd, 0);
  }
  if (sv[1] < 0 || page == MAP_FAILED) {
    std::string why = strerror(errno);
    for (int fd : {sv[0], sv[1], page_fd}) {
      if (fd >= 0) ::close(fd);
    }
    remove_dir();
    return cannot("the progress page or the socket: " + why);
  }
  auto* progress = new (page) Progress;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, sv[1], kHelperFd);
  posix_spawn_file_actions_adddup2(&actions, page_fd, kProgressFd);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv = {const_cast<char*>(helper.c_str()), const_cast<char*>("--code-dir"),
                             dir.data(), nullptr};
  pid_t pid = -1;
  int err = ::posix_spawn(&pid, helper.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(sv[1]);
  ::close(page_fd);
  if (err != 0) {
    ::close(sv[0]);
    ::munmap(page, sizeof(Progress));
    remove_dir();
    return cannot(std::string(strerror(err)) +
                  (err == ENOENT ? ": reinstall relup (relup-trial belongs beside relup, or in "
                                   "PREFIX/libexec/relup/ when relup is in PREFIX/bin)"
                                 : ""));
  }
  ::fcntl(sv[0], F_SETFL, ::fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  return std::unique_ptr<TrialSession>(
      new TrialSession(pid, sv[0], progress, dir, std::move(on_reply), std::move(describe)));
}

TrialSession::TrialSession(pid_t pid, int fd, Progress* progress, std::string code_dir,
                           OnReply on_reply, Describe describe)
    : pid_(pid),
      fd_(fd),
      code_dir_(std::move(code_dir)),
      on_reply_(std::move(on_reply)),
      describe_(std::move(describe)),
      progress_(progress) {}

TrialSession::~TrialSession() {
  Stop();
  ::munmap(progress_, sizeof(Progress));
  std::error_code ec;
  std::filesystem::remove_all(code_dir_, ec);
}

void TrialSession::Stop() {
  if (fd_ >= 0) {
    ::shutdown(fd_, SHUT_WR);  // the helper's read sees the end and it returns
  }
  if (!exited_) {
    auto until = Clock::now() + kExitGrace;
    while (!exited_) {
      pid_t r = ::waitpid(pid_, &wait_status_, WNOHANG);
      if (r == pid_ || (r < 0 && errno != EINTR)) {
        exited_ = true;
        break;
      }
      if (Clock::now() >= until) {
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, &wait_status_, 0) < 0 && errno == EINTR) {
        }
        exited_ = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

std::string TrialSession::HowItEnded() {
  if (WIFSIGNALED(wait_status_)) return "killed by " + SignalName(WTERMSIG(wait_status_));
  if (WIFEXITED(wait_status_)) {
    return "it exited with status " + std::to_string(WEXITSTATUS(wait_status_)) +
           " (a call to exit() or _exit())";
  }
  return "it ended";
}

const TrialRequest* TrialSession::Running() {
  uint64_t started = progress_->started.load(std::memory_order_acquire);
  uint64_t finished = progress_->finished.load(std::memory_order_acquire);
  if (started == 0 || finished >= started || started - 1 < answered_) return nullptr;
  uint64_t at = started - 1 - answered_;
  return at < inflight_.size() ? &inflight_[at] : nullptr;
}

Status TrialSession::Fail(Status why) {
  if (const TrialRequest* r = Running()) failed_ = *r;
  dead_ = std::move(why);
  return dead_;
}

Status TrialSession::Send(std::string_view frame, TrialRequest request) {
  if (!dead_.ok()) return dead_;
  if (frame.size() > 4 && static_cast<uint8_t>(frame[4]) == kLoad) ++next_lib_;
  out_.append(frame);
  inflight_.push_back(std::move(request));
  if (out_.size() >= kFlushBytes) RELUP_RETURN_IF_ERROR(Pump(false));
  while (out_.size() > kMaxQueuedBytes || inflight_.size() > kMaxInFlight) {
    RELUP_RETURN_IF_ERROR(Pump(true));
  }
  return Status();
}

Status TrialSession::Drain() {
  if (!dead_.ok()) return dead_;
  while (!inflight_.empty()) RELUP_RETURN_IF_ERROR(Pump(true));
  return Status();
}

Status TrialSession::Pump(bool block) {
  pollfd p{fd_, static_cast<short>(POLLIN | (out_.empty() ? 0 : POLLOUT)), 0};
  int n = ::poll(&p, 1, block ? 50 : 0);
  if (n < 0 && errno != EINTR)
    return Fail(Status::IOError(std::string("poll: ") + strerror(errno)));
  if (n > 0 && (p.revents & POLLOUT)) RELUP_RETURN_IF_ERROR(Write());
  if (n > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) RELUP_RETURN_IF_ERROR(ReadReplies());
  // The request running now, and since when (as far as the node has seen).
  uint64_t started = progress_->started.load(std::memory_order_acquire);
  auto now = Clock::now();
  if (started != running_) {
    running_ = started;
    running_since_ = now;
  }
  const TrialRequest* running = Running();
  if (running != nullptr && now - running_since_ >= running->timeout) {
    std::string what = What(*running);
    Millis timeout = running->timeout;
    Status why =
        Status::Timeout(what + " did not return within " + std::to_string(timeout.count()) +
                        " ms, so the trial process running it was killed");
    (void)Fail(why);  // records the running request before the process goes
    ::kill(pid_, SIGKILL);
    Stop();
    return dead_;
  }
  return Status();
}

Status TrialSession::Write() {
  while (!out_.empty()) {
    ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) return ReadReplies();  // EPIPE: the helper is gone; say how
    out_.erase(0, static_cast<size_t>(n));
  }
  return Status();
}

Status TrialSession::ReadReplies() {
  char buf[64 * 1024];
  bool ended = false;
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    ended = true;  // EOF or ECONNRESET: the helper is gone
    break;
  }
  size_t used = 0;
  auto bad = [&](const std::string& what) {
    ::kill(pid_, SIGKILL);
    Stop();
    std::string during = inflight_.empty() ? "" : " (answering " + What(inflight_.front()) + ")";
    return Fail(Status::ModuleError("the trial process sent " + what + during +
                                    ": module code there may have written over its memory"));
  };
  for (;;) {
    uint32_t len = 0;
    std::string_view rest(in_.data() + used, in_.size() - used);
    if (!PeekFrameLength(rest, &len)) break;
    if (len == 0 || len > kMaxReplyBytes) return bad("a malformed reply");
    if (rest.size() - 4 < len) break;
    std::string_view frame = rest.substr(4, len);
    used += 4 + len;
    if (inflight_.empty()) return bad("a reply to nothing");
    TrialReply reply;
    auto type = static_cast<uint8_t>(frame.front());
    frame.remove_prefix(1);
    if (type == kOk) {
      reply.verdict = TrialVerdict::kOk;
    } else if (type == kFailed || type == kBackFailed) {
      std::string_view msg;
      if (frame.empty()) return bad("a damaged reply");
      auto code = static_cast<uint8_t>(frame.front());
      frame.remove_prefix(1);
      if (!detail::GetBytes(&frame, &msg) || code == 0 ||
          code > static_cast<uint8_t>(StatusCode::kInternal)) {
        return bad("a damaged reply");
      }
      reply.verdict = type == kFailed ? TrialVerdict::kFailed : TrialVerdict::kBackFailed;
      reply.status = Status::FromCode(static_cast<StatusCode>(code), std::string(msg));
    } else {
      return bad("a reply of an unknown type");
    }
    TrialRequest done = std::move(inflight_.front());
    inflight_.pop_front();
    ++answered_;
    if (on_reply_) on_reply_(done, std::move(reply));
  }
  in_.erase(0, used);
  if (!ended) return Status();
  // Gone: wait for it (it may still be dying) and say how it ended, and
  // while running which request (the page says, whatever replies were lost).
  ::shutdown(fd_, SHUT_RDWR);
  Stop();
  std::string how = HowItEnded();
  const TrialRequest* running = Running();
  if (running == nullptr) {
    return Fail(Status::ModuleError("the trial process ended unexpectedly: " + how));
  }
  return Fail(Status::ModuleError(What(*running) + " ended the trial process: " + how));
}

}  // namespace relup::trial
