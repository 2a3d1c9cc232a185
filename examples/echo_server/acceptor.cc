// echo_acceptor: listens on {host, port} (port 0: any free port; the bound
// one is in the state as `port`) and gives each connection its own
// echo_conn process, OTP's acceptor pattern:
//   accept -> spawn echo_conn -> hand it the socket -> tell it -> accept again
// The acceptor is the same in both releases; only echo_conn changes.
#include "relup/server.h"

using relup::MessageOutcome;
using relup::Result;
using relup::Status;
using relup::Term;

class EchoAcceptor : public relup::Server {
 public:
  // args: {host: 127.0.0.1, port: 7007}
  Result<Term> init(const Term& args) {
    const Term* host = args.find("host");
    const Term* port = args.find("port");
    std::string h = host ? host->as_string() : "127.0.0.1";
    int64_t p = port ? port->as_int() : 7007;
    if (p < 0 || p > 65535) return error("port " + std::to_string(p) + " is not a TCP port");
    auto listener = ctx().tcp_listen(h, static_cast<uint16_t>(p), {});
    if (!listener.ok()) return listener.status();
    auto bound = ctx().tcp_sockname(*listener);
    if (!bound.ok()) return bound.status();
    if (Status s = ctx().tcp_accept(*listener); !s.ok()) return s;
    log("echo server listening on " + h + ":" + std::to_string(bound->at("port").as_int()));
    return Term::map({{Term::atom("listener"), *listener},
                      {Term::atom("host"), Term(h)},
                      {Term::atom("port"), bound->at("port")},
                      {Term::atom("accepted"), Term(0)}});
  }

  Result<MessageOutcome> handle_info(const Term& msg, Term& state) {
    if (const Term* sock = msg.find("socket"); sock && msg.contains("tcp_accepted")) {
      // The connection is its own process: a crash there closes only its socket.
      auto conn = ctx().spawn("echo_conn", Term::map({}), {});
      if (conn.ok() && ctx().tcp_controlling_process(*sock, conn->pid).ok()) {
        (void)ctx().send(conn->pid, Term::map({{Term::atom("serve"), *sock}}));
      } else {
        log("could not start a connection process: " +
            (conn.ok() ? std::string("hand-over failed") : conn.status().message()));
        (void)ctx().tcp_close(*sock);
      }
      state = state.put("accepted", state.at("accepted").as_int() + 1);
      if (Status s = ctx().tcp_accept(state.at("listener")); !s.ok()) return s;
      return cont();
    }
    if (msg.contains("tcp_error")) {
      // Out of descriptors, say: wait a little and accept again.
      log("accept failed: " + msg.at("reason").to_yaml() + "; retrying in 100 ms");
      if (auto t = ctx().send_after(100, Term::atom("accept_again")); !t.ok()) return t.status();
      return cont();
    }
    if (msg.is_atom("accept_again")) {
      if (Status s = ctx().tcp_accept(state.at("listener")); !s.ok()) return s;
    }
    return cont();
  }
};

RELUP_MODULE(echo_acceptor, "1", EchoAcceptor)
