#include "trial/trial_helper.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

#include "core/term_binary.h"
#include "relup/code_server.h"
#include "trial/trial_frames.h"

namespace relup::trial {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kFlushInterval = std::chrono::milliseconds(50);
constexpr size_t kFlushBytes = 4096;  // about 800 replies

class Helper {
 public:
  Helper(int fd, const std::string& code_dir, Progress* progress)
      : fd_(fd), code_(code_dir), progress_(progress) {}

  int Serve() {
    std::string in;
    size_t used = 0;
    char chunk[256 * 1024];
    for (;;) {
      // Answer every complete request in hand; flush before blocking, every
      // few hundred replies and at least every 50 ms, so that the node,
      // which stops sending while too much is unanswered, never waits for
      // a whole batch (its reads of states and these checks overlap).
      for (;;) {
        uint32_t n = 0;
        std::string_view rest(in.data() + used, in.size() - used);
        if (!PeekFrameLength(rest, &n) || rest.size() - 4 < n) break;
        if (n == 0) return Damaged("an empty frame");
        progress_->started.store(++handled_, std::memory_order_release);
        if (!Handle(rest.substr(4, n))) return 2;
        progress_->finished.store(handled_, std::memory_order_release);
        used += 4 + n;
        bool due = out_.size() >= kFlushBytes || Clock::now() - last_flush_ >= kFlushInterval;
        if (due && !Flush()) return 0;
      }
      if (!Flush()) return 0;
      in.erase(0, used);
      used = 0;
      ssize_t got = ::read(fd_, chunk, sizeof chunk);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return 0;  // the node is done (or gone)
      in.append(chunk, static_cast<size_t>(got));
    }
  }

 private:
  static int Damaged(const std::string& what) {
    std::fprintf(stderr, "relup-trial: the node sent %s: stopping\n", what.c_str());
    return 2;
  }

  bool Handle(std::string_view frame) {
    auto type = static_cast<uint8_t>(frame.front());
    frame.remove_prefix(1);
    if (type == kLoad) return Load(frame);
    if (type == kCheck) return Check(frame);
    Damaged("an unknown request");
    return false;
  }

  bool Load(std::string_view frame) {
    std::string_view path, module;
    if (!detail::GetBytes(&frame, &path) || !detail::GetBytes(&frame, &module)) {
      Damaged("a damaged load request");
      return false;
    }
    Result<ModuleVersionPtr> v = code_.load(std::string(path), module);
    libs_.push_back(v.ok() ? *v : nullptr);
    if (v.ok()) {
      Reply(kOk, Status());
    } else {
      Reply(kFailed, v.status());
    }
    return true;
  }

  bool Check(std::string_view frame) {
    uint64_t to = 0, back = 0;
    if (!detail::GetVarint(&frame, &to) || !detail::GetVarint(&frame, &back) ||
        to >= libs_.size() || back > libs_.size()) {
      Damaged("a check request naming library " + std::to_string(to) + " (and " +
              std::to_string(back) + " - 1 for the way back) when " + std::to_string(libs_.size()) +
              " are loaded");
      return false;
    }
    Term terms[5];  // extra, back_old_vsn, back_extra, old_vsn, state
    for (Term& t : terms) {
      Result<Term> r = detail::DecodeTerm(&frame);
      if (!r.ok()) {
        Damaged("a check request with a damaged term (" + r.status().message() + ")");
        return false;
      }
      t = std::move(*r);
    }
    const ModuleVersionPtr& v = libs_[to];
    if (v == nullptr || v->callbacks().code_change == nullptr) {
      Reply(kFailed, Status::ModuleError("that version did not load, or has no code_change"));
      return true;
    }
    Term upgraded;
    Status s = Call(*v, terms[3], terms[4], terms[0], &upgraded);
    if (!s.ok()) {
      Reply(kFailed, s);
      return true;
    }
    if (back == 0) {
      Reply(kOk, Status());
      return true;
    }
    const ModuleVersionPtr& b = libs_[back - 1];
    Term returned;
    Status bs = b == nullptr || b->callbacks().code_change == nullptr
                    ? Status::NotFound("that version has no code_change")
                    : Call(*b, terms[1], upgraded, terms[2], &returned);
    Reply(bs.ok() ? kOk : kBackFailed, bs);
    return true;
  }

  static Status Call(const ModuleVersion& v, const Term& old_vsn, const Term& state,
                     const Term& extra, Term* out) {
    try {
      return v.callbacks().code_change(old_vsn, state, extra, out);
    } catch (const std::exception& e) {
      return Status::CallbackError(std::string("code_change threw: ") + e.what());
    } catch (...) {
      return Status::CallbackError("code_change threw a non-standard exception");
    }
  }

  void Reply(FrameType type, const Status& s) {
    size_t at = BeginFrame(type, &out_);
    if (type != kOk) {
      out_.push_back(static_cast<char>(s.code()));
      std::string_view msg = s.message();
      detail::PutBytes(msg.substr(0, kMaxMessageBytes), &out_);
    }
    FinishFrame(at, &out_);
  }

  bool Flush() {
    last_flush_ = Clock::now();
    size_t off = 0;
    while (off < out_.size()) {
      ssize_t n = ::send(fd_, out_.data() + off, out_.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    out_.clear();
    return true;
  }

  int fd_;
  CodeServer code_;
  Progress* progress_;
  uint64_t handled_ = 0;
  std::vector<ModuleVersionPtr> libs_;
  std::string out_;
  Clock::time_point last_flush_ = Clock::now();
};

}  // namespace

int RunTrialHelper(const std::string& code_dir) {
  const int fd = kHelperFd;
  // If the node is already gone, the first read sees the end of the stream.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  struct rlimit no_core = {0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::close_range(kProgressFd + 1, ~0U, 0);
  void* page =
      ::mmap(nullptr, sizeof(Progress), PROT_READ | PROT_WRITE, MAP_SHARED, kProgressFd, 0);
  if (page == MAP_FAILED) {
    std::fprintf(stderr, "relup-trial: cannot map the progress page: %s\n", std::strerror(errno));
    return 2;
  }
  ::dup2(2, 1);
  Helper helper(fd, code_dir, static_cast<Progress*>(page));
  return helper.Serve();
}

}  // namespace relup::trial
