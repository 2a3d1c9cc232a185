// Node::Impl: construction, spawn and the blocking outside call.
#include "core/term_handles.h"
#include "runtime/node_impl.h"
#include "runtime/process_context.h"
#include "supervision/supervisor.h"

namespace relup {

using rt::kLocked;
using rt::kSuspended;
using rt::Message;
using rt::Process;

Node::Impl::Impl(Node::Options options)
    : options_(std::move(options)), code_server_(options_.code_dir) {
  // Every node can start supervisors (supervision/supervisor.h).
  (void)code_server_.add_builtin(supervision::SupervisorDescriptor());
  scheduler_ = std::make_unique<rt::Scheduler>(options_.workers, &Impl::RunThunk, this, &timers_);
  timers_.attach(scheduler_.get());
}

Node::Impl::~Impl() {
  shutdown();
}

Result<Pid> Node::Impl::spawn(std::string_view module, Term args, const SpawnOptions& options) {
  if (options.link || options.monitor) {
    return Status::InvalidArgument(
        "spawn from outside the node cannot link or monitor (there is no calling process); "
        "use ProcessContext::spawn from a process for that");
  }
  return spawn_impl(module, std::move(args), options, nullptr);
}

Result<Pid> Node::Impl::adopt(std::string_view module, Term state, const SpawnOptions& options) {
  if (options.link || options.monitor) {
    return Status::InvalidArgument("adopt cannot link or monitor (there is no calling process)");
  }
  if (module == supervision::kSupervisorModule) {
    return Status::InvalidArgument(
        "adopt: a supervisor's state is its tree, which only its init and its calls build; "
        "start supervisors with spawn");
  }
  if (auto handle = FirstHandle(state)) {
    return Status::InvalidArgument(
        "adopt: the state holds " + handle->ToString() +
        ": a handle means something only on the node that made it, so such a state cannot "
        "move to another node");
  }
  return spawn_impl(module, Term(), options, nullptr, &state);
}

Result<Pid> Node::Impl::spawn_impl(std::string_view module, Term args, const SpawnOptions& options,
                                   const std::function<Status(rt::Process*)>& before_release,
                                   const Term* adopt_state) {
  if (is_shut_down()) return Status::Unavailable("the node is shut down: no new processes");
  // A child's init runs on its parent's thread and stack: an init that
  // spawns in turn nests. Refuse it past a depth well within the stack, so
  // that a module whose init spawns itself fails one spawn, not the node.
  constexpr int kMaxNesting = 64;
  thread_local int nesting = 0;
  if (nesting >= kMaxNesting) {
    return Status::FailedPrecondition(
        "spawn of '" + std::string(module) + "' refused: " + std::to_string(kMaxNesting) +
        " inits are already running one inside another on this thread (does an init spawn "
        "its own module?); spawn from handle_info instead, e.g. after a send_after of 0");
  }
  ++nesting;
  struct Unnest {
    ~Unnest() { --nesting; }
  } unnest;
  ModuleVersionPtr code = code_server_.current(module);
  if (!code) {
    return Status::NotFound("module '" + std::string(module) +
                            "' is not loaded; load a version of it first (relup load " +
                            std::string(module) + "-VSN.so)");
  }
  if (std::string why = RegisteredNameProblem(options.name); !why.empty()) {
    return Status::InvalidArgument("process name '" + options.name + "' " + why);
  }
  Pid pid{next_pid_.fetch_add(1, std::memory_order_relaxed)};
  auto* p = new Process(pid);
  p->ctl.store(kLocked, std::memory_order_relaxed);  // ours until init is done
  p->code = std::move(code);
  // Published before init so that init may send requests and get replies;
  // messages that arrive meanwhile wait until init is done. In the table
  // before its name is registered: a name always leads to a process that
  // takes calls (whereis then call never says "no process").
  // p->name is set before publication (process.h): readers take it without
  // the spawner. finalize's registry_.remove checks the pid, so a name that
  // turns out to be taken stays the other process's.
  if (!options.name.empty()) p->name = std::make_unique<const std::string>(options.name);
  p->refs.store(2, std::memory_order_relaxed);  // the table's and ours
  table_.insert(p);
  ProcessHandle ours(this, p);
  if (!options.name.empty()) {
    if (Status taken = registry_.add(options.name, pid); !taken.ok()) {
      finalize(p, kLocked,
               ExitInfo{Term::atom("normal"), "not started: " + taken.message(), false});
      return taken;
    }
  }

  rt::Context ctx(this, p);
  Status s = Status::Ok();
  if (adopt_state != nullptr) {
    p->state = *adopt_state;
  } else {
    s = p->code->callbacks().init(ctx, args, &p->state);
  }
  if (!s.ok()) {
    std::string who = describe(p);
    finalize(p, kLocked, ExitInfo{Term::atom("error"), "init failed: " + s.message(), true});
    return Status::CallbackError("could not start " + who + ": init failed: " + s.message());
  }
  if (before_release) {
    if (Status linked = before_release(p); !linked.ok()) {
      finalize(p, kLocked, ExitInfo{Term::atom("noproc"), linked.message(), true});
      return linked;
    }
  }
  release(p, kLocked);
  return pid;
}

Result<Term> Node::Impl::call(const ProcessRef& to, Term request, Millis timeout) {
  if (scheduler_->on_worker_thread()) {
    return Status::FailedPrecondition(
        "Node::call from inside a callback would block a scheduler thread; use "
        "ctx().send_request and handle the reply in handle_info");
  }
  RELUP_ASSIGN_OR_RETURN(ProcessHandle h, resolve(to));
  Process* p = h.get();
  static thread_local rt::CallWaiter waiter;
  uint64_t tag = calls_.add(&waiter, p->pid);
  Status sent = deliver_to(p, Message::Kind::kCall, std::move(request), From{0, tag});
  if (!sent.ok()) {
    (void)calls_.cancel(tag);
    return sent;
  }

  std::unique_lock<std::mutex> lock(waiter.mu);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!waiter.cv.wait_until(lock, deadline, [] { return waiter.done; })) {
    lock.unlock();
    if (calls_.cancel(tag)) {
      bool suspended = (p->ctl.load(std::memory_order_relaxed) & kSuspended) != 0;
      return Status::Timeout(
          "call to " + label(p) + " timed out after " + std::to_string(timeout.count()) + " ms" +
          (suspended ? ": the process is suspended (resume it with relup resume)"
                     : ": the process did not answer in time (busy, or it never replies)"));
    }
    // The answer is being delivered right now: wait for it, it is imminent.
    lock.lock();
    waiter.cv.wait(lock, [] { return waiter.done; });
  }
  if (!waiter.error.ok()) return waiter.error;
  return std::move(waiter.value);
}

}  // namespace relup
