// TrialSession: the node's side of the trial helper (trial_helper.h). The
// upgrade executor starts one per upgrade, asks it to load the new libraries
// and to try each affected process's code_change on a copy of its state,
// and only then loads the code itself. A module that segfaults, aborts,
// exits or loops in the helper fails the request it was answering, by name,
// and the node is untouched.
//
// Requests are pipelined: Send queues a frame and returns at once (it
// writes in batches, and blocks only while a lot is unanswered); replies
// arrive in request order and go to the on_reply callback, from inside
// Send or Drain. Each request has a timeout, counted from when the node
// first sees the helper working on it (the shared progress page, see
// trial_frames.h); past it the helper is killed. The node looks at least
// every 50 ms while it waits, and whenever it sends.
//
// Once the helper is gone (crashed, exited, timed out, or sent a reply the
// node cannot read), every call returns the Status that says which request
// it was working on and how it ended. The destructor ends the helper (EOF,
// then SIGKILL after 1 s) and removes its scratch code directory.
//
// Not thread-safe: one thread drives a session.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "relup/node.h"
#include "relup/status.h"
#include "relup/term.h"

namespace relup::trial {

struct Progress;

struct TrialRequest {
  // "loading counter 2", for the error when the helper dies on it. Empty:
  // the session's describe callback says it, only when needed (so a
  // request per process costs no string).
  std::string what;
  Millis timeout = kDefaultTimeout;
  uint64_t tag = 0;  // the caller's
};

enum class TrialVerdict { kOk, kFailed, kBackFailed };

struct TrialReply {
  TrialVerdict verdict = TrialVerdict::kOk;
  Status status;  // why, for kFailed and kBackFailed (the helper's Status)
};

// Where the node looks for relup-trial: next to the running executable,
// then in the build tree it was built in.
std::string DefaultTrialHelper();

// Frames (trial_frames.h). The check's constant part (per code_change step)
// is built once; CheckFrame adds one process's old_vsn and state.
std::string LoadFrame(std::string_view path, std::string_view module);
std::string CheckPrefix(uint32_t to_lib, int64_t back_lib, const Term& extra,
                        const Term& back_old_vsn, const Term& back_extra);
void AppendCheckFrame(std::string_view prefix, const Term& old_vsn, const Term& state,
                      std::string* out);

class TrialSession {
 public:
  using OnReply = std::function<void(const TrialRequest&, TrialReply)>;
  using Describe = std::function<std::string(uint64_t tag)>;

  // Starts `helper` with a fresh scratch code directory under code_parent.
  static Result<std::unique_ptr<TrialSession>> Start(const std::string& helper,
                                                     const std::string& code_parent,
                                                     OnReply on_reply, Describe describe);
  ~TrialSession();
  TrialSession(const TrialSession&) = delete;
  TrialSession& operator=(const TrialSession&) = delete;

  // Queues one frame (LoadFrame / AppendCheckFrame) answering `request`.
  Status Send(std::string_view frame, TrialRequest request);
  // Waits for the replies to everything sent.
  Status Drain();
  // Libraries are numbered in the order their load frames were sent.
  uint32_t next_lib_id() const { return next_lib_; }
  // Once the helper is gone: the request it was working on, if any.
  const TrialRequest* failed_request() const { return failed_ ? &*failed_ : nullptr; }

 private:
  using Clock = std::chrono::steady_clock;
  TrialSession(pid_t pid, int fd, Progress* progress, std::string code_dir, OnReply on_reply,
               Describe describe);
  std::string What(const TrialRequest& r) const {
    return r.what.empty() && describe_ ? describe_(r.tag) : r.what;
  }
  Status Pump(bool block);
  Status Write();
  Status ReadReplies();
  Status Fail(Status why);
  // The request the helper is running now (per the progress page), or null.
  const TrialRequest* Running();
  std::string HowItEnded();
  void Stop();

  pid_t pid_;
  int fd_;
  std::string code_dir_;
  OnReply on_reply_;
  Describe describe_;
  std::string out_;                    // not yet written
  std::string in_;                     // read, not yet a whole reply
  Progress* progress_;                 // shared with the helper
  std::deque<TrialRequest> inflight_;  // sent, not answered: numbers answered_...
  uint64_t answered_ = 0;
  uint64_t running_ = 0;  // progress_->started when last looked at
  Clock::time_point running_since_{};
  uint32_t next_lib_ = 0;
  Status dead_;
  std::optional<TrialRequest> failed_;
  bool exited_ = false;
  int wait_status_ = 0;
};

}  // namespace relup::trial
