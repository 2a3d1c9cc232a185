// Node::Impl: links, monitors and exit signals with OTP's meaning, and what a
// process's end does to the resources the runtime keeps for it.
//
// An exit signal is queued in the LinkTable and flagged with kSignal in the
// target's ctl word. It is handled by whoever owns the target at a message
// boundary: the sender itself if it can take the target at once (an idle or
// suspended process: exit signals reach suspended processes, as in OTP), the
// worker running it before its next message, or whoever lets go of it next
// (release() looks at kSignal). A signal that ends a process ends it through
// finalize, whose own exit notices go out in turn; they are queued on a
// per-thread work list rather than handled recursively, so a chain of ten
// thousand linked processes does not take ten thousand stack frames.
#include <vector>

#include "runtime/node_impl.h"

namespace relup {

using rt::ExitSignal;
using rt::kExited;
using rt::kLocked;
using rt::kSignal;
using rt::kTrapExit;
using rt::Message;
using rt::Process;

namespace {

// Term::atom keeps a per-thread cache of its own: no need for another here.
Term A(const char* name) {
  return Term::atom(name);
}

// Processes whose signals this thread still has to handle (see above).
thread_local std::vector<ProcessHandle>* t_signal_work = nullptr;

Term DownMessage(uint64_t monitor, Term pid, Term reason) {
  return Term::map({{A("down"), Term::ref(RefKind::kMonitor, monitor)},
                    {A("pid"), std::move(pid)},
                    {A("reason"), std::move(reason)}});
}

std::string Sender(Pid from) {
  return from.valid() ? from.to_string() : std::string("outside the node (relup kill)");
}

}  // namespace

// ---------------------------------------------------------------- Postman

bool Node::Impl::post_info(Pid to, Term message) noexcept {
  try {
    return deliver(to, Message::Kind::kInfo, std::move(message)).ok();
  } catch (...) {
    return false;  // out of memory: the message is lost, the node goes on
  }
}

bool Node::Impl::post_idle_timeout(Pid to, uint64_t timer_id) noexcept {
  try {
    return deliver(to, Message::Kind::kTimeout, Term(), From{0, timer_id}).ok();
  } catch (...) {
    return false;
  }
}

bool Node::Impl::alive(Pid pid) noexcept {
  ProcessHandle h = find(pid);
  return h && (h->ctl.load(std::memory_order_acquire) & kExited) == 0;
}

// ---------------------------------------------------------------- signals

Status Node::Impl::signal(Pid to, Pid from, Term reason) {
  ProcessHandle h = find(to);
  if (!h) {
    return Status::NotFound("no process " + to.to_string() +
                            " on this node (it may have exited); `relup ps` lists the live "
                            "processes");
  }
  // Only exit/2's :kill is untrappable; a link carrying :kill is not.
  bool kill = reason.is_atom("kill");
  post_signal(h.get(), ExitSignal{from, std::move(reason), kill, false});
  return Status();
}

Status Node::Impl::send_exit(const ProcessRef& target, Term reason) {
  if (is_shut_down()) return Status::Unavailable("the node is shut down");
  RELUP_ASSIGN_OR_RETURN(ProcessHandle h, resolve(target));
  return signal(h->pid, Pid{}, std::move(reason));
}

void Node::Impl::FreeNameIfDoomed(Process* p, const Term& reason, bool kill, Pid from) {
  bool trapping = (p->ctl.load(std::memory_order_acquire) & kTrapExit) != 0;
  bool doomed = kill || (!trapping && !(reason.is_atom("normal") && from != p->pid));
  if (doomed && p->name) registry_.remove(*p->name, p->pid);
}

void Node::Impl::post_signal(Process* p, ExitSignal sig) {
  // A signal that will end the process frees its registered name now, as an
  // Erlang process's death frees it at once: one inside a long callback
  // (an upgrade's code_change) takes the signal only at its next boundary,
  // and a supervisor starting its replacement must not find the name taken
  // meanwhile. (Should the callback turn trap_exit on before it returns,
  // the process lives on, reachable by pid only.)
  FreeNameIfDoomed(p, sig.reason, sig.kill, sig.from);
  links_.push_signal(p->pid, std::move(sig));
  kick_signals(p);
}

// Signals are queued for p: flag them and handle them if p can be taken now.
void Node::Impl::kick_signals(Process* p) {
  uint32_t s = p->ctl.fetch_or(kSignal, std::memory_order_seq_cst);
  if ((s & kExited) != 0) {
    // Ended already: its entry would outlive it. (A process that ends after
    // this load empties its entry in on_exit.)
    (void)links_.take_signals(p->pid);
    return;
  }
  try_handle_signals(p);
}

void Node::Impl::try_handle_signals(Process* p) {
  p->refs.fetch_add(1, std::memory_order_relaxed);
  ProcessHandle mine(this, p);
  if (t_signal_work != nullptr) {  // an outer call on this thread will get to it
    t_signal_work->push_back(std::move(mine));
    return;
  }
  std::vector<ProcessHandle> work;
  work.push_back(std::move(mine));
  t_signal_work = &work;
  struct Done {
    ~Done() { t_signal_work = nullptr; }
  } done;
  while (!work.empty()) {
    ProcessHandle h = std::move(work.back());
    work.pop_back();
    Process* q = h.get();
    uint32_t s = q->ctl.load(std::memory_order_seq_cst);
    while ((s & kSignal) != 0 && rt::Takeable(s)) {
      if (q->ctl.compare_exchange_weak(s, s | kLocked, std::memory_order_seq_cst)) {
        bool alive = true;
        try {
          alive = handle_signals(q, kLocked);
        } catch (const std::exception& e) {
          // Out of memory making a message: the signals taken are lost, the
          // process is let go of, and the node goes on.
          log(LogLevel::kError, "exit signals for " + label(q) + " lost: " + e.what());
        }
        if (alive) release(q, kLocked);
        break;
      }
    }
    // Not takeable: its owner handles the signal at its next boundary or
    // when it lets go.
  }
}

bool Node::Impl::handle_signals(Process* p, uint32_t owner) {
  for (;;) {
    p->ctl.fetch_and(~kSignal, std::memory_order_seq_cst);
    std::vector<ExitSignal> signals = links_.take_signals(p->pid);
    if (signals.empty()) return true;
    for (ExitSignal& sig : signals) {
      bool trapping = (p->ctl.load(std::memory_order_relaxed) & kTrapExit) != 0;
      if (sig.kill) {
        finalize(p, owner,
                 ExitInfo{A("killed"), "killed by an exit signal (:kill) from " + Sender(sig.from),
                          true});
        return false;
      }
      if (trapping) {
        Term from = sig.from.valid() ? Term(sig.from) : Term();
        p->mailbox.push(new Message(
            Message::Kind::kInfo,
            Term::map({{A("exit"), std::move(from)}, {A("reason"), std::move(sig.reason)}})));
        continue;
      }
      if (sig.reason.is_atom("normal") && sig.from != p->pid) continue;
      bool quiet = IsQuietReason(sig.reason);
      std::string text =
          "exit signal from " + Sender(sig.from) + " with reason " + sig.reason.to_yaml();
      finalize(p, owner, ExitInfo{sig.reason, std::move(text), !quiet});
      return false;
    }
  }
}

// ---------------------------------------------------------------- a process's end

void Node::Impl::end_resources(Process* p, const Term& reason) {
  timers_.cancel_all(p->pid);
  sockets_.close_all(p->pid);
  rt::ExitNotices notices = links_.on_exit(p->pid, reason);
  // A shutdown ends every process with its own terminate; links and monitors
  // have nobody left to tell.
  if (is_shut_down()) {
    for (Pid peer : notices.linked) (void)links_.take_signals(peer);
    return;
  }
  for (Pid peer : notices.linked) {
    if (ProcessHandle h = find(peer)) {
      FreeNameIfDoomed(h.get(), reason, false, p->pid);
      kick_signals(h.get());
    } else {
      (void)links_.take_signals(peer);  // ended meanwhile
    }
  }
  for (const auto& [id, watcher] : notices.watchers) {
    (void)deliver(watcher, Message::Kind::kInfo, DownMessage(id, Term(p->pid), reason));
  }
}

// ---------------------------------------------------------------- from a process

Result<Spawned> Node::Impl::spawn_from(Process* parent, std::string_view module, Term args,
                                       const SpawnOptions& options) {
  SpawnOptions plain;
  plain.name = options.name;
  Spawned out;
  // The link and the monitor are set while the child is still ours, before
  // init's end lets it run: nothing it does can be missed.
  auto before_release = [&](Process* child) -> Status {
    if (options.link) RELUP_RETURN_IF_ERROR(links_.link(parent->pid, child));
    if (options.monitor) {
      uint64_t id = links_.monitor(parent->pid, child);
      out.monitor = Term::ref(RefKind::kMonitor, id);
    }
    return Status();
  };
  RELUP_ASSIGN_OR_RETURN(out.pid, spawn_impl(module, std::move(args), plain, before_release));
  return out;
}

Result<Term> Node::Impl::monitor(Process* watcher, const ProcessRef& target) {
  Result<ProcessHandle> h = resolve(target);
  if (h.ok()) {
    uint64_t id = links_.monitor(watcher->pid, h->get());
    if (id != 0) return Term::ref(RefKind::kMonitor, id);
  }
  // Gone already (or never there): :noproc at once, with a monitor of its own.
  uint64_t id = links_.fresh_monitor_id();
  Term who = h.ok() ? Term((*h)->pid) : (target.pid() ? Term(*target.pid()) : Term());
  Term message = DownMessage(id, std::move(who), A("noproc"));
  if (const std::string* name = target.name()) message = message.put("name", Term(*name));
  (void)deliver(watcher->pid, Message::Kind::kInfo, std::move(message));
  return Term::ref(RefKind::kMonitor, id);
}

Result<bool> Node::Impl::demonitor(Process* watcher, const Term& ref) {
  if (!ref.is_ref(RefKind::kMonitor)) {
    return Status::InvalidArgument(
        "demonitor needs a monitor ref (!monitor N, as monitor "
        "returned it), not " +
        ref.to_yaml());
  }
  return links_.demonitor(watcher->pid, ref.ref_id());
}

Status Node::Impl::link(Process* self, Pid other) {
  ProcessHandle h = find(other);
  if (!h) {
    return Status::NotFound("cannot link to " + other.to_string() +
                            ": noproc (no such process; it may have ended)");
  }
  return links_.link(self->pid, h.get());
}

void Node::Impl::unlink(Process* self, Pid other) {
  links_.unlink(self->pid, other);
}

// ---------------------------------------------------------------- for people

Result<Term> Node::Impl::resources(const ProcessRef& target) {
  RELUP_ASSIGN_OR_RETURN(ProcessHandle h, resolve(target));
  rt::LinkTable::View v = links_.view(h->pid);
  std::vector<Term> links, monitors, monitored_by, sockets;
  for (Pid l : v.links) links.emplace_back(l);
  for (const auto& [id, t] : v.monitors) {
    monitors.push_back(
        Term::map({{A("monitor"), Term::ref(RefKind::kMonitor, id)}, {A("pid"), Term(t)}}));
  }
  for (const auto& [id, w] : v.monitored_by) monitored_by.emplace_back(w);
  std::vector<TermPair> out;
  out.emplace_back(A("links"), Term::list(std::move(links)));
  out.emplace_back(A("monitors"), Term::list(std::move(monitors)));
  out.emplace_back(A("monitored_by"), Term::list(std::move(monitored_by)));
  out.emplace_back(A("timers"), Term(static_cast<long long>(timers_.pending(h->pid))));
  out.emplace_back(A("sockets"), Term::list(sockets_.owned_by(h->pid)));
  out.emplace_back(A("trap_exit"), Term((h->ctl.load(std::memory_order_acquire) & kTrapExit) != 0));
  return Term::map(std::move(out));
}

Term Node::Impl::io_stats() const {
  return Term::map({{A("timers"), Term(static_cast<long long>(timers_.pending()))},
                    {A("sockets"), Term(static_cast<long long>(sockets_.open_count()))},
                    {A("link_entries"), Term(static_cast<long long>(links_.entries()))}});
}

}  // namespace relup
