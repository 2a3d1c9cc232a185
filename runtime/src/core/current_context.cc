// The per-thread "current process context" behind relup::Server::ctx().
// It lives in relup_core so there is one per program, shared by the node and
// every module, whatever the modules' symbol visibility.
#include "relup/server.h"

namespace relup::detail {
namespace {
thread_local ProcessContext* current_context = nullptr;
}  // namespace

ProcessContext* CurrentProcessContext() noexcept {
  return current_context;
}

ProcessContext* ExchangeCurrentProcessContext(ProcessContext* ctx) noexcept {
  ProcessContext* prev = current_context;
  current_context = ctx;
  return prev;
}

}  // namespace relup::detail
