// bench_client: the client process of the request_reply benchmark. It keeps
// one request in flight to a random server (send_request, reply handled in
// handle_info), as the OTP client keeps one gen_server:call in flight.
//
//   init {servers: [PID_ID...], recorder: ADDR}   ADDR: a LatencyRecorder
//   cast :go                        sends the first request
//   info {reply: ID, value: V}      records the round trip, sends the next
//                                   one until the recorder's deadline, then
//                                   sets recorder->done
//   info {reply: ID, error: E}      the benchmark fails loudly
#include <stdexcept>

#include "latency_recorder.h"
#include "relup/server.h"

using relup::Pid;
using relup::Term;
using relup::bench::LatencyRecorder;

namespace {

LatencyRecorder* Recorder(const Term& state) {
  return reinterpret_cast<LatencyRecorder*>(static_cast<intptr_t>(state.at("recorder").as_int()));
}

void SendNext(const Term& state, LatencyRecorder* rec) {
  const std::vector<Term>& servers = state.at("servers").elements();
  Pid to{static_cast<uint64_t>(servers[rec->Pick(servers.size())].as_int())};
  rec->sent_at_ns = LatencyRecorder::NowNs();
  auto id = relup::Server::ctx().send_request(to, Term::map({{Term::atom("add"), Term(1)}}));
  if (!id.ok()) throw std::runtime_error("send_request: " + id.status().ToString());
}

}  // namespace

class Client : public relup::Server {
 public:
  void handle_cast(const Term&, Term& state) { SendNext(state, Recorder(state)); }

  void handle_info(const Term& message, Term& state) {
    LatencyRecorder* rec = Recorder(state);
    int64_t now = LatencyRecorder::NowNs();
    if (message.contains("error")) {
      throw std::runtime_error("request failed: " + message.to_yaml());
    }
    rec->latencies_ns.push_back(now - rec->sent_at_ns);
    if (now < rec->deadline_ns) {
      SendNext(state, rec);
    } else {
      rec->done.store(true, std::memory_order_release);
    }
  }
};

RELUP_MODULE(bench_client, "1", Client)
