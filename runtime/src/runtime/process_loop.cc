// What a scheduler worker does with a process it owns: handle a bounded batch
// of messages, one callback each, then let go (or requeue if mail remains).
#include <memory>

#include "runtime/node_impl.h"
#include "runtime/process_context.h"

namespace relup {

using rt::kIdleTimer;
using rt::kRunning;
using rt::kScheduled;
using rt::kSignal;
using rt::kSuspended;
using rt::kSysRequest;
using rt::Message;
using rt::Process;

namespace {

// Messages a process handles before it yields its worker to others.
constexpr int kBatch = 64;

}  // namespace

void Node::Impl::RunThunk(void* self, Process* p) {
  static_cast<Impl*>(self)->run(p);
}

void Node::Impl::run(Process* p) {
  if (!begin_run(p)) {
    unref(p);
    return;
  }
  for (int n = 0;; ++n) {
    uint32_t c = p->ctl.load(std::memory_order_acquire);
    // Exit signals come before the next message (they may end the process).
    if ((c & kSignal) != 0) {
      if (!handle_signals(p, kScheduled)) {
        unref(p);
        return;
      }
      c = p->ctl.load(std::memory_order_acquire);
    }
    // A sys operation is waiting: stop at this boundary and let it in.
    if ((c & (kSysRequest | kSuspended)) != 0) break;
    if (n == kBatch) {
      if (p->mailbox.has_ready() || p->mailbox.inbox_nonempty()) {
        // Back in a queue it keeps kScheduled and its reference; no longer
        // running, a sys operation may take it there.
        p->ctl.fetch_and(~kRunning, std::memory_order_seq_cst);
        scheduler_->requeue(p);
        return;
      }
      break;
    }
    Message* m = p->mailbox.pop();
    if (m == nullptr) break;
    if (!dispatch(p, m)) {  // the process ended; finalize let go of it
      unref(p);
      return;
    }
  }
  release(p, kScheduled);
  unref(p);
}

// Returns false if the process ended.
bool Node::Impl::dispatch(Process* p, Message* raw) {
  std::unique_ptr<Message> m(raw);
  // gen_server timeouts: any message cancels the armed one; a timeout that
  // was overtaken by another message (or re-armed since) is dropped.
  bool idle_armed = (p->ctl.load(std::memory_order_relaxed) & kIdleTimer) != 0;
  if (m->kind == Message::Kind::kTimeout) {
    if (!idle_armed || !timers_.take_idle(p->pid, m->from.tag)) return true;
    p->ctl.fetch_and(~kIdleTimer, std::memory_order_relaxed);
    m->kind = Message::Kind::kInfo;
    static const Term kTimeoutAtom = Term::atom("timeout");
    m->payload = kTimeoutAtom;
  } else if (idle_armed) {
    timers_.cancel_idle(p->pid);
    p->ctl.fetch_and(~kIdleTimer, std::memory_order_relaxed);
  }
  const ModuleCallbacks& cb = p->code->callbacks();
  rt::Context ctx(this, p);
  if (m->kind == Message::Kind::kCall) {
    CallOutcome out;
    Status s = cb.handle_call(ctx, m->payload, m->from, &p->state, &out);
    if (!s.ok()) {
      crash(p, "handle_call", s, &m->from);
      return false;
    }
    if (out.timeout_ms >= 0 && out.kind != CallOutcome::Kind::kStop) arm_idle(p, out.timeout_ms);
    switch (out.kind) {
      case CallOutcome::Kind::kReply:
        reply(m->from, std::move(out.reply));
        return true;
      case CallOutcome::Kind::kNoReply:
        return true;
      case CallOutcome::Kind::kStop:
        if (out.has_reply) reply(m->from, std::move(out.reply));
        stop(p, out.reason, out.has_reply ? nullptr : &m->from);
        return false;
    }
    return true;
  }
  bool cast = m->kind == Message::Kind::kCast;
  MessageOutcome out;
  Status s = cast ? cb.handle_cast(ctx, m->payload, &p->state, &out)
                  : cb.handle_info(ctx, m->payload, &p->state, &out);
  if (!s.ok()) {
    crash(p, cast ? "handle_cast" : "handle_info", s, nullptr);
    return false;
  }
  if (out.kind == MessageOutcome::Kind::kStop) {
    stop(p, out.reason, nullptr);
    return false;
  }
  if (out.timeout_ms >= 0) arm_idle(p, out.timeout_ms);
  return true;
}

void Node::Impl::arm_idle(Process* p, int64_t ms) {
  timers_.start_idle(p->pid, ms);
  p->ctl.fetch_or(kIdleTimer, std::memory_order_relaxed);
}

// A callback failed: the process ends without terminate. node.h runs
// terminate only for stop outcomes, exit and shutdown (OTP's gen_server also
// calls it after a crash; here a crash is reported, not cleaned up after).
// It must stay so: callbacks change the state in place (server.h), so after
// a failed one the state may be half-changed, and nobody may see it.
void Node::Impl::crash(Process* p, std::string_view callback, const Status& error,
                       const From* caller) {
  std::string text = error.message();
  if (text.compare(0, callback.size(), callback) != 0) text = std::string(callback) + ": " + text;
  Status for_caller =
      Status::CallbackError("process " + describe(p) + " failed while handling this call: " + text);
  // The reason links and monitors see: !tuple [:error, "handle_call threw: ..."].
  Term reason = Term::tuple({Term::atom("error"), Term(text)});
  finalize(p, kScheduled, ExitInfo{std::move(reason), text, true}, caller, for_caller);
}

void Node::Impl::stop(Process* p, const Term& reason, const From* unanswered) {
  run_terminate(p, reason);
  std::string text = "stopped with reason " + reason.to_yaml();
  Status for_caller = Status::ProcessExited("process " + describe(p) + " " + text +
                                            " without replying to this call");
  finalize(p, kScheduled, ExitInfo{reason, text, !IsQuietReason(reason)}, unanswered, for_caller);
}

}  // namespace relup
