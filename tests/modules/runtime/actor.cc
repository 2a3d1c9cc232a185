// rt_actor (versions 1 and 2, the same code): a process the I/O tests drive one ProcessContext call
// at a time. Every handle_call request is one command; its reply is the call's result
// ({ok: VALUE} or {error: MESSAGE}). Every handle_info message is appended to
// the state's `inbox`, so a test reads back exactly what arrived and in what
// order. With `echo: true` in its state it also serves TCP as an echo server:
// it activates each accepted socket and sends each chunk back.
//
// Commands (maps; the key names the call):
//   {send_after: MS, msg: M}      {cancel_timer: REF}
//   {spawn: MODULE, args: A, link: B, monitor: B, name: N}
//   {monitor: PID | NAME}         {demonitor: REF}
//   {link: PID}  {unlink: PID}    {trap_exit: BOOL}   {exit: PID, reason: R}
//   {reply_after: MS}             reply now, ask for a gen_server timeout
//   {stop: R}                     {crash: TEXT}
//   {listen: PORT}  {accept: L}   {connect: PORT}  {send: S, data: BIN}
//   {activate: S}   {close: S}   {send_mb: S, mb: N}    {give: S, to: PID}  {peername: S}
//   {sockname: S} inbox                         the messages so far;   clear: forget them
// init args: {trap_exit: true}, {serve: PORT} (echo server), {spawn_self: true}
// (init spawns another rt_actor the same way, which nests until refused).
#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::MessageOutcome;
using relup::Pid;
using relup::Result;
using relup::Status;
using relup::Term;

namespace {

Term Ok(Term v) {
  return Term::map({{Term::atom("ok"), std::move(v)}});
}
Term Err(const Status& s) {
  return Term::map({{Term::atom("error"), Term(s.message())}});
}
template <class T>
Term Of(const Result<T>& r) {
  if (!r.ok()) return Err(r.status());
  if constexpr (std::is_same_v<T, bool>) {
    return Ok(Term(*r));
  } else if constexpr (std::is_same_v<T, Pid>) {
    return Ok(Term(*r));
  } else {
    return Ok(*r);
  }
}
Term Of(const Status& s) {
  return s.ok() ? Ok(Term::atom("ok")) : Err(s);
}

uint16_t Port(const Term& t) {
  return static_cast<uint16_t>(t.as_int());
}

}  // namespace

class Actor : public relup::Server {
 public:
  Term init(const Term& args) {
    Term state = args.is_map() ? args : Term::map({});
    if (!state.contains("inbox")) state = state.put("inbox", Term::list({}));
    if (const Term* t = state.find("trap_exit"); t && t->as_bool()) ctx().trap_exit(true);
    if (const Term* again = state.find("spawn_self"); again && again->as_bool()) {
      auto child = ctx().spawn("rt_actor", Term::map({{Term::atom("spawn_self"), Term(true)}}), {});
      state = child.ok() ? state.put("child", Term(child->pid))
                         : state.put("spawn_error", Term(child.status().message()));
    }
    if (const Term* port = state.find("serve")) {  // an echo server from the start
      auto l = ctx().tcp_listen("127.0.0.1", Port(*port), {});
      if (!l.ok()) throw std::runtime_error(l.status().message());
      (void)ctx().tcp_accept(*l);
      state = state.put("listener", *l).put("echo", true);
    }
    return state;
  }

  CallOutcome handle_call(const Term& req, const From&, Term& state) {
    auto& c = ctx();
    if (req.is_atom("inbox")) return reply(state.at("inbox"));
    if (req.is_atom("clear")) {
      state = state.put("inbox", Term::list({}));
      return reply(Term::atom("ok"));
    }
    if (req.is_atom("self")) return reply(Term(c.self()));
    if (req.is_atom("vsn")) return reply(RELUP_EXPECTED_MODULE_VSN);
    if (const Term* ms = req.find("send_after")) {
      return reply(Of(c.send_after(ms->as_int(), req.at("msg"))));
    }
    if (const Term* t = req.find("cancel_timer")) return reply(Of(c.cancel_timer(*t)));
    if (const Term* m = req.find("spawn")) {
      relup::SpawnOptions o;
      if (const Term* n = req.find("name")) o.name = n->as_string();
      if (const Term* l = req.find("link")) o.link = l->as_bool();
      if (const Term* mo = req.find("monitor")) o.monitor = mo->as_bool();
      const Term* args = req.find("args");
      auto s = c.spawn(m->as_string(), args ? *args : Term(), o);
      if (!s.ok()) return reply(Err(s.status()));
      return reply(
          Ok(Term::map({{Term::atom("pid"), Term(s->pid)}, {Term::atom("monitor"), s->monitor}})));
    }
    if (const Term* t = req.find("monitor")) {
      return reply(Of(t->is_pid() ? c.monitor(t->as_pid()) : c.monitor(t->as_string())));
    }
    if (const Term* r = req.find("demonitor")) return reply(Of(c.demonitor(*r)));
    if (const Term* p = req.find("link")) return reply(Of(c.link(p->as_pid())));
    if (const Term* p = req.find("unlink")) return reply(Of(c.unlink(p->as_pid())));
    if (const Term* b = req.find("trap_exit")) return reply(Ok(Term(c.trap_exit(b->as_bool()))));
    if (const Term* p = req.find("exit")) return reply(Of(c.exit(p->as_pid(), req.at("reason"))));
    if (const Term* ms = req.find("reply_after")) return reply(Ok(Term::atom("ok")), ms->as_int());
    if (const Term* r = req.find("stop")) return stop(*r, Ok(Term::atom("stopping")));
    if (const Term* text = req.find("crash")) throw std::runtime_error(text->as_string());
    if (const Term* p = req.find("listen")) {
      relup::TcpOptions o;
      return reply(Of(c.tcp_listen("127.0.0.1", Port(*p), o)));
    }
    if (const Term* l = req.find("accept")) return reply(Of(c.tcp_accept(*l)));
    if (const Term* p = req.find("connect")) {
      const Term* host = req.find("host");
      return reply(Of(c.tcp_connect(host ? host->as_string() : "127.0.0.1", Port(*p), {})));
    }
    if (const Term* s = req.find("send")) {
      const Term& d = req.at("data");
      return reply(Of(c.tcp_send(*s, d.is_binary() ? d.as_binary() : d.as_string())));
    }
    if (const Term* s = req.find("activate")) return reply(Of(c.tcp_activate(*s)));
    if (const Term* s = req.find("send_mb")) {  // {send_mb: S, mb: N}: N sends of 1 MiB
      std::string mib(1 << 20, 'z');
      int64_t n = req.at("mb").as_int();
      for (int64_t i = 0; i < n; ++i) {
        Status st = c.tcp_send(*s, mib);
        if (!st.ok()) return reply(Err(st.WithContext("after " + std::to_string(i) + " MiB")));
      }
      return reply(Ok(Term(n)));
    }
    if (const Term* s = req.find("close")) return reply(Of(c.tcp_close(*s)));
    if (const Term* s = req.find("give")) {
      return reply(Of(c.tcp_controlling_process(*s, req.at("to").as_pid())));
    }
    if (const Term* s = req.find("peername")) return reply(Of(c.tcp_peername(*s)));
    if (const Term* s = req.find("sockname")) return reply(Of(c.tcp_sockname(*s)));
    if (const Term* n = req.find("whereis")) return reply(Of(c.whereis(n->as_string())));
    return reply(Err(Status::InvalidArgument("unknown command " + req.to_yaml())));
  }

  // Both versions take any state as it is, up or down, and count the changes.
  Term code_change(const Term&, const Term& state, const Term&) {
    const Term* n = state.find("changes");
    return state.put("changes", Term(n ? n->as_int() + 1 : 1));
  }

  MessageOutcome handle_info(const Term& msg, Term& state) {
    if (state.find("echo") && state.at("echo").as_bool()) {
      if (const Term* s = msg.find("socket"); s && msg.contains("tcp_accepted")) {
        (void)ctx().tcp_activate(*s);
        (void)ctx().tcp_accept(msg.at("tcp_accepted"));
        return cont();
      }
      if (const Term* d = msg.find("data")) {
        (void)ctx().tcp_send(msg.at("tcp"), d->as_binary());
        (void)ctx().tcp_activate(msg.at("tcp"));
        return cont();
      }
    }
    std::vector<Term> inbox = state.at("inbox").elements();
    inbox.push_back(msg);
    state = state.put("inbox", Term::list(std::move(inbox)));
    if (const Term* stop_on = state.find("stop_on"); stop_on && *stop_on == msg) {
      return stop(Term::atom("normal"));
    }
    return cont();
  }
};

RELUP_MODULE(rt_actor, RELUP_EXPECTED_MODULE_VSN, Actor)
