// echo_conn, version 1: one process per connection; echoes each complete
// line back. A partial line waits in `pending` for the rest (so a line that
// straddles an upgrade is still echoed whole).
//
// State: {socket: !socket N, pending: BINARY}
#include "relup/server.h"

using relup::MessageOutcome;
using relup::Result;
using relup::Status;
using relup::Term;

class EchoConn : public relup::Server {
 public:
  Term init(const Term&) {
    return Term::map({{Term::atom("socket"), Term()}, {Term::atom("pending"), Term::binary("")}});
  }

  Result<MessageOutcome> handle_info(const Term& msg, Term& state) {
    if (const Term* sock = msg.find("serve")) {  // from the acceptor: the socket is ours
      state = state.put("socket", *sock);
      if (Status s = ctx().tcp_activate(*sock); !s.ok()) return s;
      return cont();
    }
    if (const Term* data = msg.find("data")) {
      std::string buf = state.at("pending").as_binary() + data->as_binary();
      size_t end = buf.rfind('\n');
      if (end != std::string::npos) {
        if (Status s = ctx().tcp_send(msg.at("tcp"), std::string_view(buf).substr(0, end + 1));
            !s.ok()) {
          return s;
        }
        buf.erase(0, end + 1);
      }
      state = state.put("pending", Term::binary(std::move(buf)));
      if (Status s = ctx().tcp_activate(msg.at("tcp")); !s.ok()) return s;
      return cont();
    }
    if (msg.contains("tcp_closed") || msg.contains("tcp_error")) return stop(Term::atom("normal"));
    return cont();
  }

};

RELUP_MODULE(echo_conn, "1", EchoConn)
