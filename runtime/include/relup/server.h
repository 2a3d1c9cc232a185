// relup/server.h: the authoring API for server modules.
//
// A server module is a plain class deriving from relup::Server, plus one
// RELUP_MODULE line. The seed's DemoServer reads:
//
//   class DemoServer : public relup::Server {
//    public:
//     Term init(const Term& employee) { return employee; }
//     CallOutcome handle_call(const Term& request, const From&, Term& state) {
//       int64_t value = request.at("add").as_int();
//       state = state.put("money", state.at("money").as_int() + value);
//       return reply(std::to_string(value) + " added to " + state.at("name").as_string() + " ");
//     }
//   };
//   RELUP_MODULE(demo_server, "1", DemoServer)
//
// Every callback is optional; RELUP_MODULE detects which ones the class has,
// and refuses to compile a member named like a callback whose signature is
// none of these (a callback left out by mistake is not silently absent):
//   Term | Result<Term>    init(const Term& args)               default: state = args
//   CallOutcome            handle_call(const Term& request, const From& from, Term& state)
//   MessageOutcome | void  handle_cast(const Term& message, Term& state)
//   MessageOutcome | void  handle_info(const Term& message, Term& state)
//   Term | Result<Term>    code_change(const Term& old_vsn, const Term& state,
//                                      const Term& extra)
//   void                   terminate(const Term& reason, const Term& state)
//   void | Status | Result<T>  config_change(const Term& changed, const Term& added,
//                                            const Term& removed)
// handle_call / handle_cast / handle_info may also return Result<...> of their
// outcome; a void handle_cast / handle_info means "continue".
// Without handle_call, a call ends the process with an error (OTP's bad_call);
// without handle_cast, likewise; without handle_info, a plain message is
// logged and dropped. Without code_change the descriptor has none (a change of
// code then needs no state transform: the builder plans a plain load_module).
//
// code_change runs in the NEWER of the two versions, both ways, as OTP's
// does for its default module type: only the newer version knows both state
// layouts. Version 2's code_change is called
//   - on the upgrade from 1 with old_vsn "1" and version 1's state; it
//     returns version 2's state;
//   - on the downgrade to 1 with old_vsn !tuple [:down, "1"] (DownVsn("1"),
//     IsDownVsn tells it) and version 2's state; it returns version 1's
//     state, and the process then runs version 1.
// So version 1 needs no code_change for a downgrade from 2. A version
// without a down clause can still be upgraded to, but a downgrade (or the
// rollback of a process already on it) is then refused: its processes
// change as one group that a failure restores from snapshots.
//
// Errors: return error("what went wrong and how to fix it") from any callback
// that returns a Result, or throw. RELUP_MODULE's trampolines catch every
// exception (no exception crosses the module boundary) and turn it into a
// Status::CallbackError naming the callback:
//   relup::BadTermAccess   "handle_call: expected int, got string"
//   std::exception         "handle_call threw: <what()>"
//   anything else          "handle_call threw an unknown exception"
// A non-ok status from init/handle_* ends that one process; from code_change
// it rejects the change (the process keeps its old code and state).
//
// State lives in the runtime. RELUP_MODULE makes ONE instance of the class per
// loaded library and may call it from several scheduler threads at once (for
// different processes): the class must be stateless. Module globals,
// statics and thread_locals do not survive an upgrade — keep everything in
// `state`.
//
// Inside init, handle_call, handle_cast, handle_info and terminate, ctx() is
// the calling process's ProcessContext (module_abi.h): send, cast,
// send_request, reply, log, self; timers (send_after, cancel_timer); spawn,
// monitor, link, trap_exit, exit; TCP sockets (tcp_listen, tcp_accept,
// tcp_connect, tcp_send, tcp_activate, ...); config(key), the release's
// configuration for the module. Whatever they start answers
// later as a handle_info message. code_change runs without a process
// context: ctx() throws there (a code change must not start anything; the
// process's timers, sockets, links and monitors are kept as they are, and
// their refs in the state stay valid).
//
// A process that talks to the world, an echo connection
// (examples/echo_server has the whole server):
//   Result<MessageOutcome> handle_info(const Term& msg, Term& state) {
//     if (const Term* data = msg.find("data")) {             // {tcp: S, data: B}
//       if (Status s = ctx().tcp_send(msg.at("tcp"), data->as_binary()); !s.ok()) return s;
//       if (Status s = ctx().tcp_activate(msg.at("tcp")); !s.ok()) return s;  // next chunk
//       return cont();
//     }
//     if (msg.contains("tcp_closed")) return stop(Term::atom("normal"));
//     return cont();
//   }
// The trampolines install the context themselves (detail::ContextScope), so a
// runtime only has to pass it as the callback's argument.
//
// RELUP_MODULE(name, "vsn", Class): `name` is an identifier (demo_server),
// `vsn` a string literal ("1", "2.0.1"). It defines the library's one
// exported symbol, extern "C" relup_module_descriptor. Built with
// relup_add_module(NAME VSN ...), a name or vsn that differs from the CMake
// call fails the build with a message naming both.
#pragma once

#include <concepts>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "relup/module_abi.h"
#include "relup/status.h"
#include "relup/term.h"

namespace relup {

namespace detail {

// The ProcessContext of the callback running on this thread, or nullptr.
// Lives in relup_core (one per program, not per module).
ProcessContext* CurrentProcessContext() noexcept;
// Sets it and returns the previous one.
ProcessContext* ExchangeCurrentProcessContext(ProcessContext* ctx) noexcept;

// Installs a process context for the current thread for its lifetime and
// restores the previous one after (so nesting is harmless).
class ContextScope {
 public:
  explicit ContextScope(ProcessContext* ctx) noexcept : prev_(ExchangeCurrentProcessContext(ctx)) {}
  ~ContextScope() { ExchangeCurrentProcessContext(prev_); }
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  ProcessContext* prev_;
};

// Returned by Server::noreply(): "no reply now" from handle_call, "continue"
// from handle_cast / handle_info (OTP's {:noreply, state}).
struct NoReplyOutcome {
  int64_t timeout_ms = -1;
  operator CallOutcome() const {  // NOLINT: implicit by design
    CallOutcome out;
    out.kind = CallOutcome::Kind::kNoReply;
    out.timeout_ms = timeout_ms;
    return out;
  }
  operator MessageOutcome() const {  // NOLINT
    MessageOutcome out;
    out.timeout_ms = timeout_ms;
    return out;
  }
  // So that a callback returning Result<...> can `return noreply();` too.
  operator Result<CallOutcome>() const { return CallOutcome(*this); }        // NOLINT
  operator Result<MessageOutcome>() const { return MessageOutcome(*this); }  // NOLINT
};

// Returned by Server::stop(reason): usable from any handle_* callback.
struct StopOutcome {
  Term reason;
  operator CallOutcome() const {  // NOLINT
    CallOutcome out;
    out.kind = CallOutcome::Kind::kStop;
    out.reason = reason;
    return out;
  }
  operator MessageOutcome() const {  // NOLINT
    MessageOutcome out;
    out.kind = MessageOutcome::Kind::kStop;
    out.reason = reason;
    return out;
  }
  operator Result<CallOutcome>() const { return CallOutcome(*this); }        // NOLINT
  operator Result<MessageOutcome>() const { return MessageOutcome(*this); }  // NOLINT
};

}  // namespace detail

// Base class of every server module. It holds no data: the helpers are
// static so they read the same from any callback.
class Server {
 public:
  // handle_call: reply `value` to the caller and go on.
  static CallOutcome reply(Term value) {
    CallOutcome out;
    out.kind = CallOutcome::Kind::kReply;
    out.reply = std::move(value);
    return out;
  }
  // handle_call: reply `value`, and if no other message comes within
  // timeout_ms, handle_info gets :timeout (gen_server's {reply, V, S, T}).
  static CallOutcome reply(Term value, int64_t timeout_ms) {
    CallOutcome out = reply(std::move(value));
    out.timeout_ms = timeout_ms;
    return out;
  }
  // handle_call: reply later with ctx().reply(from, v). handle_cast/info: go on.
  static detail::NoReplyOutcome noreply() { return {}; }
  // The same, with gen_server's timeout: :timeout in handle_info after
  // timeout_ms without any other message.
  static detail::NoReplyOutcome noreply(int64_t timeout_ms) { return {timeout_ms}; }
  // handle_cast / handle_info: go on (same as noreply()).
  static MessageOutcome cont() { return MessageOutcome{}; }
  // Any handle_*: end this process normally with `reason` (terminate runs).
  static detail::StopOutcome stop(Term reason) { return {std::move(reason)}; }
  // handle_call: reply `value`, then end this process with `reason`.
  static CallOutcome stop(Term reason, Term value) {
    CallOutcome out;
    out.kind = CallOutcome::Kind::kStop;
    out.reason = std::move(reason);
    out.reply = std::move(value);
    out.has_reply = true;
    return out;
  }
  // An error result for init, code_change or any callback returning a Result.
  // Say what went wrong and what would fix it.
  static Status error(std::string message) { return Status::CallbackError(std::move(message)); }

  // The calling process's context. Throws std::logic_error outside init,
  // handle_call, handle_cast, handle_info and terminate.
  static ProcessContext& ctx() {
    ProcessContext* c = detail::CurrentProcessContext();
    if (c == nullptr) {
      throw std::logic_error(
          "ctx() used outside init/handle_call/handle_cast/handle_info/terminate "
          "(code_change runs without a process)");
    }
    return *c;
  }

  // Shorthand for ctx().log(line).
  static void log(std::string_view line) { ctx().log(line); }
};

namespace detail {

template <class T>
struct IsResult : std::false_type {};
template <class T>
struct IsResult<Result<T>> : std::true_type {};

template <class M>
concept HasInit = requires(M& m, const Term& t) {
  m.init(t);
};
template <class M>
concept HasHandleCall = requires(M& m, const Term& t, const From& f, Term& s) {
  m.handle_call(t, f, s);
};
template <class M>
concept HasHandleCast = requires(M& m, const Term& t, Term& s) {
  m.handle_cast(t, s);
};
template <class M>
concept HasHandleInfo = requires(M& m, const Term& t, Term& s) {
  m.handle_info(t, s);
};
template <class M>
concept HasCodeChange = requires(M& m, const Term& t) {
  m.code_change(t, t, t);
};
template <class M>
concept HasConfigChange = requires(M& m, const Term& t) {
  m.config_change(t, t, t);
};
template <class M>
concept HasTerminate = requires(M& m, const Term& t) {
  m.terminate(t, t);
};

// A member with a callback's name that the Has* concept above does not
// accept is a mistake (a parameter left out, a wrong type): without these,
// the callback would be silently absent, and a code_change missing that way
// turns an upgrade into a state-losing code switch. `&M::name` is well formed
// for exactly one non-template member of that name (an overload set is not
// checked).
#define RELUP_NAMES_MEMBER_(callback) \
  template <class M>                  \
  concept Names_##callback = requires { &M::callback; };
RELUP_NAMES_MEMBER_(init)
RELUP_NAMES_MEMBER_(handle_call)
RELUP_NAMES_MEMBER_(handle_cast)
RELUP_NAMES_MEMBER_(handle_info)
RELUP_NAMES_MEMBER_(code_change)
RELUP_NAMES_MEMBER_(config_change)
RELUP_NAMES_MEMBER_(terminate)
#undef RELUP_NAMES_MEMBER_

template <class M>
constexpr void CheckCallbackSignatures() {
  static_assert(!Names_init<M> || HasInit<M>,
                "init has the wrong signature: write Term init(const Term& args) "
                "(or Result<Term>)");
  static_assert(!Names_handle_call<M> || HasHandleCall<M>,
                "handle_call has the wrong signature: write CallOutcome handle_call(const Term& "
                "request, const From& from, Term& state)");
  static_assert(!Names_handle_cast<M> || HasHandleCast<M>,
                "handle_cast has the wrong signature: write void (or MessageOutcome) "
                "handle_cast(const Term& message, Term& state)");
  static_assert(!Names_handle_info<M> || HasHandleInfo<M>,
                "handle_info has the wrong signature: write void (or MessageOutcome) "
                "handle_info(const Term& message, Term& state)");
  static_assert(!Names_code_change<M> || HasCodeChange<M>,
                "code_change has the wrong signature: write Result<Term> code_change(const "
                "Term& old_vsn, const Term& state, const Term& extra) (without it the module "
                "has no code_change, and an upgrade would switch code with the old state)");
  static_assert(!Names_config_change<M> || HasConfigChange<M>,
                "config_change has the wrong signature: write void (or Status) "
                "config_change(const Term& changed, const Term& added, const Term& removed)");
  static_assert(!Names_terminate<M> || HasTerminate<M>,
                "terminate has the wrong signature: write void terminate(const Term& reason, "
                "const Term& state)");
}

// The one instance of a module class in this library.
template <class M>
M& Instance() {
  static M instance;
  return instance;
}

// Stores a callback's return value (T, Result<T> or something convertible to
// T) into *out, or returns its error.
template <class T, class R>
Status Store(R&& r, T* out) {
  if constexpr (IsResult<std::remove_cvref_t<R>>::value) {
    if (!r.ok()) return r.status();
    *out = T(std::forward<R>(r).value());
  } else {
    *out = T(std::forward<R>(r));
  }
  return Status();
}

// Runs a callback body, turning every exception into a CallbackError that
// names the callback, and prefixing error statuses with it.
template <class F>
Status Guard(const char* callback, F&& body) noexcept {
  try {
    Status s = body();
    return s.ok() ? s : s.WithContext(callback);
  } catch (const BadTermAccess& e) {
    return Status::CallbackError(std::string(callback) + ": " + e.what());
  } catch (const std::exception& e) {
    return Status::CallbackError(std::string(callback) + " threw: " + e.what());
  } catch (...) {
    return Status::CallbackError(std::string(callback) + " threw an unknown exception");
  }
}

template <class M>
Status InitTrampoline(ProcessContext& ctx, const Term& args, Term* state) noexcept {
  ContextScope scope(&ctx);
  return Guard("init", [&]() -> Status {
    if constexpr (HasInit<M>) {
      return Store(Instance<M>().init(args), state);
    } else {
      *state = args;
      return Status();
    }
  });
}

// Callbacks change the process's own state in place: no copy is taken, so
// Term::set / remove / find_mut on a large state cost O(log n), not a copy of
// it (a copy here made every SET of examples/kv_server copy its shard's
// keyspace). A callback that fails ends the process and its state is
// dropped, so a half-changed state is never seen by anyone.
template <class M>
Status HandleCallTrampoline(ProcessContext& ctx, const Term& request, const From& from, Term* state,
                            CallOutcome* out) noexcept {
  ContextScope scope(&ctx);
  return Guard("handle_call", [&]() -> Status {
    if constexpr (HasHandleCall<M>) {
      return Store(Instance<M>().handle_call(request, from, *state), out);
    } else {
      return Status::CallbackError("this module has no handle_call, so it cannot answer " +
                                   request.to_yaml());
    }
  });
}

template <class M, class Body>
Status RunMessageCallback(Body&& body, Term* state, MessageOutcome* out) {
  if constexpr (std::is_void_v<decltype(body(*state))>) {
    body(*state);
    *out = MessageOutcome{};
    return Status();
  } else {
    return Store(body(*state), out);
  }
}

template <class M>
Status HandleCastTrampoline(ProcessContext& ctx, const Term& message, Term* state,
                            MessageOutcome* out) noexcept {
  ContextScope scope(&ctx);
  return Guard("handle_cast", [&]() -> Status {
    if constexpr (HasHandleCast<M>) {
      return RunMessageCallback<M>(
          [&](Term& s) -> decltype(auto) { return Instance<M>().handle_cast(message, s); }, state,
          out);
    } else {
      return Status::CallbackError("this module has no handle_cast, so it cannot handle " +
                                   message.to_yaml());
    }
  });
}

template <class M>
Status HandleInfoTrampoline(ProcessContext& ctx, const Term& message, Term* state,
                            MessageOutcome* out) noexcept {
  ContextScope scope(&ctx);
  return Guard("handle_info", [&]() -> Status {
    if constexpr (HasHandleInfo<M>) {
      return RunMessageCallback<M>(
          [&](Term& s) -> decltype(auto) { return Instance<M>().handle_info(message, s); }, state,
          out);
    } else {
      ctx.log("no handle_info: dropped message " + message.to_yaml());
      *out = MessageOutcome{};
      return Status();
    }
  });
}

template <class M>
Status CodeChangeTrampoline(const Term& old_vsn, const Term& state, const Term& extra,
                            Term* new_state) noexcept {
  ContextScope scope(nullptr);  // no process context during code_change
  return Guard("code_change", [&]() -> Status {
    if constexpr (HasCodeChange<M>) {
      return Store(Instance<M>().code_change(old_vsn, state, extra), new_state);
    } else {
      return Status::Internal("code_change called on a module without one");
    }
  });
}

template <class M>
Status ConfigChangeTrampoline(const Term& changed, const Term& added,
                              const Term& removed) noexcept {
  ContextScope scope(nullptr);  // once per module: no process context
  return Guard("config_change", [&]() -> Status {
    if constexpr (HasConfigChange<M>) {
      using R = decltype(Instance<M>().config_change(changed, added, removed));
      if constexpr (std::is_void_v<R>) {
        Instance<M>().config_change(changed, added, removed);
        return Status();
      } else if constexpr (std::is_same_v<R, Status>) {
        return Instance<M>().config_change(changed, added, removed);
      } else {
        return Instance<M>().config_change(changed, added, removed).status();
      }
    } else {
      return Status::Internal("config_change called on a module without one");
    }
  });
}

template <class M>
void TerminateTrampoline(ProcessContext& ctx, const Term& reason, const Term& state) noexcept {
  ContextScope scope(&ctx);
  Status s = Guard("terminate", [&]() -> Status {
    if constexpr (HasTerminate<M>) Instance<M>().terminate(reason, state);
    return Status();
  });
  if (!s.ok()) {
    try {
      ctx.log(s.message());
    } catch (...) {
      // Nothing left to report to: terminate has no result.
    }
  }
}

// The descriptor RELUP_MODULE exports; also usable directly by tests.
template <class M>
constexpr ModuleDescriptor MakeDescriptor(const char* name, const char* vsn, const char* build_id) {
  static_assert(std::is_base_of_v<Server, M>,
                "a server module class must derive from relup::Server");
  static_assert(std::is_default_constructible_v<M>,
                "a server module class must be default-constructible (it holds no state)");
  CheckCallbackSignatures<M>();
  ModuleDescriptor d{};
  d.magic = kModuleMagic;
  d.abi_version = kAbiVersion;
  d.term_size = sizeof(Term);
  d.reserved = 0;
  d.name = name;
  d.vsn = vsn;
  d.build_id = build_id;
  d.callbacks.init = &InitTrampoline<M>;
  d.callbacks.handle_call = &HandleCallTrampoline<M>;
  d.callbacks.handle_cast = &HandleCastTrampoline<M>;
  d.callbacks.handle_info = &HandleInfoTrampoline<M>;
  d.callbacks.code_change = HasCodeChange<M> ? &CodeChangeTrampoline<M> : nullptr;
  d.callbacks.terminate = HasTerminate<M> ? &TerminateTrampoline<M> : nullptr;
  d.callbacks.config_change = HasConfigChange<M> ? &ConfigChangeTrampoline<M> : nullptr;
  return d;
}

constexpr bool SameText(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

}  // namespace detail
}  // namespace relup

#if defined(RELUP_MODULE_BUILD_ID)
#define RELUP_MODULE_BUILD_ID_ RELUP_MODULE_BUILD_ID
#else
#define RELUP_MODULE_BUILD_ID_ "dev"
#endif

// Under relup_add_module, the module's name and vsn must match the CMake call.
#if defined(RELUP_EXPECTED_MODULE_NAME) && defined(RELUP_EXPECTED_MODULE_VSN)
#define RELUP_MODULE_CHECK_(name_text, vsn)                                           \
  static_assert(::relup::detail::SameText(name_text, RELUP_EXPECTED_MODULE_NAME),     \
                "RELUP_MODULE name \"" name_text                                      \
                "\" differs from relup_add_module NAME \"" RELUP_EXPECTED_MODULE_NAME \
                "\": make them the same");                                            \
  static_assert(::relup::detail::SameText(vsn, RELUP_EXPECTED_MODULE_VSN),            \
                "RELUP_MODULE vsn \"" vsn                                             \
                "\" differs from relup_add_module VSN \"" RELUP_EXPECTED_MODULE_VSN   \
                "\": make them the same");
#else
#define RELUP_MODULE_CHECK_(name_text, vsn)
#endif

// RELUP_MODULE(demo_server, "1", DemoServer): exports the module descriptor.
// Exactly one per shared library.
#define RELUP_MODULE(name, vsn, Class)                                               \
  RELUP_MODULE_CHECK_(#name, vsn)                                                    \
  extern "C" __attribute__((visibility("default"))) const ::relup::ModuleDescriptor* \
  relup_module_descriptor(void) {                                                    \
    static constexpr ::relup::ModuleDescriptor kDescriptor =                         \
        ::relup::detail::MakeDescriptor<Class>(#name, vsn, RELUP_MODULE_BUILD_ID_);  \
    return &kDescriptor;                                                             \
  }
