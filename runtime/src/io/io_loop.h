// IoLoop: the node's one event-loop thread (Asio's io_context, epoll on
// Linux). Timers and sockets wait here, so that no scheduler worker ever
// blocks on I/O: a worker starts an operation and returns; its completion
// runs on this thread and ends as a message in the owning process's mailbox.
//
// Thread-safety: context() may be used from any thread to start operations
// (Asio's io_context is thread-safe); completion handlers run only on the
// loop thread. stop() joins the thread; handlers still queued are destroyed
// without running, so they must own (shared_ptr) what they touch.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <atomic>
#include <thread>

namespace relup::rt {

class IoLoop {
 public:
  IoLoop();  // starts the thread
  ~IoLoop();
  IoLoop(const IoLoop&) = delete;
  IoLoop& operator=(const IoLoop&) = delete;

  asio::io_context& context() { return io_; }
  // Stops the loop and joins its thread. Idempotent.
  void stop();
  bool on_loop_thread() const noexcept;

 private:
  asio::io_context io_{1};  // one thread runs it: Asio can skip its locking hints
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
};

}  // namespace relup::rt
