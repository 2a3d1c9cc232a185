// kv_acceptor: listens on {host, port} (port 0: any free port; the bound one
// is in the state as `port`) and gives each connection its own kv_conn
// process, told how many shards there are ({shards: N}, the kv_shard_1 ..
// kv_shard_N pool of the release). The same in every release.
#include "relup/server.h"

using relup::MessageOutcome;
using relup::Result;
using relup::Status;
using relup::Term;

class KvAcceptor : public relup::Server {
 public:
  // args: {host: 127.0.0.1, port: 6380, shards: 8}
  Result<Term> init(const Term& args) {
    const Term* host = args.find("host");
    const Term* port = args.find("port");
    const Term* shards = args.find("shards");
    std::string h = host ? host->as_string() : "127.0.0.1";
    int64_t p = port ? port->as_int() : 6380;
    int64_t n = shards ? shards->as_int() : 8;
    if (p < 0 || p > 65535) return error("port " + std::to_string(p) + " is not a TCP port");
    if (n < 1 || n > 4096) return error("shards must be 1 to 4096, not " + std::to_string(n));
    auto listener = ctx().tcp_listen(h, static_cast<uint16_t>(p), {});
    if (!listener.ok()) return listener.status();
    auto bound = ctx().tcp_sockname(*listener);
    if (!bound.ok()) return bound.status();
    if (Status s = ctx().tcp_accept(*listener); !s.ok()) return s;
    log("kv server listening on " + h + ":" + std::to_string(bound->at("port").as_int()));
    return Term::map({{Term::atom("listener"), *listener},
                      {Term::atom("host"), Term(h)},
                      {Term::atom("port"), bound->at("port")},
                      {Term::atom("shards"), Term(n)},
                      {Term::atom("accepted"), Term(0)}});
  }

  Result<MessageOutcome> handle_info(const Term& msg, Term& state) {
    if (const Term* sock = msg.find("socket"); sock && msg.contains("tcp_accepted")) {
      auto conn = ctx().spawn("kv_conn", Term::map({{Term::atom("shards"), state.at("shards")}}), {});
      if (conn.ok() && ctx().tcp_controlling_process(*sock, conn->pid).ok()) {
        (void)ctx().tcp_set_nodelay(*sock, true);
        (void)ctx().send(conn->pid, Term::map({{Term::atom("serve"), *sock}}));
      } else {
        log("could not start a connection process: " +
            (conn.ok() ? std::string("hand-over failed") : conn.status().message()));
        (void)ctx().tcp_close(*sock);
      }
      state.set("accepted", Term(state.at("accepted").as_int() + 1));
      if (Status s = ctx().tcp_accept(state.at("listener")); !s.ok()) return s;
      return cont();
    }
    if (msg.contains("tcp_error")) {
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

RELUP_MODULE(kv_acceptor, "1", KvAcceptor)
