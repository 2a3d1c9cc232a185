// Node::Impl: the ownership protocol, message delivery, replies, and how a
// process ends.
#include "runtime/node_impl.h"

#include <cstdio>
#include <vector>

#include "runtime/cpu_relax.h"
#include "runtime/process_context.h"

namespace relup {

using rt::kExited;
using rt::kLocked;
using rt::kOwned;
using rt::kRunning;
using rt::kScheduled;
using rt::kSignal;
using rt::kSuspended;
using rt::kSysRequest;
using rt::Message;
using rt::Process;

namespace {

// How long acquire() watches a busy process before it sleeps on sys_cv_.
constexpr std::chrono::microseconds kAcquireSpin{20};

const Term& ReplyAtom() {
  static const Term t = Term::atom("reply");
  return t;
}
const Term& ValueAtom() {
  static const Term t = Term::atom("value");
  return t;
}
const Term& ErrorAtom() {
  static const Term t = Term::atom("error");
  return t;
}

// {reply: ID, value: V} or {reply: ID, error: E}; built from a vector so the
// value is moved in, not copied.
Term ReplyMessage(uint64_t id, const Term& key, Term value) {
  std::vector<TermPair> entries;
  entries.reserve(2);
  entries.emplace_back(ReplyAtom(), Term(static_cast<long long>(id)));
  entries.emplace_back(key, std::move(value));
  return Term::map(std::move(entries));
}

std::string NoSuchPid(Pid pid) {
  return "no process " + pid.to_string() +
         " on this node (it may have exited); `relup ps` lists the live processes";
}

std::string NoSuchName(std::string_view name) {
  return "no process is registered as '" + std::string(name) +
         "'; `relup ps` lists the live processes and their names";
}

}  // namespace

// ---------------------------------------------------------------- handles

ProcessHandle& ProcessHandle::operator=(ProcessHandle&& o) noexcept {
  if (this != &o) {
    if (p_ != nullptr) impl_->unref(p_);
    impl_ = o.impl_;
    p_ = std::exchange(o.p_, nullptr);
  }
  return *this;
}

ProcessHandle::~ProcessHandle() {
  if (p_ != nullptr) impl_->unref(p_);
}

void Node::Impl::unref(Process* p) noexcept {
  if (p->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy(p);
}

// Messages pushed after the process ended wait here until the last reference
// goes; a call among them must still get its answer.
void Node::Impl::destroy(Process* p) noexcept {
  while (Message* m = p->mailbox.pop()) {
    if (m->kind == Message::Kind::kCall) {
      fail_reply(m->from, Status::ProcessExited("process " + label(p) +
                                                " exited before it handled the call"));
    }
    delete m;
  }
  delete p;
}

// ---------------------------------------------------------------- lookup

ProcessHandle Node::Impl::find(Pid pid) {
  return ProcessHandle(this, table_.find(pid));
}

Result<ProcessHandle> Node::Impl::resolve(Pid pid) {
  ProcessHandle h = find(pid);
  if (!h) return Status::NotFound(NoSuchPid(pid));
  return h;
}

Result<ProcessHandle> Node::Impl::resolve(std::string_view name) {
  RELUP_ASSIGN_OR_RETURN(Pid pid, whereis(name));
  ProcessHandle h = find(pid);
  if (!h) return Status::NotFound(NoSuchName(name));
  return h;
}

Result<ProcessHandle> Node::Impl::resolve(const ProcessRef& ref) {
  if (const std::string* name = ref.name()) return resolve(std::string_view(*name));
  return resolve(*ref.pid());
}

Result<Pid> Node::Impl::whereis(std::string_view name) const {
  std::optional<Pid> pid = registry_.find(name);
  if (!pid) return Status::NotFound(NoSuchName(name));
  return *pid;
}

Status Node::Impl::unregister(std::string_view name, Pid pid) {
  if (registry_.remove(std::string(name), pid)) return Status();
  RELUP_ASSIGN_OR_RETURN(Pid holder, whereis(name));
  return Status::NotFound("the name '" + std::string(name) + "' is registered to " +
                          holder.to_string() + ", not to " + pid.to_string());
}

Status Node::Impl::reregister(std::string_view name, Pid pid) {
  RELUP_ASSIGN_OR_RETURN(ProcessHandle h, resolve(pid));
  if (!h->name || *h->name != name) {
    return Status::FailedPrecondition("process " + label(h.get()) + " was not spawned as '" +
                                      std::string(name) + "', so it cannot take that name back");
  }
  RELUP_RETURN_IF_ERROR(registry_.add(*h->name, pid));
  // finalize sets kExited before it drops the name: a process that ended
  // meanwhile either had the name removed after this add, or is seen here.
  if (h->ctl.load(std::memory_order_seq_cst) & kExited) {
    registry_.remove(*h->name, pid);
    return Status::NotFound(NoSuchPid(pid));
  }
  return Status();
}

std::string Node::Impl::label(const Process* p) {
  std::string s = p->pid.to_string();
  if (p->name) s += " (" + *p->name + ")";
  return s;
}

std::string Node::Impl::describe(const Process* p) {
  std::string s = p->pid.to_string() + " (";
  if (p->name) s += *p->name + ", ";
  if (p->code) {
    s += p->code->name() + " " + p->code->vsn();
  } else {
    s += "no code";
  }
  return s + ")";
}

// ---------------------------------------------------------------- ownership

void Node::Impl::try_schedule(Process* p) {
  uint32_t s = p->ctl.load(std::memory_order_seq_cst);
  while ((s & (kOwned | kSuspended | kExited)) == 0) {
    if (p->ctl.compare_exchange_weak(s, s | kScheduled, std::memory_order_seq_cst)) {
      p->refs.fetch_add(1, std::memory_order_relaxed);
      scheduler_->schedule(p);
      return;
    }
  }
}

bool Node::Impl::hand_over_to_waiters(Process* p) {
  std::lock_guard<std::mutex> lock(sys_mu_);
  if (sys_waiters_.find(p) == sys_waiters_.end()) return false;  // the request was stale
  sys_cv_.notify_all();
  return true;
}

void Node::Impl::release(Process* p, uint32_t owner) {
  bool ready = p->mailbox.has_ready();  // owner-only: read before letting go
  if ((owner & kScheduled) != 0) owner |= kRunning;
  uint32_t s = p->ctl.fetch_and(~(owner | kSysRequest), std::memory_order_seq_cst);
  // A waiting sys operation takes the process next and reschedules it when it
  // lets go; rescheduling here would race it for the process.
  if ((s & kSysRequest) != 0 && hand_over_to_waiters(p)) return;
  if ((s & (kSignal | kExited)) == kSignal) {
    // Exit signals came while we held it: whoever takes it now handles them,
    // and lets go with this same check of its mail.
    try_handle_signals(p);
    return;
  }
  if ((s & (kSuspended | kExited)) != 0) return;
  // Taken while it waited in a run queue: that entry will run it (try_schedule
  // sees kScheduled and does nothing).
  if (ready || p->mailbox.inbox_nonempty()) try_schedule(p);
}

bool Node::Impl::begin_run(Process* p) {
  uint32_t s = p->ctl.load(std::memory_order_acquire);
  for (;;) {
    if ((s & (kLocked | kExited | kSuspended)) != 0) {
      // A sys operation took it (or suspended or ended it) while it was
      // queued. Give up this queue entry: whoever lets go of kLocked, or
      // resumes it, reschedules it if mail is waiting.
      if (p->ctl.compare_exchange_weak(s, s & ~kScheduled, std::memory_order_seq_cst)) {
        // A waiter that went to sleep while this process ran is told it is free.
        if ((s & kSysRequest) != 0) hand_over_to_waiters(p);
        return false;
      }
      continue;
    }
    if (p->ctl.compare_exchange_weak(s, s | kRunning, std::memory_order_seq_cst)) return true;
  }
}

Status Node::Impl::acquire(Process* p, Millis timeout, std::string_view what) {
  uint32_t s = p->ctl.load(std::memory_order_acquire);
  while (rt::Takeable(s)) {
    if (p->ctl.compare_exchange_weak(s, s | kLocked, std::memory_order_seq_cst)) return Status();
  }
  if (scheduler_->on_worker_thread()) {
    return Status::FailedPrecondition("cannot " + std::string(what) + " " + label(p) +
                                      " from inside a callback: waiting for it would block a "
                                      "scheduler thread");
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(sys_mu_);
  ++sys_waiters_[p];
  struct Leave {
    Impl* self;
    Process* p;
    ~Leave() {
      auto it = self->sys_waiters_.find(p);
      if (--it->second == 0) self->sys_waiters_.erase(it);
    }
  } leave{this, p};
  bool timed_out = false;
  auto spin_until = std::chrono::steady_clock::now() + kAcquireSpin;
  for (;;) {
    s = p->ctl.load(std::memory_order_seq_cst);
    if ((s & kExited) != 0) {
      return Status::ProcessExited("could not " + std::string(what) + " " + label(p) +
                                   ": it exited");
    }
    if (rt::Takeable(s)) {
      if (p->ctl.compare_exchange_strong(s, s | kLocked, std::memory_order_seq_cst)) {
        return Status();
      }
      continue;
    }
    if (timed_out) break;
    if ((s & kSysRequest) == 0 &&
        !p->ctl.compare_exchange_strong(s, s | kSysRequest, std::memory_order_seq_cst)) {
      continue;
    }
    // The owner usually lets go within a message or two: watch for it with
    // sys_mu_ released (the owner takes it to hand over), before sleeping.
    // Sleeping on sys_cv_ costs a futex wake-up, 50-200 us on a busy machine,
    // and the process waits that long with kSysRequest set.
    if (std::chrono::steady_clock::now() < spin_until) {
      lock.unlock();
      for (int i = 0; i < 64 && !rt::Takeable(p->ctl.load(std::memory_order_acquire)); ++i) {
        rt::CpuRelax();
      }
      lock.lock();
      continue;
    }
    if (sys_cv_.wait_until(lock, deadline) == std::cv_status::timeout) timed_out = true;
  }
  return Status::Timeout("could not " + std::string(what) + " " + label(p) + " within " +
                         std::to_string(timeout.count()) +
                         " ms: it did not reach a message boundary (a callback is still running)");
}

// ---------------------------------------------------------------- delivery

void Node::Impl::push(Process* p, Message* m) {
  p->mailbox.push(m);
  try_schedule(p);
}

Status Node::Impl::deliver_to(Process* p, Message::Kind kind, Term message, From from) {
  if ((p->ctl.load(std::memory_order_acquire) & kExited) != 0) {
    return Status::ProcessExited("process " + label(p) + " has exited");
  }
  push(p, new Message(kind, std::move(message), from));
  return Status();
}

Status Node::Impl::deliver(Pid to, Message::Kind kind, Term message, From from) {
  RELUP_ASSIGN_OR_RETURN(ProcessHandle h, resolve(to));
  return deliver_to(h.get(), kind, std::move(message), from);
}

Status Node::Impl::deliver(std::string_view name, Message::Kind kind, Term message, From from) {
  RELUP_ASSIGN_OR_RETURN(ProcessHandle h, resolve(name));
  return deliver_to(h.get(), kind, std::move(message), from);
}

Status Node::Impl::post(const ProcessRef& to, Message::Kind kind, Term message) {
  RELUP_ASSIGN_OR_RETURN(ProcessHandle h, resolve(to));
  return deliver_to(h.get(), kind, std::move(message), {});
}

void Node::Impl::reply(const From& from, Term value) {
  if (from.caller == 0) {
    calls_.complete(from.tag, std::move(value));  // false: the caller gave up; drop it
    return;
  }
  Term message = ReplyMessage(from.tag, ValueAtom(), std::move(value));
  (void)deliver(Pid{from.caller}, Message::Kind::kInfo, std::move(message));
}

void Node::Impl::fail_reply(const From& from, const Status& error) {
  if (from.caller == 0) {
    calls_.fail(from.tag, error);
    return;
  }
  Term message = ReplyMessage(from.tag, ErrorAtom(), Term(error.message()));
  (void)deliver(Pid{from.caller}, Message::Kind::kInfo, std::move(message));
}

// ---------------------------------------------------------------- ends

void Node::Impl::run_terminate(Process* p, const Term& reason) {
  if (!p->code || p->code->callbacks().terminate == nullptr) return;
  rt::Context ctx(this, p);
  p->code->callbacks().terminate(ctx, reason, p->state);
}

void Node::Impl::finalize(Process* p, uint32_t owner, const ExitInfo& info, const From* caller,
                          const Status& caller_error) {
  std::string who = describe(p);
  p->ctl.fetch_or(kExited, std::memory_order_seq_cst);
  bool removed = table_.erase(p->pid);
  if (p->name) registry_.remove(*p->name, p->pid);

  log(info.abnormal ? LogLevel::kError : LogLevel::kInfo,
      "process " + who + " exited: " + info.text);
  if (caller != nullptr) fail_reply(*caller, caller_error);
  Status exited = Status::ProcessExited("process " + who + " exited: " + info.text);
  while (Message* m = p->mailbox.pop()) {
    if (m->kind == Message::Kind::kCall) fail_reply(m->from, exited);
    delete m;
  }
  calls_.fail_target(p->pid, exited);
  end_resources(p, info.reason);

  // Dropped outside any callback: this may be the last reference to the
  // version, which closes the library.
  // Under the shard lock, as every write of `code` (process.h): get_status
  // and the listings may read it right now through a handle they took before
  // the erase above.
  ModuleVersionPtr code;
  table_.with_shard_lock(p->pid, [&] { code = std::move(p->code); });
  p->state = Term();
  release(p, owner);  // kExited: hands over to a waiting sys operation, never reschedules
  code.reset();
  if (removed) unref(p);
}

void Node::Impl::log(LogLevel level, std::string_view line) const {
  if (options_.log) {
    options_.log(level, line);
    return;
  }
  if (level < LogLevel::kWarning) return;
  const char* tag = level == LogLevel::kError ? "error" : "warning";
  std::fprintf(stderr, "relup: %s: %.*s\n", tag, static_cast<int>(line.size()), line.data());
}

}  // namespace relup
