// tcp_echo: round trips through the example line-echo server
// (examples/echo_server), the relup side of tests/bench/otp/bench_tcp_echo.erl.
//
// A fresh node in this process loads echo_acceptor 1 and echo_conn 1 and
// spawns the acceptor on 127.0.0.1, port 0 (its state tells the port it
// bound). The load generator (load/echo_load.cc, a separate executable,
// the same one the OTP side runs) then opens n connections (50 from run.sh),
// each sending one line and waiting for its echo before sending the next, and
// reports what it counted after its warm-up, over its fixed duration.
//   per_sec          completed round trips per second, all connections
//   p50_us, p99_us   one round trip as the client saw it
//   cpu_us_per_round_trip  CPU time of this process (the node: workers, I/O
//                    loop, everything) while the load generator ran / every
//                    round trip it made, warm-up included
#include "accounts.h"
#include "benches.h"

namespace relup::bench {

Result<Figures> TcpEcho(const Config& config) {
  Node node(Node::Options{config.workers, {}, {}});
  for (const char* name : {"echo_acceptor", "echo_conn"}) {
    auto loaded = node.code_server().load(config.example_module(name, "1"), name);
    if (!loaded.ok()) return loaded.status().WithContext("loading the echo server's modules");
  }
  Term args = Term::map({{Term::atom("host"), Term("127.0.0.1")}, {Term::atom("port"), Term(0)}});
  RELUP_ASSIGN_OR_RETURN(Pid acceptor, node.spawn("echo_acceptor", args));
  RELUP_ASSIGN_OR_RETURN(Term state, node.get_state(acceptor));
  int64_t port = state.at("port").as_int();

  std::string load = ShellQuote(config.echo_load_bin) + " --port " + std::to_string(port) +
                     " --connections " + std::to_string(config.n);
  int64_t cpu0 = ProcessCpuNs();
  RELUP_ASSIGN_OR_RETURN(std::string out, RunCommand(load));
  int64_t cpu1 = ProcessCpuNs();
  RELUP_ASSIGN_OR_RETURN(double per_sec, JsonNumber(out, "per_sec"));
  RELUP_ASSIGN_OR_RETURN(double p50, JsonNumber(out, "p50_us"));
  RELUP_ASSIGN_OR_RETURN(double p99, JsonNumber(out, "p99_us"));
  RELUP_ASSIGN_OR_RETURN(double total, JsonNumber(out, "total_round_trips"));
  return Figures{
      {config.n, "per_sec", per_sec, "round trips/s"},
      {config.n, "p50_us", p50, "us"},
      {config.n, "p99_us", p99, "us"},
      {config.n, "cpu_us_per_round_trip", static_cast<double>(cpu1 - cpu0) / 1000.0 / total, "us"},
  };
}

}  // namespace relup::bench
