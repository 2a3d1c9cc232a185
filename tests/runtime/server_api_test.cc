// The authoring API (relup/server.h): what RELUP_MODULE's descriptor does with
// a module class's callbacks, and the demo modules' behaviour (the seed story),
// called straight through their descriptors with a fake ProcessContext.
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "relup/code_server.h"
#include "relup/server.h"

namespace {

using relup::CallOutcome;
using relup::From;
using relup::MessageOutcome;
using relup::ModuleDescriptor;
using relup::Result;
using relup::Status;
using relup::StatusCode;
using relup::Term;

// Records what a callback asks of the runtime.
class FakeContext final : public relup::ProcessContext {
 public:
  relup::Pid self() const override { return relup::Pid{7}; }
  Status send(relup::Pid, Term message) override { return Record(std::move(message)); }
  Status send(std::string_view, Term message) override { return Record(std::move(message)); }
  Status cast(relup::Pid, Term message) override { return Record(std::move(message)); }
  Status cast(std::string_view, Term message) override { return Record(std::move(message)); }
  Result<relup::RequestId> send_request(relup::Pid, Term) override { return 1; }
  Result<relup::RequestId> send_request(std::string_view, Term) override { return 1; }
  void reply(const From&, Term value) override { replies.push_back(std::move(value)); }
  void log(std::string_view line) override { logs.emplace_back(line); }
  Result<relup::Pid> whereis(std::string_view) override { return None(); }
  // The I/O half of the context is the runtime's (tests/runtime/*_test.cc
  // drive it through a real node); this fake has none of it.
  Result<Term> send_after(int64_t, Term) override { return None(); }
  Result<bool> cancel_timer(const Term&) override { return None(); }
  Result<relup::Spawned> spawn(std::string_view, Term, const relup::SpawnOptions&) override {
    return None();
  }
  Result<Term> monitor(relup::Pid) override { return None(); }
  Result<Term> monitor(std::string_view) override { return None(); }
  Result<bool> demonitor(const Term&) override { return None(); }
  Status link(relup::Pid) override { return None(); }
  Status unlink(relup::Pid) override { return None(); }
  bool trap_exit(bool) override { return false; }
  Status exit(relup::Pid, Term) override { return None(); }
  Result<Term> tcp_listen(std::string_view, uint16_t, const relup::TcpOptions&) override {
    return None();
  }
  Status tcp_accept(const Term&) override { return None(); }
  Result<Term> tcp_connect(std::string_view, uint16_t, const relup::TcpOptions&) override {
    return None();
  }
  Status tcp_send(const Term&, std::string_view) override { return None(); }
  Status tcp_activate(const Term&) override { return None(); }
  Status tcp_close(const Term&) override { return None(); }
  Status tcp_controlling_process(const Term&, relup::Pid) override { return None(); }
  Result<Term> tcp_peername(const Term&) override { return None(); }
  Result<Term> tcp_sockname(const Term&) override { return None(); }
  Status tcp_set_nodelay(const Term&, bool) override { return None(); }
  Term config(std::string_view) override { return Term(); }

  std::vector<Term> sent;
  std::vector<Term> replies;
  std::vector<std::string> logs;

 private:
  static Status None() { return Status::Internal("not in the fake context"); }
  Status Record(Term message) {
    sent.push_back(std::move(message));
    return Status();
  }
};

// A module made of the callbacks of one class, and a process state to run it with.
struct Harness {
  ModuleDescriptor d;
  FakeContext ctx;
  Term state;

  Status init(const Term& args) { return d.callbacks.init(ctx, args, &state); }
  Result<CallOutcome> call(const Term& request) {
    CallOutcome out;
    Status s = d.callbacks.handle_call(ctx, request, From{1, 2}, &state, &out);
    if (!s.ok()) return s;
    return out;
  }
  Result<MessageOutcome> cast(const Term& message) {
    MessageOutcome out;
    Status s = d.callbacks.handle_cast(ctx, message, &state, &out);
    if (!s.ok()) return s;
    return out;
  }
  Result<MessageOutcome> info(const Term& message) {
    MessageOutcome out;
    Status s = d.callbacks.handle_info(ctx, message, &state, &out);
    if (!s.ok()) return s;
    return out;
  }
  Result<Term> code_change(const Term& old_vsn, const Term& extra = Term()) {
    Term next;
    Status s = d.callbacks.code_change(old_vsn, state, extra, &next);
    if (!s.ok()) return s;
    return next;
  }
};

template <class M>
Harness Make() {
  return Harness{relup::detail::MakeDescriptor<M>("test_module", "1", "build-x"), {}, {}};
}

// The message Term itself gives for a bad access, so tests do not depend on its wording.
std::string BadAccessMessage(const Term& t) {
  try {
    (void)t.as_int();
  } catch (const relup::BadTermAccess& e) {
    return e.what();
  }
  FAIL("as_int on " << t << " did not throw");
  return {};
}

class OnlyCall : public relup::Server {
 public:
  CallOutcome handle_call(const Term& request, const From&, Term&) { return reply(request); }
};

class Counter : public relup::Server {
 public:
  Term init(const Term& args) { return Term::map({{Term::atom("n"), args}}); }
  CallOutcome handle_call(const Term& request, const From& from, Term& state) {
    if (request.is_atom("later")) {
      ctx().reply(from, Term::atom("from_ctx"));
      return noreply();
    }
    if (request.is_atom("bye")) return stop(Term::atom("normal"), Term::atom("bye"));
    if (request.is_atom("quit")) return stop(Term::atom("shutdown"));
    if (request.is_atom("self")) return reply(static_cast<int64_t>(ctx().self().id));
    state = state.put("n", state.at("n").as_int() + request.as_int());
    return reply(state.at("n"));
  }
  void handle_cast(const Term& message, Term& state) {
    state = state.put("n", state.at("n").as_int() + message.as_int());
  }
  MessageOutcome handle_info(const Term& message, Term&) {
    if (message.is_atom("stop")) return stop(Term::atom("told_to"));
    log("got " + message.to_yaml());
    return noreply();
  }
  void terminate(const Term&, const Term&) {}
};

// Sets key n of its map state to the request, in place (Term::set).
class Setter : public relup::Server {
 public:
  CallOutcome handle_call(const Term& request, const From&, Term& state) {
    state.set("n", request);
    return reply(Term::atom("ok"));
  }
};

class Failing : public relup::Server {
 public:
  Result<Term> init(const Term& args) {
    if (args.is_atom("refuse")) return error("refused: give me a map");
    return args;
  }
  CallOutcome handle_call(const Term& request, const From&, Term& state) {
    state = Term::atom("half_updated");  // dropped with the process that fails below
    if (request.is_atom("runtime")) throw std::runtime_error("boom");
    if (request.is_atom("bad_access")) return reply(request.as_int());
    if (request.is_atom("int")) throw 42;
    return reply(Term());
  }
  Result<MessageOutcome> handle_cast(const Term&, Term&) { return error("cast refused"); }
  Result<Term> code_change(const Term&, const Term&, const Term&) {
    ctx();  // no process context during code_change
    return Term();
  }
  void terminate(const Term&, const Term&) { throw std::runtime_error("terminate boom"); }
};

}  // namespace

TEST_CASE("RELUP_MODULE's descriptor carries magic, ABI version, term size, name, vsn, build id") {
  ModuleDescriptor d = relup::detail::MakeDescriptor<OnlyCall>("only_call", "3.1", "abc");
  CHECK(d.magic == relup::kModuleMagic);
  CHECK(d.abi_version == relup::kAbiVersion);
  CHECK(d.term_size == sizeof(Term));
  CHECK(std::string(d.name) == "only_call");
  CHECK(std::string(d.vsn) == "3.1");
  CHECK(std::string(d.build_id) == "abc");
}

TEST_CASE("a module without code_change or terminate exports none") {
  ModuleDescriptor only = relup::detail::MakeDescriptor<OnlyCall>("m", "1", "b");
  CHECK(only.callbacks.code_change == nullptr);
  CHECK(only.callbacks.terminate == nullptr);
  ModuleDescriptor failing = relup::detail::MakeDescriptor<Failing>("m", "1", "b");
  CHECK(failing.callbacks.code_change != nullptr);
  CHECK(failing.callbacks.terminate != nullptr);
}

TEST_CASE("without init the start arguments become the state") {
  Harness h = Make<OnlyCall>();
  Term args = Term::map({{Term::atom("name"), "blackode"}});
  REQUIRE(h.init(args).ok());
  CHECK(h.state == args);
}

TEST_CASE("without handle_cast a cast is an error naming the message, like OTP's bad_cast") {
  Harness h = Make<OnlyCall>();
  auto out = h.cast(Term::atom("hello"));
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().code() == StatusCode::kCallbackError);
  CHECK_THAT(out.status().message(),
             Catch::Contains("no handle_cast") && Catch::Contains(":hello"));
}

TEST_CASE("without handle_info a plain message is logged and dropped") {
  Harness h = Make<OnlyCall>();
  h.state = Term(5);
  auto out = h.info(Term::atom("stray"));
  REQUIRE(out.ok());
  CHECK(out->kind == MessageOutcome::Kind::kContinue);
  CHECK(h.state == Term(5));
  REQUIRE(h.ctx.logs.size() == 1);
  CHECK_THAT(h.ctx.logs[0], Catch::Contains(":stray"));
}

TEST_CASE("reply updates the state and answers the caller") {
  Harness h = Make<Counter>();
  REQUIRE(h.init(Term(10)).ok());
  auto out = h.call(Term(5));
  REQUIRE(out.ok());
  CHECK(out->kind == CallOutcome::Kind::kReply);
  CHECK(out->reply == Term(15));
  CHECK(h.state.at("n") == Term(15));
}

TEST_CASE("noreply from handle_call defers the answer to ctx().reply") {
  Harness h = Make<Counter>();
  REQUIRE(h.init(Term(0)).ok());
  auto out = h.call(Term::atom("later"));
  REQUIRE(out.ok());
  CHECK(out->kind == CallOutcome::Kind::kNoReply);
  REQUIRE(h.ctx.replies.size() == 1);
  CHECK(h.ctx.replies[0] == Term::atom("from_ctx"));
}

TEST_CASE("stop with a reply answers and then ends the process, stop alone only ends it") {
  Harness h = Make<Counter>();
  REQUIRE(h.init(Term(0)).ok());
  auto bye = h.call(Term::atom("bye"));
  REQUIRE(bye.ok());
  CHECK(bye->kind == CallOutcome::Kind::kStop);
  CHECK(bye->has_reply);
  CHECK(bye->reply == Term::atom("bye"));
  CHECK(bye->reason == Term::atom("normal"));
  auto quit = h.call(Term::atom("quit"));
  REQUIRE(quit.ok());
  CHECK(quit->kind == CallOutcome::Kind::kStop);
  CHECK_FALSE(quit->has_reply);
  CHECK(quit->reason == Term::atom("shutdown"));
  auto info = h.info(Term::atom("stop"));
  REQUIRE(info.ok());
  CHECK(info->kind == MessageOutcome::Kind::kStop);
  CHECK(info->reason == Term::atom("told_to"));
}

TEST_CASE("a void handle_cast continues with the state it set") {
  Harness h = Make<Counter>();
  REQUIRE(h.init(Term(1)).ok());
  auto out = h.cast(Term(2));
  REQUIRE(out.ok());
  CHECK(out->kind == MessageOutcome::Kind::kContinue);
  CHECK(h.state.at("n") == Term(3));
}

TEST_CASE("ctx() is the calling process's context inside callbacks") {
  Harness h = Make<Counter>();
  REQUIRE(h.init(Term(0)).ok());
  auto self = h.call(Term::atom("self"));
  REQUIRE(self.ok());
  CHECK(self->reply == Term(7));
  REQUIRE(h.info(Term::atom("hi")).ok());
  REQUIRE(h.ctx.logs.size() == 1);
  CHECK(h.ctx.logs[0] == "got :hi");
  CHECK(relup::detail::CurrentProcessContext() == nullptr);  // restored after the callback
}

TEST_CASE("ctx() outside a process callback throws, and code_change has no context") {
  CHECK_THROWS_AS(relup::Server::ctx(), std::logic_error);
  Harness h = Make<Failing>();
  h.state = Term(1);
  // Even when called from inside another process's callback.
  relup::detail::ContextScope scope(&h.ctx);
  auto out = h.code_change("0");
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().code() == StatusCode::kCallbackError);
  CHECK_THAT(out.status().message(), Catch::StartsWith("code_change threw: ctx() used outside"));
  CHECK(relup::detail::CurrentProcessContext() == &h.ctx);
}

TEST_CASE("an error result from init is a CallbackError naming the callback") {
  Harness h = Make<Failing>();
  Status s = h.init(Term::atom("refuse"));
  CHECK(s.code() == StatusCode::kCallbackError);
  CHECK(s.message() == "init: refused: give me a map");
}

TEST_CASE("an error result from handle_cast is reported as is, with the callback name") {
  Harness h = Make<Failing>();
  auto out = h.cast(Term(1));
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().message() == "handle_cast: cast refused");
}

TEST_CASE("exceptions never leave a callback: each becomes a CallbackError with its message") {
  Harness h = Make<Failing>();
  REQUIRE(h.init(Term(1)).ok());

  auto runtime = h.call(Term::atom("runtime"));
  REQUIRE_FALSE(runtime.ok());
  CHECK(runtime.status().code() == StatusCode::kCallbackError);
  CHECK(runtime.status().message() == "handle_call threw: boom");

  auto bad = h.call(Term::atom("bad_access"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kCallbackError);
  CHECK(bad.status().message() == "handle_call: " + BadAccessMessage(Term::atom("bad_access")));

  auto other = h.call(Term::atom("int"));
  REQUIRE_FALSE(other.ok());
  CHECK(other.status().message() == "handle_call threw an unknown exception");
}

TEST_CASE("a callback changes the process's own state in place, without copying it") {
  Harness h = Make<Setter>();
  h.state = Term::map({{Term::atom("n"), Term(1)}, {Term::atom("other"), Term(2)}});
  const Term* slot = h.state.find("n");
  REQUIRE(h.call(Term(7)).ok());
  CHECK(h.state.at("n") == Term(7));
  // The same map body: a copy of the state (O(size) per message) would have
  // moved the slot.
  CHECK(h.state.find("n") == slot);
}

TEST_CASE("a callback's change does not reach copies of the state taken before it") {
  Harness h = Make<Setter>();
  h.state = Term::map({{Term::atom("n"), Term(1)}});
  Term before = h.state;  // e.g. relup state's snapshot, or a code_change trial copy
  REQUIRE(h.call(Term(7)).ok());
  CHECK(h.state.at("n") == Term(7));
  CHECK(before.at("n") == Term(1));
}

TEST_CASE("an exception from terminate is logged, not thrown") {
  Harness h = Make<Failing>();
  h.d.callbacks.terminate(h.ctx, Term::atom("normal"), Term());
  REQUIRE(h.ctx.logs.size() == 1);
  CHECK(h.ctx.logs[0] == "terminate threw: terminate boom");
}

// The seed story, through the real demo modules.
namespace {

struct DemoModules {
  relup::CodeServer code;
  relup::ModuleVersionPtr v1, v2;
  DemoModules() {
    auto r1 = code.load(RELUP_MODULE_DIR "/demo_server-1.so", "demo_server");
    auto r2 = code.load(RELUP_MODULE_DIR "/demo_server-2.so", "demo_server");
    REQUIRE(r1.ok());
    REQUIRE(r2.ok());
    v1 = *r1;
    v2 = *r2;
  }
};

Harness On(const relup::ModuleVersionPtr& v, Term state = Term()) {
  Harness h{ModuleDescriptor{}, {}, std::move(state)};
  h.d.callbacks = v->callbacks();
  return h;
}

Term Employee(std::string_view key, int64_t amount) {
  return Term::map({{Term::atom("name"), "blackode"}, {Term::atom(key), amount}});
}

Term Add(int64_t n) {
  return Term::map({{Term::atom("add"), n}});
}

}  // namespace

TEST_CASE("demo_server 1 answers {add: N} with the seed's sentence and adds to money") {
  DemoModules m;
  Harness h = On(m.v1);
  REQUIRE(h.init(Employee("money", 30000)).ok());
  auto out = h.call(Add(30000));
  REQUIRE(out.ok());
  CHECK(out->reply == Term("30000 added to blackode "));
  CHECK(h.state == Employee("money", 60000));
  REQUIRE(h.cast(Add(5)).ok());
  CHECK(h.state == Employee("money", 60005));
}

TEST_CASE("demo_server 2 upgrades money to salary and answers with the new state") {
  DemoModules m;
  Harness h = On(m.v2, Employee("money", 60000));
  auto changed = h.code_change("1");
  REQUIRE(changed.ok());
  CHECK(*changed == Employee("salary", 60000));
  h.state = *changed;
  auto out = h.call(Add(100000));
  REQUIRE(out.ok());
  CHECK(out->reply == Employee("salary", 160000));
  CHECK(h.state == Employee("salary", 160000));
}

TEST_CASE("demo_server 2 refuses to upgrade from a version it does not know, naming both") {
  DemoModules m;
  Harness h = On(m.v2, Employee("money", 1));
  auto out = h.code_change("3");
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().code() == StatusCode::kCallbackError);
  CHECK_THAT(out.status().message(), Catch::Contains("\"1\"") && Catch::Contains("3"));
}

TEST_CASE(
    "demo_server 2's code_change takes the state back down to 1 (old_vsn {down, \"1\"}), and "
    "demo_server 1, like the seed's, has no code_change") {
  DemoModules m;
  Harness h = On(m.v2, Employee("salary", 160000));
  auto back = h.code_change(relup::DownVsn("1"));
  REQUIRE(back.ok());
  CHECK(*back == Employee("money", 160000));
  auto refused = h.code_change(relup::DownVsn("0"));
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("\"1\""));
  CHECK(m.v1->callbacks().code_change == nullptr);
}

TEST_CASE("a demo request that is not {add: N} gets an error reply, not a crash") {
  DemoModules m;
  Harness h = On(m.v1, Employee("money", 1));
  auto out = h.call(Term::atom("what"));
  REQUIRE(out.ok());
  REQUIRE(out->reply.is_tuple());
  CHECK(out->reply[0] == Term::atom("error"));
  CHECK(h.state == Employee("money", 1));
}

TEST_CASE("thrower module: exceptions inside a loaded library come back as CallbackErrors") {
  relup::CodeServer code;
  auto v = code.load(RELUP_TEST_MODULE_DIR "/thrower-1.so", "thrower");
  REQUIRE(v.ok());
  Harness h = On(*v);

  Status init = h.init(Term::atom("throw"));
  CHECK(init.code() == StatusCode::kCallbackError);
  CHECK(init.message() == "init threw: init failed on purpose");

  REQUIRE(h.init(Term(1)).ok());
  auto call = h.call(Term::atom("throw"));
  REQUIRE_FALSE(call.ok());
  CHECK(call.status().message() == "handle_call threw: handle_call failed on purpose");
  auto bad = h.call(Term::atom("bad_access"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "handle_call: " + BadAccessMessage(Term::atom("bad_access")));
  auto change = h.code_change("0");
  REQUIRE_FALSE(change.ok());
  CHECK(change.status().message() == "code_change threw: code_change failed on purpose");
  auto ok = h.code_change("0", Term::atom("ok"));
  REQUIRE(ok.ok());
  CHECK(*ok == Term(1));
}
