// relup::Node: a set of lightweight processes running server modules, a
// scheduler of worker threads, and a code server — and the sys operations
// that change a live process's code and state.
//
// Thread-safety: every public method may be called from any thread that is
// not a scheduler worker (blocking methods — call, suspend, get_state — must
// not be used from inside a callback; callbacks use ProcessContext instead).
//
// Process lifecycle: spawn runs the module's init on the calling thread and
// returns the pid once init succeeded. A process handles one message at a
// time; between two messages it is at a "message boundary", the only place
// where its code or state can be changed from outside. A callback that throws
// or returns an error, or a stop outcome, ends that one process: terminate
// runs (for stop), the reason is logged, callers waiting on it get an error,
// its registered name is freed. The node and every other process go on.
//
// sys operations follow OTP's meaning:
//   suspend      returns once the process is suspended at a message boundary
//                (the message being handled finishes first; queued messages
//                stay queued). Messages that arrive while suspended wait and
//                are handled after resume, in order.
//   change_code  only on a suspended process: calls code_change(old_vsn,
//                state, extra) of the newer of the two versions, as OTP does:
//                the target version's on an upgrade (old_vsn "FROM"), the
//                running version's on a downgrade (old_vsn {down, TO}), so an
//                old version never needs to know a layout that came after
//                it. On success the process runs the target version with the
//                new state; on error it keeps its old code and old state and
//                the error is returned.
//   switch_code  code-only change (no state transform) at the next boundary.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "relup/code_server.h"
#include "relup/module_abi.h"
#include "relup/status.h"
#include "relup/term.h"

namespace relup {

using Millis = std::chrono::milliseconds;
inline constexpr Millis kDefaultTimeout{5000};

// A pid or a registered name.
class ProcessRef {
 public:
  ProcessRef(Pid pid) : ref_(pid) {}                              // NOLINT
  ProcessRef(std::string_view name) : ref_(std::string(name)) {}  // NOLINT
  ProcessRef(const char* name) : ref_(std::string(name)) {}       // NOLINT
  // "<0.42.0>" is a pid, anything else a name.
  static ProcessRef parse(std::string_view text);
  const Pid* pid() const { return std::get_if<Pid>(&ref_); }
  const std::string* name() const { return std::get_if<std::string>(&ref_); }
  std::string to_string() const;

 private:
  std::variant<Pid, std::string> ref_;
};

// Why `name` cannot be a registered name ("" if it can): it reads as a pid
// ("<0.42.0>": commands taking NAME|PID would take it for one), or it holds a
// control character (it could not be typed or printed back). The message
// completes "process name 'X' ...". spawn refuses such names; relup build and
// the node's reading of release.yaml check the same rule.
std::string RegisteredNameProblem(std::string_view name);

// kExiting is only ever seen in the instant between a process ending and its
// removal from the process table: an ended process is removed at once, so
// processes() does not list it and get_status() on it returns NotFound.
// kBusy: a worker is inside one of its callbacks at this moment (a process
// that stays busy is stuck in a callback; relup ps shows it). kRunnable: at
// a message boundary, idle or with mail waiting for a worker.
enum class ProcessState : uint8_t { kRunnable, kSuspended, kExiting, kBusy };
// "running", "suspended", "exiting", "busy"
std::string_view ProcessStateName(ProcessState s);

struct ProcessStatus {
  Pid pid;
  std::string name;  // registered name or empty
  std::string module;
  std::string vsn;
  ProcessState state = ProcessState::kRunnable;
  size_t queue_length = 0;
};

// A suspended process's code and state, for exact rollback.
struct ProcessSnapshot {
  Pid pid;
  ModuleVersionPtr code;
  Term state;
};

enum class PurgeMode { kSoft, kBrutal };

enum class LogLevel { kDebug, kInfo, kWarning, kError };
using LogSink = std::function<void(LogLevel, std::string_view line)>;

class Node {
 public:
  struct Options {
    unsigned workers = 0;  // 0: one per core
    std::string code_dir;  // see CodeServer; empty: a temp dir
    LogSink log;           // empty: stderr for warnings and errors
  };

  Node();
  explicit Node(Options options);
  ~Node();  // shutdown()
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Ends every process (terminate runs, reason :shutdown) and joins the workers.
  // Idempotent. Every later operation returns Unavailable.
  void shutdown();

  CodeServer& code_server();

  // The release configuration processes read with ProcessContext::config: a
  // map of module name to that module's map of keys (release_config.h). The
  // release handler sets it at boot and in an upgrade's commit.
  void set_config(Term config);
  Term config() const;

  // Starts a process on the current version of `module`; runs init.
  // options.link and options.monitor are for ProcessContext::spawn: refused here.
  Result<Pid> spawn(std::string_view module, Term args, SpawnOptions options = {});
  // Starts a process on the current version of `module` whose state is
  // `state`, without running init: nothing init would set up (timers,
  // sockets, links, monitors) exists. For states taken from another node,
  // as `relup check --snapshot` puts a live node's states on a scratch node.
  Result<Pid> adopt(std::string_view module, Term state, SpawnOptions options = {});

  // Blocking call from an outside thread: the process's handle_call reply.
  Result<Term> call(const ProcessRef& to, Term request, Millis timeout = kDefaultTimeout);
  Status cast(const ProcessRef& to, Term message);  // handle_cast
  Status send(const ProcessRef& to, Term message);  // handle_info
  // Ends a process as if it stopped with `reason` (terminate runs).
  Status exit(const ProcessRef& target, Term reason);
  // Sends an exit signal from outside (relup kill), with OTP's meaning (see
  // ProcessContext in module_abi.h): :kill ends the target with :killed; a
  // process that traps exits gets {exit: nil, reason: R}; otherwise :normal
  // is ignored and anything else ends it with reason R, which its links and
  // monitors see. Works on a suspended process too, at once; a process inside
  // a callback gets it at its next message boundary (C++ code is not
  // preempted), before its next message; a signal that will end it frees
  // its registered name at once, as an Erlang process's death does, so a
  // supervisor can start its replacement meanwhile.
  Status send_exit(const ProcessRef& target, Term reason);

  Status suspend(const ProcessRef& target, Millis timeout = kDefaultTimeout);
  Status resume(const ProcessRef& target);
  // Moves a suspended process to `to_vsn` of `module` (empty: the current,
  // i.e. newest loaded, version) through the target version's code_change,
  // or, when old_vsn is {down, VSN} (IsDownVsn), the running version's.
  Status change_code(const ProcessRef& target, std::string_view module, const Term& old_vsn,
                     const Term& extra, std::string_view to_vsn = {});
  // Code-only change to `to_vsn` (empty: current) at the next message boundary
  // (at once if suspended). The state is kept as it is.
  Status switch_code(const ProcessRef& target, std::string_view module,
                     std::string_view to_vsn = {});

  // The state at a message boundary.
  Result<Term> get_state(const ProcessRef& target, Millis timeout = kDefaultTimeout);
  // Replaces the state at a message boundary with fn(state); an error from fn
  // leaves the state as it was and is returned.
  Status replace_state(const ProcessRef& target, std::function<Result<Term>(const Term&)> fn,
                       Millis timeout = kDefaultTimeout);
  Result<ProcessStatus> get_status(const ProcessRef& target);

  // Snapshot / restore of a SUSPENDED process (the upgrade executor's rollback).
  Result<ProcessSnapshot> snapshot(const ProcessRef& target);
  Status restore(const ProcessSnapshot& snapshot);

  Result<Pid> whereis(std::string_view name) const;
  // Takes `name` out of the registry without ending `pid`, which must hold it:
  // NotFound if the name is free or held by another process (one that took
  // it after `pid` ended is left alone). The process lives on (reachable by
  // pid, listed with its name until it ends) and a new spawn may register
  // the name. For the upgrade executor's stop step, which must stay undoable
  // until the commit.
  Status unregister(std::string_view name, Pid pid);
  // Undoes unregister: `pid` must be a live process spawned with `name`.
  // AlreadyExists (naming the holder) if another process took the name since.
  Status reregister(std::string_view name, Pid pid);
  std::vector<ProcessStatus> processes() const;
  // What the runtime holds for a process: {links: [PID...], monitors: [MON...],
  // monitored_by: [PID...], timers: N, sockets: [SOCK...], trap_exit: BOOL}.
  Result<Term> resources(const ProcessRef& target);
  // Node-wide counts of what processes hold in the runtime: {timers: N,
  // sockets: N, link_entries: N} (processes with a link, monitor or pending
  // exit signal). A process's end takes its share out of each.
  Term io_stats() const;
  // Pids of live processes running `module` (any version, or just `vsn`).
  std::vector<Pid> processes_running(std::string_view module, std::string_view vsn = {}) const;

  // Unloads a version. kSoft: refused (naming the processes) while any process
  // runs it. kBrutal: those processes are ended (reason :killed) first.
  Status purge(std::string_view module, std::string_view vsn, PurgeMode mode);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace relup
