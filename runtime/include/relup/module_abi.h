// The binary contract between the relup runtime and a server module.
//
// A module is a shared library that exports exactly one symbol,
//     extern "C" const relup::ModuleDescriptor* relup_module_descriptor(void);
// returning a descriptor that lives as long as the library is loaded. The
// code server checks magic, abi_version, term_size and the name before it
// uses anything else in the descriptor.
//
// Every callback is noexcept: no C++ exception crosses this boundary. The
// authoring API (relup/server.h, RELUP_MODULE) wraps user code and turns an
// exception into a non-ok Status. A non-ok Status from init, handle_call,
// handle_cast or handle_info ends that one process with the status as its
// reason; from code_change it rejects the change (the process keeps its old
// code and old state).
//
// Callbacks run on a scheduler thread, one at a time per process. They must
// not block on another process or on I/O: use ProcessContext::send_request,
// timers and sockets, whose results come back as handle_info messages. Module state lives in the
// runtime (the `state` Term), never in module globals or thread_locals: those do not survive an
// upgrade.
//
// Bump kAbiVersion whenever anything in this file, or the layout of Term or
// Status, changes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "relup/status.h"
#include "relup/term.h"

namespace relup {

inline constexpr uint32_t kModuleMagic = 0x52454C55;  // "RELU"
// 2: pid and ref Terms; timers, spawn, links, monitors and TCP sockets in
//    ProcessContext; timeouts in CallOutcome and MessageOutcome.
// 3: release configuration: ProcessContext::config, the config_change callback.
inline constexpr uint32_t kAbiVersion = 3;
inline constexpr const char* kModuleEntryPoint = "relup_module_descriptor";

// Who is waiting for a handle_call reply. Opaque to modules; keep it to
// reply later with ProcessContext::reply (after returning CallOutcome::NoReply).
struct From {
  uint64_t caller = 0;  // runtime-defined
  uint64_t tag = 0;     // runtime-defined
};

// Identifies a request made with ProcessContext::send_request. The reply comes
// to the requester as a handle_info message {reply: ID, value: V} on success, or
// {reply: ID, error: "reason"} if the target is unknown, exits or fails.
using RequestId = int64_t;

// How to start a process (Node::spawn from outside, ProcessContext::spawn from
// a process).
struct SpawnOptions {
  std::string name;      // registered name; empty for none. A taken name is an error.
  bool link = false;     // ProcessContext::spawn only: link the new process to the caller
  bool monitor = false;  // ProcessContext::spawn only: the caller monitors the new process
};

// What ProcessContext::spawn started.
struct Spawned {
  Pid pid;
  Term monitor;  // the monitor ref when SpawnOptions::monitor, else nil
};

// Options of a TCP socket made by tcp_listen or tcp_connect.
struct TcpOptions {
  bool nodelay = true;    // TCP_NODELAY: send small writes at once
  bool reuseaddr = true;  // tcp_listen: SO_REUSEADDR
  int backlog = 1024;     // tcp_listen: the kernel's accept queue
};

// What a callback may ask of the runtime while it runs. Owned by the runtime;
// valid only during the callback it was passed to. Not thread-safe: use it only
// from the callback's own thread. Nothing here blocks: whatever takes time
// (a timer, an accept, a connect, incoming data) is answered later by a
// message to handle_info.
//
// Timers, monitors, links and sockets belong to the runtime, keyed by the
// process that owns them: suspend, change_code, resume and rollback never
// touch them, so they live through an upgrade. They end with their process:
// its timers are cancelled, its sockets closed, its monitors and links fire.
// What they deliver while the process is suspended waits in its mailbox, in
// order, like any other message.
//
// Exit signals follow OTP. When a process ends with reason R, every linked
// process gets an exit signal from it. A process that traps exits
// (trap_exit(true)) receives it as the message {exit: PID, reason: R};
// otherwise R = :normal is ignored and any other R ends the linked process
// too, with the same reason (and so on along its own links). exit(pid, :kill)
// cannot be trapped: the target ends with reason :killed. A process ended by
// a signal runs no terminate (as in OTP, unless it traps exits and chooses to
// stop).
//
// Messages the runtime sends (all to handle_info):
//   a timer's own message                          send_after
//   :timeout                                       a callback's timeout_ms ran out
//   {down: MON, pid: PID, reason: R}               a monitored process ended
//                                                  (R = :noproc: it was gone already)
//   {exit: PID, reason: R}                         exit signal, when trapping exits
//   {tcp_accepted: LSOCK, socket: SOCK}            tcp_accept: SOCK is the caller's
//   {tcp_connected: SOCK}                          tcp_connect succeeded
//   {tcp: SOCK, data: BINARY}                      after tcp_activate: the next chunk
//   {tcp_closed: SOCK}                             the peer closed; SOCK is closed
//   {tcp_error: SOCK, reason: R}                   R an atom (:econnrefused, ...);
//                                                  SOCK is closed (a listener's
//                                                  failed accept leaves it open)
class ProcessContext {
 public:
  virtual Pid self() const = 0;
  // Plain message, handled by the receiver's handle_info.
  virtual Status send(Pid to, Term message) = 0;
  virtual Status send(std::string_view registered_name, Term message) = 0;
  // Handled by the receiver's handle_cast.
  virtual Status cast(Pid to, Term message) = 0;
  virtual Status cast(std::string_view registered_name, Term message) = 0;
  // Asynchronous call: the receiver's handle_call runs, and its reply arrives
  // here as a handle_info message (see RequestId). Never blocks.
  virtual Result<RequestId> send_request(Pid to, Term request) = 0;
  virtual Result<RequestId> send_request(std::string_view registered_name, Term request) = 0;
  // Replies to a call that handle_call answered with CallOutcome::NoReply.
  virtual void reply(const From& from, Term value) = 0;
  // Writes a line to the node's log, tagged with this process.
  virtual void log(std::string_view line) = 0;
  // The pid registered as `name`, NotFound if none.
  virtual Result<Pid> whereis(std::string_view name) = 0;

  // --- Timers ---
  // Sends `message` to this process after `ms` milliseconds (0 and up). The
  // result is a timer ref (!timer N) for cancel_timer.
  virtual Result<Term> send_after(int64_t ms, Term message) = 0;
  // Cancels a timer of this process: true if it was still pending (its message
  // will not come), false if it already fired (its message may be in the
  // mailbox) or was cancelled. An error for a term that is no timer ref or a
  // timer of another process.
  virtual Result<bool> cancel_timer(const Term& timer) = 0;

  // --- Processes: spawn, monitors, links, exit signals ---
  // Starts a process running the current version of `module`; its init runs
  // before this returns. With options.link the two are linked, with
  // options.monitor this process monitors it, both from before its first
  // message (a failed init links nothing and returns the error).
  virtual Result<Spawned> spawn(std::string_view module, Term args,
                                const SpawnOptions& options) = 0;
  // Monitors a process: {down: MON, pid: PID, reason: R} comes exactly once
  // when it ends, or at once with reason :noproc if there is no such process
  // (for an unregistered name, pid is nil and the message has name: NAME).
  virtual Result<Term> monitor(Pid target) = 0;
  virtual Result<Term> monitor(std::string_view registered_name) = 0;
  // Cancels a monitor: true if it was active (no down message will come).
  virtual Result<bool> demonitor(const Term& monitor) = 0;
  // Links this process and `other` both ways (no-op if linked already or self).
  // NotFound (with reason noproc) if `other` is not alive.
  virtual Status link(Pid other) = 0;
  virtual Status unlink(Pid other) = 0;
  // Turns trapping of exit signals on or off; returns the previous setting.
  virtual bool trap_exit(bool on) = 0;
  // Sends an exit signal with `reason` to `target` (see above).
  virtual Status exit(Pid target, Term reason) = 0;

  // --- TCP sockets ---
  // Host is an IPv4 or IPv6 literal ("127.0.0.1", "::1", "0.0.0.0"); port 0
  // picks a free port (tcp_sockname tells which). The socket belongs to this
  // process; every socket call from another process is refused.
  virtual Result<Term> tcp_listen(std::string_view host, uint16_t port,
                                  const TcpOptions& options) = 0;
  // Accepts one connection on a listener: {tcp_accepted: LSOCK, socket: SOCK}
  // or {tcp_error: LSOCK, reason: R} comes later. Call again for the next one.
  virtual Status tcp_accept(const Term& listener) = 0;
  // Starts connecting; {tcp_connected: SOCK} or {tcp_error: SOCK, reason: R}
  // comes later. The ref is returned at once.
  virtual Result<Term> tcp_connect(std::string_view host, uint16_t port,
                                   const TcpOptions& options) = 0;
  // Queues `data` for sending; never blocks. Data queued on a closed socket
  // is an error.
  virtual Status tcp_send(const Term& socket, std::string_view data) = 0;
  // Asks for the next chunk of data, OTP's {active, once}: one {tcp: ...}
  // (or tcp_closed / tcp_error) message comes, then nothing until the next
  // tcp_activate. While more than a high-water mark of this socket's own
  // output is still unsent, reading waits, so a peer that sends without
  // reading is pushed back on instead of buffered without bound.
  virtual Status tcp_activate(const Term& socket) = 0;
  // Closes a socket (queued output is still sent, for a grace period).
  // Closing a closed socket does nothing.
  virtual Status tcp_close(const Term& socket) = 0;
  // Hands the socket to another live process, which owns it from now on.
  virtual Status tcp_controlling_process(const Term& socket, Pid new_owner) = 0;
  // {ip: "127.0.0.1", port: 7007}
  virtual Result<Term> tcp_peername(const Term& socket) = 0;
  virtual Result<Term> tcp_sockname(const Term& socket) = 0;
  virtual Status tcp_set_nodelay(const Term& socket, bool on) = 0;

  // Release configuration (the release spec's `config:` for this process's
  // module): the value of `key`, nil when the release gives none. It changes
  // only by an upgrade or a downgrade, which calls config_change.
  virtual Term config(std::string_view key) = 0;

 protected:
  ~ProcessContext() = default;
};

// Result of handle_call.
struct CallOutcome {
  enum class Kind : uint8_t { kReply, kNoReply, kStop };
  Kind kind = Kind::kReply;
  Term reply;              // kReply, and kStop when has_reply
  Term reason;             // kStop
  bool has_reply = false;  // kStop only: also reply before stopping
  // gen_server's timeout: 0 and up asks for a :timeout message in handle_info
  // after that many ms without any other message; -1 (default) for none.
  int64_t timeout_ms = -1;
};

// Result of handle_cast and handle_info.
struct MessageOutcome {
  enum class Kind : uint8_t { kContinue, kStop };
  Kind kind = Kind::kContinue;
  Term reason;              // kStop
  int64_t timeout_ms = -1;  // as in CallOutcome
};

struct ModuleCallbacks {
  Status (*init)(ProcessContext& ctx, const Term& args, Term* state) noexcept;
  Status (*handle_call)(ProcessContext& ctx, const Term& request, const From& from, Term* state,
                        CallOutcome* out) noexcept;
  Status (*handle_cast)(ProcessContext& ctx, const Term& message, Term* state,
                        MessageOutcome* out) noexcept;
  Status (*handle_info)(ProcessContext& ctx, const Term& message, Term* state,
                        MessageOutcome* out) noexcept;
  // nullptr when the module has no code_change. old_vsn is the version string
  // being upgraded from (the new version's code_change runs), or the tuple
  // !tuple [:down, "VSN"] on a downgrade to VSN (the code_change of the
  // version being left runs: the newer one, as in OTP).
  Status (*code_change)(const Term& old_vsn, const Term& state, const Term& extra,
                        Term* new_state) noexcept;
  // Called when the process ends normally or by a stop outcome; may be nullptr.
  void (*terminate)(ProcessContext& ctx, const Term& reason, const Term& state) noexcept;
  // nullptr when the module has none. OTP's Module:config_change/3: once per
  // module (not per process) when an upgrade or downgrade changes its
  // configuration, after the code change and before the commit; `changed`
  // and `added` map keys to their new values, `removed` lists keys. A non-ok
  // status rolls back the whole upgrade. No process context.
  Status (*config_change)(const Term& changed, const Term& added, const Term& removed) noexcept;
};

// code_change's old_vsn on a downgrade to `vsn`: !tuple [:down, "VSN"]
// (OTP's {down, Vsn}), and the test for one.
inline Term DownVsn(std::string_view vsn) {
  return Term::tuple({Term::atom("down"), Term(std::string(vsn))});
}
inline bool IsDownVsn(const Term& old_vsn) {
  return old_vsn.is_tuple() && old_vsn.size() == 2 && old_vsn[0].is_atom("down");
}

struct ModuleDescriptor {
  uint32_t magic;        // kModuleMagic
  uint32_t abi_version;  // kAbiVersion
  uint32_t term_size;    // sizeof(Term), a cheap layout check
  uint32_t reserved;
  const char* name;      // module name, e.g. "demo_server"
  const char* vsn;       // module version, e.g. "2"
  const char* build_id;  // identifies the build of the sources
  ModuleCallbacks callbacks;
};

}  // namespace relup

extern "C" {
using relup_module_entry_fn = const relup::ModuleDescriptor* (*)();
}
