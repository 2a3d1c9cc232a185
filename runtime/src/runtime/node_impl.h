// Node::Impl: the runtime behind relup::Node — process table, registry,
// scheduler, message delivery, the callback loop and the sys operations.
//
// Split by concept over several files: node_impl.cc (ownership protocol,
// delivery, process ends), process_loop.cc (what a worker does with a
// process), spawn_call.cc (spawn, call), sys_ops.cc (suspend, change_code,
// state and status operations, purge, exit, shutdown), exit_signals.cc
// (links, monitors, exit signals). The services a process's context reaches
// live beside it: timers/ (TimerService), io/ (IoLoop, SocketTable), links/
// (LinkTable), each keyed by pid; finalize ends a process's share of each.
//
// Ownership protocol (see process.h): a thread that wants a process's code or
// state takes it with acquire() and lets go with release(). acquire() returns
// at once for an idle or suspended process, or one waiting in a run queue (one
// CAS); for a process a worker is running, it sets kSysRequest, watches for
// about 20 us, then waits on sys_cv_ until the worker lets go at its next
// message boundary. Waiters are counted per process in sys_waiters_
// (under sys_mu_) so that the one letting go knows whether to hand over to
// them or to reschedule the process itself.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/release_config.h"
#include "io/io_loop.h"
#include "io/tcp_sockets.h"
#include "links/link_table.h"
#include "relup/node.h"
#include "runtime/pending_calls.h"
#include "runtime/postman.h"
#include "runtime/process.h"
#include "runtime/process_table.h"
#include "runtime/scheduler.h"
#include "timers/timer_service.h"

namespace relup {

class OwnedProcess;

// A counted reference to a process; move-only.
class ProcessHandle {
 public:
  ProcessHandle() = default;
  ProcessHandle(Node::Impl* impl, rt::Process* p) : impl_(impl), p_(p) {}
  ProcessHandle(ProcessHandle&& o) noexcept : impl_(o.impl_), p_(std::exchange(o.p_, nullptr)) {}
  ProcessHandle& operator=(ProcessHandle&& o) noexcept;
  ~ProcessHandle();
  ProcessHandle(const ProcessHandle&) = delete;
  ProcessHandle& operator=(const ProcessHandle&) = delete;

  rt::Process* get() const { return p_; }
  rt::Process* operator->() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  Node::Impl* impl_ = nullptr;
  rt::Process* p_ = nullptr;
};

// Why a process ended.
struct ExitInfo {
  Term reason;       // passed to terminate; :normal, :shutdown, :killed, ...
  std::string text;  // for people: "stopped with reason :normal", "handle_call threw: x"
  bool abnormal = true;
};

// :normal and :shutdown are the expected ways to end (logged as info); any
// other reason is abnormal (logged as an error), as in OTP.
inline bool IsQuietReason(const Term& reason) {
  return reason.is_atom("normal") || reason.is_atom("shutdown");
}

class Node::Impl final : public rt::Postman {
 public:
  explicit Impl(Node::Options options);
  ~Impl();

  // --- the public operations (Node forwards to these) ---
  void shutdown();
  bool is_shut_down() const { return shut_down_.load(std::memory_order_acquire); }
  CodeServer& code_server() { return code_server_; }
  ConfigStore& config() { return config_; }
  Result<Pid> spawn(std::string_view module, Term args, const SpawnOptions& options);
  Result<Pid> adopt(std::string_view module, Term state, const SpawnOptions& options);
  Result<Term> call(const ProcessRef& to, Term request, Millis timeout);
  Status post(const ProcessRef& to, rt::Message::Kind kind, Term message);
  Status exit(const ProcessRef& target, Term reason);
  Status send_exit(const ProcessRef& target, Term reason);
  Result<Term> resources(const ProcessRef& target);
  Term io_stats() const;
  Status suspend(const ProcessRef& target, Millis timeout);
  Status resume(const ProcessRef& target);
  Status change_code(const ProcessRef& target, std::string_view module, const Term& old_vsn,
                     const Term& extra, std::string_view to_vsn);
  Status switch_code(const ProcessRef& target, std::string_view module, std::string_view to_vsn);
  Result<Term> get_state(const ProcessRef& target, Millis timeout);
  Status replace_state(const ProcessRef& target, const std::function<Result<Term>(const Term&)>& fn,
                       Millis timeout);
  Result<ProcessStatus> get_status(const ProcessRef& target);
  Result<ProcessSnapshot> snapshot(const ProcessRef& target);
  Status restore(const ProcessSnapshot& snapshot);
  Result<Pid> whereis(std::string_view name) const;
  Status unregister(std::string_view name, Pid pid);
  Status reregister(std::string_view name, Pid pid);
  std::vector<ProcessStatus> processes() const;
  std::vector<Pid> processes_running(std::string_view module, std::string_view vsn) const;
  Status purge(std::string_view module, std::string_view vsn, PurgeMode mode);

  // --- used by ProcessContext and the worker loop ---
  // Delivers a message; NotFound / ProcessExited if there is no such process.
  Status deliver(Pid to, rt::Message::Kind kind, Term message, From from = {});
  Status deliver(std::string_view name, rt::Message::Kind kind, Term message, From from = {});
  // Answers a call: an outside caller's wait ends, a process gets {reply: ID, value: V}.
  void reply(const From& from, Term value);
  void fail_reply(const From& from, const Status& error);
  void log(LogLevel level, std::string_view line) const;
  void unref(rt::Process* p) noexcept;
  // rt::Postman: what timers and sockets deliver.
  bool post_info(Pid to, Term message) noexcept override;
  bool post_idle_timeout(Pid to, uint64_t timer_id) noexcept override;
  bool alive(Pid pid) noexcept override;

  // --- used by rt::Context (exit_signals.cc) ---
  Result<Spawned> spawn_from(rt::Process* parent, std::string_view module, Term args,
                             const SpawnOptions& options);
  Result<Term> monitor(rt::Process* watcher, const ProcessRef& target);
  Result<bool> demonitor(rt::Process* watcher, const Term& ref);
  Status link(rt::Process* self, Pid other);
  void unlink(rt::Process* self, Pid other);
  // An exit signal from `from` (Pid{} from outside) to `to`.
  Status signal(Pid to, Pid from, Term reason);
  rt::TimerService& timers() { return timers_; }
  rt::SocketTable& sockets() { return sockets_; }
  // "<0.5.0> (blackode)": pid and registered name, safe from any thread.
  static std::string label(const rt::Process* p);

 private:
  friend class ProcessHandle;
  friend class OwnedProcess;

  // Ownership (node_impl.cc).
  Status acquire(rt::Process* p, Millis timeout, std::string_view what);
  void release(rt::Process* p, uint32_t owner);
  // Worker only, for a process it dequeued: sets kRunning and returns true,
  // or returns false (having cleared kScheduled) if a sys operation took it,
  // suspended it or ended it while it was queued; the caller then drops its queue reference.
  bool begin_run(rt::Process* p);
  bool hand_over_to_waiters(rt::Process* p);
  void try_schedule(rt::Process* p);
  void push(rt::Process* p, rt::Message* m);
  // NotFound naming the pid or name if no live process answers to it.
  Result<ProcessHandle> resolve(const ProcessRef& ref);
  Result<ProcessHandle> resolve(Pid pid);
  Result<ProcessHandle> resolve(std::string_view name);
  ProcessHandle find(Pid pid);
  Status deliver_to(rt::Process* p, rt::Message::Kind kind, Term message, From from);
  void destroy(rt::Process* p) noexcept;

  // Process ends (node_impl.cc). The caller owns p through `owner`. `caller`,
  // if given, is told `caller_error` once the process is gone from the table.
  void finalize(rt::Process* p, uint32_t owner, const ExitInfo& info, const From* caller = nullptr,
                const Status& caller_error = Status());
  void run_terminate(rt::Process* p, const Term& reason);
  // "<0.5.0> (blackode, demo_server 1)": owner only (reads code).
  static std::string describe(const rt::Process* p);

  // spawn, with a hook that runs after init succeeded and before the new
  // process may run (ProcessContext::spawn links and monitors there).
  // adopt_state: the new process takes it as its state and init does not
  // run (Node::adopt); nullptr: init(args) makes the state.
  Result<Pid> spawn_impl(std::string_view module, Term args, const SpawnOptions& options,
                         const std::function<Status(rt::Process*)>& before_release,
                         const Term* adopt_state = nullptr);

  // Exit signals (exit_signals.cc). handle_signals: the caller owns p
  // through `owner`; returns false if p ended (finalize let go of it).
  // An exit signal that will end p (:kill, or a reason other than :normal
  // to a process not trapping exits) frees its registered name at once (see
  // post_signal).
  void FreeNameIfDoomed(rt::Process* p, const Term& reason, bool kill, Pid from);
  void post_signal(rt::Process* p, rt::ExitSignal sig);
  void kick_signals(rt::Process* p);
  void try_handle_signals(rt::Process* p);
  bool handle_signals(rt::Process* p, uint32_t owner);
  // A process ended (from finalize): its timers, sockets, links, monitors.
  void end_resources(rt::Process* p, const Term& reason);

  // Worker loop (process_loop.cc).
  static void RunThunk(void* self, rt::Process* p);
  void run(rt::Process* p);
  bool dispatch(rt::Process* p, rt::Message* m);
  void crash(rt::Process* p, std::string_view callback, const Status& error, const From* caller);
  void stop(rt::Process* p, const Term& reason, const From* unanswered);
  void arm_idle(rt::Process* p, int64_t ms);

  // sys helpers (sys_ops.cc).
  Status kill(rt::Process* p, Millis timeout);
  void drop_queued();
  void swap_code(rt::Process* p, ModuleVersionPtr code);
  Result<ModuleVersionPtr> target_version(std::string_view module, std::string_view vsn) const;

  Node::Options options_;
  // The I/O thread and the services processes use; declared before the
  // scheduler, so they outlive its workers, and stopped by shutdown() before
  // they go.
  rt::IoLoop io_;
  rt::TimerService timers_{*this};  // fired by the scheduler's workers
  rt::SocketTable sockets_{io_, *this};
  rt::LinkTable links_;
  CodeServer code_server_;
  ConfigStore config_;
  rt::ProcessTable table_;
  rt::Registry registry_;
  rt::PendingCalls calls_;
  std::atomic<uint64_t> next_pid_{1};
  std::atomic<bool> shut_down_{false};
  std::mutex shutdown_mu_;

  std::mutex sys_mu_;
  std::condition_variable sys_cv_;
  std::unordered_map<rt::Process*, int> sys_waiters_;  // guarded by sys_mu_

  std::unique_ptr<rt::Scheduler> scheduler_;  // last: its threads use everything above
};

}  // namespace relup
