// Node::Impl: the sys operations (OTP's sys module and code purging) and
// shutdown. Each takes the target at a message boundary with acquire() and
// lets go with release(), through Owned below.
#include <algorithm>

#include "runtime/node_impl.h"

namespace relup {

using rt::kExited;
using rt::kLocked;
using rt::kOwned;
using rt::kRunning;
using rt::kScheduled;
using rt::kSuspended;
using rt::kSysRequest;
using rt::Process;

namespace {

bool IsSuspended(const Process* p) {
  return (p->ctl.load(std::memory_order_acquire) & kSuspended) != 0;
}

std::string NotSuspended(const Process* p, std::string_view op) {
  return std::string(op) + " needs a suspended process, and " + Node::Impl::label(p) +
         " is running: suspend it first (relup suspend), then " + std::string(op) +
         ", then resume it";
}

ProcessState StateOf(uint32_t ctl) {
  if ((ctl & kExited) != 0) return ProcessState::kExiting;
  if ((ctl & kSuspended) != 0) return ProcessState::kSuspended;
  if ((ctl & kRunning) != 0) return ProcessState::kBusy;
  return ProcessState::kRunnable;
}

ProcessStatus StatusOf(const Process& p) {
  ProcessStatus st;
  st.pid = p.pid;
  st.name = p.registered_name();
  if (p.code) {
    st.module = p.code->name();
    st.vsn = p.code->vsn();
  }
  st.state = StateOf(p.ctl.load(std::memory_order_acquire));
  st.queue_length = p.mailbox.size();
  return st;
}

}  // namespace

// Lets go of a process taken with acquire() when the scope ends.
class OwnedProcess {
 public:
  OwnedProcess(Node::Impl* impl, Process* p) : impl_(impl), p_(p) {}
  ~OwnedProcess() { impl_->release(p_, kLocked); }
  OwnedProcess(const OwnedProcess&) = delete;
  OwnedProcess& operator=(const OwnedProcess&) = delete;

 private:
  Node::Impl* impl_;
  Process* p_;
};

// Takes `p` at a message boundary for the rest of the enclosing scope.
#define RELUP_ACQUIRE_(p, timeout, what)                \
  RELUP_RETURN_IF_ERROR(acquire((p), (timeout), what)); \
  OwnedProcess owned_(this, (p))

Status Node::Impl::suspend(const ProcessRef& target, Millis timeout) {
  RELUP_ASSIGN_OR_RETURN(ProcessHandle h, resolve(target));
  RELUP_ACQUIRE_(h.get(), timeout, "suspend");
  h->ctl.fetch_or(kSuspended, std::memory_order_relaxed);
  return Status();
}

Status Node::Impl::resume(const ProcessRef& target) {
  RELUP_ASSIGN_OR_RETURN(ProcessHandle h, resolve(target));
  if (!IsSuspended(h.get())) return Status();  // as OTP: resuming a running process does nothing
  RELUP_ACQUIRE_(h.get(), kDefaultTimeout, "resume");
  h->ctl.fetch_and(~kSuspended, std::memory_order_relaxed);
  return Status();  // Owned's release schedules it if mail is waiting
}

Result<ModuleVersionPtr> Node::Impl::target_version(std::string_view module,
                                                    std::string_view vsn) const {
  ModuleVersionPtr v = vsn.empty() ? code_server_.current(module) : code_server_.find(module, vsn);
  if (!v) {
    if (vsn.empty()) {
      return Status::NotFound("module '" + std::string(module) + "' is not loaded (relup load it)");
    }
    return Status::NotFound("version " + std::string(vsn) + " of module '" + std::string(module) +
                            "' is not loaded (relup load " + std::string(module) + "-" +
                            std::string(vsn) + ".so)");
  }
  return v;
}

void Node::Impl::swap_code(Process* p, ModuleVersionPtr code) {
  table_.with_shard_lock(p->pid, [&] { p->code.swap(code); });
  // `code` now holds the old version; dropped here, outside any callback.
}

Status Node::Impl::change_code(const ProcessRef& target, std::string_view module,
                               const Term& old_vsn, const Term& extra, std::string_view to_vsn) {
  RELUP_ASSIGN_OR_RETURN(ProcessHandle h, resolve(target));
  Process* p = h.get();
  if (!IsSuspended(p)) return Status::FailedPrecondition(NotSuspended(p, "change_code"));
  RELUP_ASSIGN_OR_RETURN(ModuleVersionPtr to, target_version(module, to_vsn));
  RELUP_ACQUIRE_(p, kDefaultTimeout, "change the code of");
  if (!IsSuspended(p)) return Status::FailedPrecondition(NotSuspended(p, "change_code"));
  if (p->code->name() != module) {
    return Status::InvalidArgument("process " + describe(p) + " runs module '" + p->code->name() +
                                   "', not '" + std::string(module) + "'");
  }
  // Whose code_change runs: the newer version's, as in OTP. Going up that
  // is the version changed to; going down ({down, Vsn}) the version being
  // left, which alone knows both layouts.
  const ModuleVersion& runs = IsDownVsn(old_vsn) ? *p->code : *to;
  auto code_change = runs.callbacks().code_change;
  if (code_change == nullptr) {
    return Status::FailedPrecondition(
        "module " + runs.name() + " " + runs.vsn() +
        " has no code_change callback, so it cannot transform the state of " + describe(p) +
        " to " + to->vsn() + "; use switch_code for a code-only change");
  }
  Term new_state;
  Status s = code_change(old_vsn, p->state, extra, &new_state);
  if (!s.ok()) {
    return Status::CallbackError("code_change of " + runs.name() + " " + runs.vsn() + " on " +
                                 describe(p) + ", taking it to " + to->vsn() + " (old_vsn " +
                                 old_vsn.to_yaml() +
                                 ") failed; the process keeps its old code and state: " +
                                 s.message());
  }
  p->state = std::move(new_state);
  swap_code(p, std::move(to));
  return Status();
}

Status Node::Impl::switch_code(const ProcessRef& target, std::string_view module,
                               std::string_view to_vsn) {
  RELUP_ASSIGN_OR_RETURN(ProcessHandle h, resolve(target));
  Process* p = h.get();
  RELUP_ASSIGN_OR_RETURN(ModuleVersionPtr to, target_version(module, to_vsn));
  RELUP_ACQUIRE_(p, kDefaultTimeout, "switch the code of");
  if (p->code->name() != module) {
    return Status::InvalidArgument("process " + describe(p) + " runs module '" + p->code->name() +
                                   "', not '" + std::string(module) + "'");
  }
  swap_code(p, std::move(to));
  return Status();
}

Result<Term> Node::Impl::get_state(const ProcessRef& target, Millis timeout) {
  RELUP_ASSIGN_OR_RETURN(ProcessHandle h, resolve(target));
  RELUP_ACQUIRE_(h.get(), timeout, "read the state of");
  return h->state;
}

Status Node::Impl::replace_state(const ProcessRef& target,
                                 const std::function<Result<Term>(const Term&)>& fn,
                                 Millis timeout) {
  RELUP_ASSIGN_OR_RETURN(ProcessHandle h, resolve(target));
  RELUP_ACQUIRE_(h.get(), timeout, "replace the state of");
  Result<Term> next = Status::Internal("replace_state function did not run");
  try {
    next = fn(h->state);
  } catch (const std::exception& e) {
    return Status::CallbackError("replace_state function threw: " + std::string(e.what()));
  }
  if (!next.ok()) return next.status();
  h->state = std::move(next).value();
  return Status();
}

Result<ProcessStatus> Node::Impl::get_status(const ProcessRef& target) {
  RELUP_ASSIGN_OR_RETURN(ProcessHandle h, resolve(target));
  ProcessStatus st;
  table_.with_shard_lock(h->pid, [&] { st = StatusOf(*h.get()); });
  return st;
}

Result<ProcessSnapshot> Node::Impl::snapshot(const ProcessRef& target) {
  RELUP_ASSIGN_OR_RETURN(ProcessHandle h, resolve(target));
  if (!IsSuspended(h.get())) return Status::FailedPrecondition(NotSuspended(h.get(), "snapshot"));
  RELUP_ACQUIRE_(h.get(), kDefaultTimeout, "snapshot");
  if (!IsSuspended(h.get())) return Status::FailedPrecondition(NotSuspended(h.get(), "snapshot"));
  return ProcessSnapshot{h->pid, h->code, h->state};
}

Status Node::Impl::restore(const ProcessSnapshot& snapshot) {
  if (!snapshot.code) {
    return Status::InvalidArgument("snapshot of " + snapshot.pid.to_string() + " has no code");
  }
  RELUP_ASSIGN_OR_RETURN(ProcessHandle h, resolve(snapshot.pid));
  if (!IsSuspended(h.get())) return Status::FailedPrecondition(NotSuspended(h.get(), "restore"));
  RELUP_ACQUIRE_(h.get(), kDefaultTimeout, "restore");
  if (!IsSuspended(h.get())) return Status::FailedPrecondition(NotSuspended(h.get(), "restore"));
  h->state = snapshot.state;
  swap_code(h.get(), snapshot.code);
  return Status();
}

std::vector<ProcessStatus> Node::Impl::processes() const {
  std::vector<ProcessStatus> out;
  table_.for_each([&](const Process& p) { out.push_back(StatusOf(p)); });
  std::sort(out.begin(), out.end(),
            [](const ProcessStatus& a, const ProcessStatus& b) { return a.pid < b.pid; });
  return out;
}

std::vector<Pid> Node::Impl::processes_running(std::string_view module,
                                               std::string_view vsn) const {
  std::vector<Pid> out;
  table_.for_each([&](const Process& p) {
    if (p.code && p.code->name() == module && (vsn.empty() || p.code->vsn() == vsn)) {
      out.push_back(p.pid);
    }
  });
  std::sort(out.begin(), out.end());
  return out;
}

// Ends a process without terminate, as OTP's untrappable kill.
Status Node::Impl::kill(Process* p, Millis timeout) {
  RELUP_RETURN_IF_ERROR(acquire(p, timeout, "kill"));
  finalize(p, kLocked, ExitInfo{Term::atom("killed"), "killed", true});
  return Status();
}

Status Node::Impl::exit(const ProcessRef& target, Term reason) {
  RELUP_ASSIGN_OR_RETURN(ProcessHandle h, resolve(target));
  if (reason.is_atom("kill")) return kill(h.get(), kDefaultTimeout);
  RELUP_RETURN_IF_ERROR(acquire(h.get(), kDefaultTimeout, "exit"));
  run_terminate(h.get(), reason);
  finalize(h.get(), kLocked,
           ExitInfo{reason, "exited with reason " + reason.to_yaml(), !IsQuietReason(reason)});
  return Status();
}

Status Node::Impl::purge(std::string_view module, std::string_view vsn, PurgeMode mode) {
  if (!code_server_.find(module, vsn)) {
    return Status::NotFound("version " + std::string(vsn) + " of module '" + std::string(module) +
                            "' is not loaded, so there is nothing to purge");
  }
  std::vector<Pid> running = processes_running(module, vsn);
  if (mode == PurgeMode::kSoft && !running.empty()) {
    std::string who;
    for (Pid pid : running) {
      if (!who.empty()) who += ", ";
      ProcessHandle h = find(pid);
      who += h ? label(h.get()) : pid.to_string();
    }
    return Status::FailedPrecondition(
        "cannot purge " + std::string(module) + " " + std::string(vsn) +
        " softly: it still runs in " + who +
        "; move them to another version first (change_code / switch_code) or purge brutally to "
        "end them");
  }
  for (Pid pid : running) {
    ProcessHandle h = find(pid);
    if (!h) continue;  // already gone
    Status s = kill(h.get(), kDefaultTimeout);
    if (!s.ok() && s.code() != StatusCode::kProcessExited) return s;
  }
  return code_server_.unload(module, vsn);
}

// After the workers stopped: what is still queued is nobody's; let go of it.
void Node::Impl::drop_queued() {
  for (Process* p : scheduler_->drain()) {
    uint32_t s = p->ctl.fetch_and(~(kScheduled | kSysRequest), std::memory_order_seq_cst);
    if ((s & kSysRequest) != 0) hand_over_to_waiters(p);
    unref(p);
  }
}

void Node::Impl::shutdown() {
  if (scheduler_->on_worker_thread()) {
    // It would have to join the very thread it runs on.
    log(LogLevel::kError, "Node::shutdown called from inside a callback: ignored");
    return;
  }
  std::lock_guard<std::mutex> lock(shutdown_mu_);
  if (shut_down_.exchange(true, std::memory_order_acq_rel)) return;
  scheduler_->stop();
  drop_queued();

  std::vector<ProcessHandle> all;
  table_.for_each([&](const Process& p) {
    auto* q = const_cast<Process*>(&p);
    q->refs.fetch_add(1, std::memory_order_relaxed);
    all.emplace_back(this, q);
  });
  // Newest first, as a supervisor stops its children.
  std::sort(all.begin(), all.end(),
            [](const ProcessHandle& a, const ProcessHandle& b) { return b->pid < a->pid; });
  for (ProcessHandle& h : all) {
    Process* p = h.get();
    Status s;
    for (;;) {
      drop_queued();  // a terminate may have sent it a message
      uint32_t c = p->ctl.load(std::memory_order_acquire);
      if ((c & kScheduled) != 0) continue;
      s = acquire(p, kDefaultTimeout, "shut down");
      if (s.ok() || (p->ctl.load(std::memory_order_acquire) & kScheduled) == 0) break;
    }
    if (!s.ok()) {
      if (s.code() != StatusCode::kProcessExited) log(LogLevel::kWarning, s.message());
      continue;
    }
    run_terminate(p, Term::atom("shutdown"));
    finalize(p, kLocked, ExitInfo{Term::atom("shutdown"), "node shut down", false});
  }
  drop_queued();
  // Every process has ended; now the services they used.
  timers_.stop();
  sockets_.stop();
  io_.stop();
}

}  // namespace relup
