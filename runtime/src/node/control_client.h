// ControlClient: the CLI's end of a node's control socket.
//
// Connect() fails with kUnavailable and a message that says how to start a
// node when nothing listens at DIR/node.sock (no file, or a stale file left
// by a node that was killed). One client is one connection; requests on it
// are sequential. Not thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "relup/status.h"
#include "relup/term.h"

namespace relup {

class ControlClient {
 public:
  using ProgressFn = std::function<void(const Term& info)>;

  static Result<std::unique_ptr<ControlClient>> Connect(const std::string& root);
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  // Sends `request` and returns the final reply frame as it is ({ok: ...} or
  // {error: ..., code: ..., ...}); progress frames before it go to
  // on_progress. A non-ok Status only for transport failures.
  Result<Term> exchange(const Term& request, const ProgressFn& on_progress = {});

  // exchange() reduced to the ok value or the error reply's Status.
  Result<Term> request(const Term& request, const ProgressFn& on_progress = {});

  // How long exchange() waits for the next frame (a progress frame counts)
  // before it gives up with Timeout: a node that is stopped (SIGSTOP), hung
  // or swapping must not hang its client. Zero (the default): no limit.
  Status set_reply_timeout(std::chrono::milliseconds idle);

  const std::string& root() const { return root_; }

 private:
  ControlClient(std::string root, int fd) : root_(std::move(root)), fd_(fd) {}
  std::string root_;
  int fd_;
  std::chrono::milliseconds reply_timeout_{0};
};

// "no relup node is running at DIR (...)": the message every command prints.
std::string NoNodeMessage(const std::string& root, const std::string& why);

// Builds a request map {cmd: CMD, key: value...}.
Term MakeRequest(std::string_view cmd, std::initializer_list<TermPair> fields = {});

}  // namespace relup
