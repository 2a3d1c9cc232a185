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
// not block on another process: use ProcessContext::send_request and handle
// the reply in handle_info. Module state lives in the runtime (the `state`
// Term), never in module globals or thread_locals: those do not survive an
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
inline constexpr uint32_t kAbiVersion = 1;
inline constexpr const char* kModuleEntryPoint = "relup_module_descriptor";

// A process identifier, unique for the life of a node. Printed "<0.42.0>".
struct Pid {
  uint64_t id = 0;
  bool valid() const { return id != 0; }
  std::string to_string() const;
  // Accepts "<0.42.0>" or "42".
  static Result<Pid> parse(std::string_view text);
  friend auto operator<=>(const Pid&, const Pid&) = default;
};

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

// What a callback may ask of the runtime while it runs. Owned by the runtime;
// valid only during the callback it was passed to. Not thread-safe: use it only
// from the callback's own thread.
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

 protected:
  ~ProcessContext() = default;
};

// Result of handle_call.
struct CallOutcome {
  enum class Kind : uint8_t { kReply, kNoReply, kStop };
  Kind kind = Kind::kReply;
  Term reply;   // kReply, and kStop when has_reply
  Term reason;  // kStop
  bool has_reply = false;  // kStop only: also reply before stopping
};

// Result of handle_cast and handle_info.
struct MessageOutcome {
  enum class Kind : uint8_t { kContinue, kStop };
  Kind kind = Kind::kContinue;
  Term reason;  // kStop
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
  // being upgraded from, or the tuple !tuple [:down, "VSN"] on a downgrade.
  Status (*code_change)(const Term& old_vsn, const Term& state, const Term& extra,
                        Term* new_state) noexcept;
  // Called when the process ends normally or by a stop outcome; may be nullptr.
  void (*terminate)(ProcessContext& ctx, const Term& reason, const Term& state) noexcept;
};

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
