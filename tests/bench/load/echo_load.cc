// relup_echo_load: the tcp_echo benchmark's client, one program for both
// servers (relup's examples/echo_server and tests/bench/otp/bench_tcp_echo.erl).
//
//   relup_echo_load --port P [--host 127.0.0.1] [--connections 50]
//                   [--duration-ms 2000] [--warmup-ms 500]
//
// Opens C connections (TCP_NODELAY), then each one sends the line
// "ping 0123456789\n" and waits for exactly that line back before sending it
// again: one round trip in flight per connection. A single thread drives
// every connection through epoll. Round trips that complete during the
// warm-up are not counted; those that complete in the following duration are.
// Prints one JSON line on stdout:
//   {"connections": C, "seconds": S, "round_trips": N, "per_sec": N/S,
//    "p50_us": ..., "p99_us": ..., "min_per_connection": ...,
//    "total_round_trips": ...}
// (total_round_trips counts the warm-up too: every round trip the server
// served while this program ran, for its CPU time per round trip.)
// Exit status 0; 1 (with the reason on stderr) if a connection fails, the
// server sends back anything but the line, or a connection completes no
// round trip during the measured duration; 2 on bad usage.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view kLine = "ping 0123456789\n";

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int connections = 50;
  int64_t duration_ms = 2000;
  int64_t warmup_ms = 500;
};

struct Conn {
  int fd = -1;
  size_t got = 0;  // bytes of the echo received so far
  int64_t sent_at_ns = 0;
  int64_t counted = 0;  // round trips completed in the measured duration
  char buf[64];
};

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

[[noreturn]] void Fail(const std::string& why) {
  std::fprintf(stderr, "relup_echo_load: %s\n", why.c_str());
  std::exit(1);
}

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr,
               "relup_echo_load: %s\nusage: relup_echo_load --port P [--host H] "
               "[--connections C] [--duration-ms D] [--warmup-ms W]\n",
               why.c_str());
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) Usage(arg + " needs a value");
    std::string value = argv[++i];
    char* end = nullptr;
    long long v = std::strtoll(value.c_str(), &end, 10);
    bool number = end != value.c_str() && *end == '\0';
    if (arg == "--host") {
      o.host = value;
    } else if (!number) {
      Usage("bad number for " + arg + ": " + value);
    } else if (arg == "--port") {
      o.port = static_cast<int>(v);
    } else if (arg == "--connections") {
      o.connections = static_cast<int>(v);
    } else if (arg == "--duration-ms") {
      o.duration_ms = v;
    } else if (arg == "--warmup-ms") {
      o.warmup_ms = v;
    } else {
      Usage("unknown option " + arg);
    }
  }
  if (o.port < 1 || o.port > 65535) Usage("--port needs a TCP port (1..65535)");
  if (o.connections < 1 || o.duration_ms < 1 || o.warmup_ms < 0) {
    Usage("--connections and --duration-ms need at least 1, --warmup-ms at least 0");
  }
  return o;
}

int Connect(const Options& o, int index) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1) {
    Usage("--host needs an IPv4 address, not " + o.host);
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) Fail(std::string("socket: ") + std::strerror(errno));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    Fail("connection " + std::to_string(index) + " to " + o.host + ":" + std::to_string(o.port) +
         ": " + std::strerror(errno));
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// The line fits any fresh socket buffer: a short write is an error.
void SendLine(Conn& c, int index) {
  c.got = 0;
  c.sent_at_ns = NowNs();
  ssize_t n = send(c.fd, kLine.data(), kLine.size(), MSG_NOSIGNAL);
  if (n != static_cast<ssize_t>(kLine.size())) {
    Fail("connection " + std::to_string(index) +
         ": send: " + (n < 0 ? std::strerror(errno) : "short write"));
  }
}

double PercentileUs(std::vector<int64_t>& ns, double p) {
  if (ns.empty()) return 0;
  std::sort(ns.begin(), ns.end());
  auto len = static_cast<double>(ns.size());
  auto rank = static_cast<size_t>(std::max(1.0, std::min(len, std::ceil(p / 100.0 * len))));
  return static_cast<double>(ns[rank - 1]) / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  std::vector<Conn> conns(static_cast<size_t>(o.connections));
  int ep = epoll_create1(0);
  if (ep < 0) Fail(std::string("epoll_create1: ") + std::strerror(errno));
  for (int i = 0; i < o.connections; ++i) {
    conns[i].fd = Connect(o, i);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) != 0) {
      Fail(std::string("epoll_ctl: ") + std::strerror(errno));
    }
  }

  const int64_t start = NowNs();
  const int64_t measure_from = start + o.warmup_ms * 1'000'000;
  const int64_t measure_to = measure_from + o.duration_ms * 1'000'000;
  std::vector<int64_t> latencies;
  latencies.reserve(4'000'000);
  int64_t total = 0;
  for (int i = 0; i < o.connections; ++i) SendLine(conns[i], i);

  std::vector<epoll_event> events(static_cast<size_t>(o.connections));
  for (int64_t now = NowNs(); now < measure_to; now = NowNs()) {
    int timeout_ms = static_cast<int>((measure_to - now) / 1'000'000) + 1;
    int ready = epoll_wait(ep, events.data(), o.connections, timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      Fail(std::string("epoll_wait: ") + std::strerror(errno));
    }
    for (int k = 0; k < ready; ++k) {
      int i = static_cast<int>(events[k].data.u32);
      Conn& c = conns[i];
      ssize_t n = recv(c.fd, c.buf + c.got, sizeof c.buf - c.got, 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
      if (n <= 0) {
        Fail("connection " + std::to_string(i) + ": " +
             (n == 0 ? "the server closed it" : std::string("recv: ") + std::strerror(errno)));
      }
      c.got += static_cast<size_t>(n);
      if (c.got < kLine.size()) continue;
      if (c.got > kLine.size() || std::string_view(c.buf, c.got) != kLine) {
        Fail("connection " + std::to_string(i) +
             ": expected the echo of \"ping 0123456789\", got " + std::to_string(c.got) +
             " bytes \"" + std::string(c.buf, c.got) + "\"");
      }
      int64_t done = NowNs();
      ++total;
      if (done >= measure_from && done < measure_to) {
        latencies.push_back(done - c.sent_at_ns);
        ++c.counted;
      }
      SendLine(c, i);
    }
  }

  int64_t min_per_conn = INT64_MAX;
  for (int i = 0; i < o.connections; ++i) {
    min_per_conn = std::min(min_per_conn, conns[i].counted);
    close(conns[i].fd);
  }
  close(ep);
  if (min_per_conn == 0) {
    Fail("a connection completed no round trip in " + std::to_string(o.duration_ms) +
         " ms: the server does not serve every connection");
  }
  double seconds = static_cast<double>(o.duration_ms) / 1000.0;
  auto round_trips = static_cast<int64_t>(latencies.size());
  double p50 = PercentileUs(latencies, 50);
  double p99 = PercentileUs(latencies, 99);
  std::printf(
      "{\"connections\": %d, \"seconds\": %.3f, \"round_trips\": %lld, \"per_sec\": %.1f, "
      "\"p50_us\": %.2f, \"p99_us\": %.2f, \"min_per_connection\": %lld, "
      "\"total_round_trips\": %lld}\n",
      o.connections, seconds, static_cast<long long>(round_trips),
      static_cast<double>(round_trips) / seconds, p50, p99, static_cast<long long>(min_per_conn),
      static_cast<long long>(total));
  return 0;
}
