#include "io/io_loop.h"

#include <cstdio>
#include <exception>

namespace relup::rt {

IoLoop::IoLoop() : work_(asio::make_work_guard(io_)) {
  thread_ = std::thread([this] {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        // A handler threw: that is a relup bug, but the loop must go on
        // serving every other socket and timer.
        std::fprintf(stderr, "relup: error: I/O handler threw: %s\n", e.what());
      }
    }
  });
}

IoLoop::~IoLoop() {
  stop();
}

void IoLoop::stop() {
  if (stopped_.exchange(true)) return;
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

bool IoLoop::on_loop_thread() const noexcept {
  return std::this_thread::get_id() == thread_.get_id();
}

}  // namespace relup::rt
