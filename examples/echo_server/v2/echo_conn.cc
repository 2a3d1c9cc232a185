// echo_conn, version 2: counts the lines of its connection and prefixes each
// echoed line with its number ("3: hello"). The count is new state, so
// code_change adds it to a version 1 connection, which keeps its socket and
// any half-received line.
//
// State: {socket: !socket N, pending: BINARY, lines: N}
#include "relup/server.h"

using relup::MessageOutcome;
using relup::Result;
using relup::Status;
using relup::Term;

class EchoConn : public relup::Server {
 public:
  Term init(const Term&) {
    return Term::map({{Term::atom("socket"), Term()},
                      {Term::atom("pending"), Term::binary("")},
                      {Term::atom("lines"), Term(0)}});
  }

  Result<MessageOutcome> handle_info(const Term& msg, Term& state) {
    if (const Term* sock = msg.find("serve")) {
      state = state.put("socket", *sock);
      if (Status s = ctx().tcp_activate(*sock); !s.ok()) return s;
      return cont();
    }
    if (const Term* data = msg.find("data")) {
      std::string buf = state.at("pending").as_binary() + data->as_binary();
      int64_t lines = state.at("lines").as_int();
      std::string out;
      size_t start = 0;
      for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
        out += std::to_string(++lines) + ": ";
        out.append(buf, start, nl + 1 - start);
      }
      if (!out.empty()) {
        if (Status s = ctx().tcp_send(msg.at("tcp"), out); !s.ok()) return s;
      }
      state = state.put("pending", Term::binary(buf.substr(start))).put("lines", Term(lines));
      if (Status s = ctx().tcp_activate(msg.at("tcp")); !s.ok()) return s;
      return cont();
    }
    if (msg.contains("tcp_closed") || msg.contains("tcp_error")) return stop(Term::atom("normal"));
    return cont();
  }

  // Both ways run this version's code_change (version 1 has none): up from
  // "1" the count starts at 0; down to "1" it is forgotten.
  Result<Term> code_change(const Term& old_vsn, const Term& state, const Term&) {
    if (old_vsn == Term("1")) return state.put("lines", Term(0));
    if (old_vsn == relup::DownVsn("1")) return state.erase("lines");
    return error("echo_conn 2 changes up from \"1\" or down to it, not " + old_vsn.to_yaml());
  }
};

RELUP_MODULE(echo_conn, "2", EchoConn)
