// rt_pinger: a request/reply loop between two processes, one request in
// flight at a time, entirely through send_request and handle_info.
//
//   cast {ping: PID, rounds: N}   sends {echo: 1} to PID (an rt_echo), and on
//                                 each reply the next {echo: K+1}, N in all
//   info {reply: ID, value: V}    must answer the request in flight (same ID,
//                                 V == K), else the process fails loudly
//   call :get                     -> {done: K, remaining: R, ...}
#include <stdexcept>

#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::Pid;
using relup::Term;

namespace {

Term Int(int64_t v) {
  return Term(static_cast<long long>(v));
}

// Sends round `k` and returns the state that waits for its reply.
Term SendRound(const Term& state, int64_t k) {
  Pid target{static_cast<uint64_t>(state.at("target").as_int())};
  auto id = relup::Server::ctx().send_request(target, Term::map({{Term::atom("echo"), Int(k)}}));
  if (!id.ok()) throw std::runtime_error(id.status().ToString());
  return state.put("pending", Int(*id));
}

}  // namespace

class Pinger : public relup::Server {
 public:
  Term init(const Term&) { return Term::map({{Term::atom("done"), Int(0)}}); }

  CallOutcome handle_call(const Term&, const From&, Term& state) { return reply(state); }

  void handle_cast(const Term& message, Term& state) {
    state = Term::map({{Term::atom("target"), message.at("ping")},
                       {Term::atom("remaining"), message.at("rounds")},
                       {Term::atom("done"), Int(0)}});
    state = SendRound(state, 1);
  }

  void handle_info(const Term& message, Term& state) {
    if (message.at("reply") != state.at("pending")) {
      throw std::runtime_error("reply to an unknown request: " + message.to_yaml());
    }
    int64_t done = state.at("done").as_int() + 1;
    if (message.at("value") != Int(done)) {
      throw std::runtime_error("out-of-order reply " + message.to_yaml());
    }
    int64_t remaining = state.at("remaining").as_int() - 1;
    state = state.put("done", Int(done)).put("remaining", Int(remaining));
    if (remaining > 0) state = SendRound(state, done + 1);
  }
};

RELUP_MODULE(rt_pinger, "1", Pinger)
