// relup_kv_load: the kv benchmarks' RESP client, one program for both servers
// (relup's examples/kv_server and Debian's redis-server). redis-benchmark
// counts requests per second; this one also says what each request went
// through while a server was upgraded or restarted under it.
//
//   relup_kv_load --port P [--host 127.0.0.1] [--connections 50]
//                 [--duration-ms 5000] [--warmup-ms 500] [--keys 10000]
//
// Opens C connections (TCP_NODELAY); each alternates SET key:%012d vI and
// GET key:%012d on a random key I below --keys, one request in flight per
// connection, driven by one thread through epoll. Every value written for
// key I is "vI" (the way the kv tests preload keys), so a GET must answer
// "vI" or nil: any other answer counts as `wrong`, an error reply as `errors`.
//
// A connection the server closes or resets counts in `dropped`; the client
// reconnects at once (then every millisecond while refused) and sends the
// request it lost again, whose latency runs from its first send. The
// `outage_ms` is the longest time any connection went from first losing its
// connection to its next answer. A request still unanswered at the end, and
// a connection still down, count with their age so far in the max latency,
// the window and the outage: a server that stops answering cannot look
// better than one that answers late.
//
// The window: SIGUSR1 marks its start and SIGUSR2 its end (a driver sends
// them around `relup apply` or a server restart). Requests in flight at any
// time inside it are its requests, reported apart: window_requests,
// window_p99_us, window_max_us; outside_max_us is the max of all the others,
// what the same load sees on this machine without the change.
//
// Prints one JSON line on stdout:
//   {"connections", "seconds", "requests", "per_sec", "p50_us", "p99_us",
//    "max_us", "errors", "wrong", "dropped", "outage_ms", "window_ms",
//    "window_requests", "window_p99_us", "window_max_us", "outside_max_us", "unanswered",
//    "first_problem"}   (unanswered: requests waiting more than 1 s at the end)
// Latencies of requests that complete during the warm-up are not counted;
// errors, wrong answers and drops are, over the whole run. Exit status 0
// when it ran to the end, whatever it saw; 1 if it could not start (no
// connection at first); 2 on bad usage.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int connections = 50;
  int64_t duration_ms = 5000;
  int64_t warmup_ms = 500;
  int64_t keys = 10000;
};

enum class Op { kSet, kGet };

struct Conn {
  int fd = -1;
  Op op = Op::kSet;
  int64_t key = 0;
  int64_t first_sent_ns = 0;  // of the request in flight, kept across reconnects
  int64_t lost_at_ns = 0;     // when it lost its connection; 0 if it has one
  std::string in;             // reply bytes received so far
};

std::atomic<int64_t> g_window_start{0};
std::atomic<int64_t> g_window_end{0};

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe, unlike steady_clock
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void OnSignal(int sig) {
  (sig == SIGUSR1 ? g_window_start : g_window_end).store(NowNs(), std::memory_order_relaxed);
}

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr,
               "relup_kv_load: %s\nusage: relup_kv_load --port P [--host H] [--connections C] "
               "[--duration-ms D] [--warmup-ms W] [--keys K]\n",
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
    } else if (arg == "--keys") {
      o.keys = v;
    } else {
      Usage("unknown option " + arg);
    }
  }
  if (o.port < 1 || o.port > 65535) Usage("--port needs a TCP port (1..65535)");
  if (o.connections < 1 || o.connections > 10000 || o.duration_ms < 1 || o.warmup_ms < 0 ||
      o.keys < 1) {
    Usage(
        "--connections needs 1..10000, --duration-ms and --keys at least 1, --warmup-ms at "
        "least 0");
  }
  sockaddr_in probe{};
  if (inet_pton(AF_INET, o.host.c_str(), &probe.sin_addr) != 1) {
    Usage("--host needs an IPv4 address, not " + o.host);
  }
  return o;
}

// A connected non-blocking socket, or -1 with errno set.
int Connect(const Options& o) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.port));
  inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  // A blocking connect on the one event thread: bound it (Linux applies
  // SO_SNDTIMEO to connect), so a lost SYN stalls the others 50 ms at most.
  timeval limit{0, 50'000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

std::string Key(int64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key:%012lld", static_cast<long long>(i));
  return buf;
}

std::string Value(int64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "v%lld", static_cast<long long>(i));
  return buf;
}

void AppendBulk(std::string& out, std::string_view s) {
  out += '$';
  out += std::to_string(s.size());
  out += "\r\n";
  out += s;
  out += "\r\n";
}

std::string Request(const Conn& c) {
  std::string k = Key(c.key), out;
  if (c.op == Op::kSet) {
    out = "*3\r\n";
    AppendBulk(out, "SET");
    AppendBulk(out, k);
    AppendBulk(out, Value(c.key));
  } else {
    out = "*2\r\n";
    AppendBulk(out, "GET");
    AppendBulk(out, k);
  }
  return out;
}

// One whole reply at the front of `in`: its length, 0 if incomplete, -1 if
// it is not a reply this client can get (a protocol error).
long ReplyLength(std::string_view in) {
  size_t eol = in.find("\r\n");
  if (eol == std::string_view::npos) return in.size() > 4096 ? -1 : 0;
  if (in.empty()) return 0;
  switch (in[0]) {
    case '+':
    case '-':
    case ':':
      return static_cast<long>(eol + 2);
    case '$': {
      long n = std::strtol(std::string(in.substr(1, eol - 1)).c_str(), nullptr, 10);
      if (n < 0) return static_cast<long>(eol + 2);
      if (n > 1 << 20) return -1;
      size_t total = eol + 2 + static_cast<size_t>(n) + 2;
      return in.size() >= total ? static_cast<long>(total) : 0;
    }
    default:
      return -1;
  }
}

double PercentileUs(std::vector<int64_t>& ns, double p) {
  if (ns.empty()) return 0;
  std::sort(ns.begin(), ns.end());
  auto len = static_cast<double>(ns.size());
  auto rank = static_cast<size_t>(std::max(1.0, std::min(len, std::ceil(p / 100.0 * len))));
  return static_cast<double>(ns[rank - 1]) / 1000.0;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

struct Completed {
  int64_t sent_ns, done_ns;
};

class Load {
 public:
  explicit Load(const Options& o) : o_(o), conns_(static_cast<size_t>(o.connections)) {
    ep_ = epoll_create1(0);
    if (ep_ < 0) Fatal(std::string("epoll_create1: ") + std::strerror(errno));
  }

  void Run() {
    for (size_t i = 0; i < conns_.size(); ++i) {
      int fd = Connect(o_);
      if (fd < 0) {
        Fatal("connection " + std::to_string(i) + " to " + o_.host + ":" + std::to_string(o_.port) +
              ": " + std::strerror(errno));
      }
      Attach(i, fd);
    }
    start_ = NowNs();
    measure_from_ = start_ + o_.warmup_ms * 1'000'000;
    measure_to_ = measure_from_ + o_.duration_ms * 1'000'000;
    for (size_t i = 0; i < conns_.size(); ++i) Next(i, start_);

    std::vector<epoll_event> events(conns_.size());
    for (int64_t now = NowNs(); now < measure_to_; now = NowNs()) {
      bool lost = std::any_of(conns_.begin(), conns_.end(), [](const Conn& c) { return c.fd < 0; });
      int timeout_ms = lost ? 1 : static_cast<int>((measure_to_ - now) / 1'000'000) + 1;
      int ready = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), timeout_ms);
      if (ready < 0 && errno != EINTR) Fatal(std::string("epoll_wait: ") + std::strerror(errno));
      for (int k = 0; k < ready; ++k) Readable(events[k].data.u32);
      if (lost) Reconnect();
    }
  }

  void Print() {
    int64_t win_start = g_window_start.load(), win_end = g_window_end.load();
    if (win_start != 0 && win_end == 0) win_end = measure_to_;

    std::vector<int64_t> all, window;
    all.reserve(done_.size());
    int64_t max_ns = 0, window_max_ns = 0, outside_max_ns = 0;
    for (const Completed& c : done_) {
      int64_t lat = c.done_ns - c.sent_ns;
      all.push_back(lat);
      max_ns = std::max(max_ns, lat);
      if (win_start != 0 && c.sent_ns < win_end && c.done_ns > win_start) {
        window.push_back(lat);
        window_max_ns = std::max(window_max_ns, lat);
      } else {
        outside_max_ns = std::max(outside_max_ns, lat);
      }
    }
    // What is still waiting counts with its age so far in the maxima (not
    // in the counts and percentiles: every connection has one in flight).
    int64_t end = NowNs();
    for (const Conn& c : conns_) {
      int64_t age = end - c.first_sent_ns;
      if (c.lost_at_ns != 0) outage_ns_ = std::max(outage_ns_, end - c.lost_at_ns);
      if (age > 1'000'000'000) ++unanswered_;
      max_ns = std::max(max_ns, age);
      if (win_start != 0 && c.first_sent_ns < win_end) window_max_ns = std::max(window_max_ns, age);
    }
    double seconds = static_cast<double>(o_.duration_ms) / 1000.0;
    double window_ms = win_start != 0 ? static_cast<double>(win_end - win_start) / 1e6 : 0.0;
    std::printf(
        "{\"connections\": %d, \"seconds\": %.3f, \"requests\": %zu, \"per_sec\": %.1f, "
        "\"p50_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f, \"errors\": %lld, "
        "\"wrong\": %lld, \"dropped\": %lld, \"outage_ms\": %.3f, \"window_ms\": %.3f, "
        "\"window_requests\": %zu, \"window_p99_us\": %.1f, \"window_max_us\": %.1f, "
        "\"outside_max_us\": %.1f, \"unanswered\": %lld, \"first_problem\": %s}\n",
        o_.connections, seconds, all.size(), static_cast<double>(all.size()) / seconds,
        PercentileUs(all, 50), PercentileUs(all, 99), static_cast<double>(max_ns) / 1000.0,
        static_cast<long long>(errors_), static_cast<long long>(wrong_),
        static_cast<long long>(dropped_), static_cast<double>(outage_ns_) / 1e6, window_ms,
        window.size(), PercentileUs(window, 99), static_cast<double>(window_max_ns) / 1000.0,
        static_cast<double>(outside_max_ns) / 1000.0, static_cast<long long>(unanswered_),
        JsonString(first_problem_).c_str());
  }

 private:
  [[noreturn]] static void Fatal(const std::string& why) {
    std::fprintf(stderr, "relup_kv_load: %s\n", why.c_str());
    std::exit(1);
  }

  void Problem(const std::string& what) {
    if (first_problem_.empty()) first_problem_ = what;
  }

  void Attach(size_t i, int fd) {
    conns_[i].fd = fd;
    conns_[i].in.clear();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      Fatal(std::string("epoll_ctl: ") + std::strerror(errno));
    }
  }

  // The next request of connection i (a fresh one: its latency starts now).
  void Next(size_t i, int64_t now) {
    Conn& c = conns_[i];
    c.op = c.op == Op::kSet ? Op::kGet : Op::kSet;
    c.key = static_cast<int64_t>(rng_() % static_cast<uint64_t>(o_.keys));
    c.first_sent_ns = now;
    Send(i);
  }

  void Send(size_t i) {
    Conn& c = conns_[i];
    std::string req = Request(c);
    ssize_t n = send(c.fd, req.data(), req.size(), MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(req.size())) {
      Lost(i, n < 0 ? std::string("send: ") + std::strerror(errno) : "short send");
    }
  }

  void Lost(size_t i, const std::string& why) {
    Conn& c = conns_[i];
    if (c.fd < 0) return;
    epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    c.fd = -1;
    if (c.lost_at_ns == 0) c.lost_at_ns = NowNs();  // the outage runs from the first loss
    ++dropped_;
    Problem("connection " + std::to_string(i) + " dropped: " + why);
  }

  void Reconnect() {
    for (size_t i = 0; i < conns_.size(); ++i) {
      if (conns_[i].fd >= 0) continue;
      int fd = Connect(o_);
      if (fd < 0) {
        // Refused (or timed out): the server is not back yet. Anything else
        // is worth saying, once.
        if (errno != ECONNREFUSED && errno != EINPROGRESS && errno != EAGAIN) {
          Problem("connection " + std::to_string(i) + ": reconnecting: " + std::strerror(errno));
        }
        continue;
      }
      Attach(i, fd);
      Send(i);  // the request it lost, again
    }
  }

  void Readable(size_t i) {
    Conn& c = conns_[i];
    if (c.fd < 0) return;
    char buf[4096];
    for (;;) {
      ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        Lost(i, n == 0 ? "the server closed it" : std::string("recv: ") + std::strerror(errno));
        return;
      }
      c.in.append(buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof buf) break;
    }
    long len = ReplyLength(c.in);
    if (len < 0) {
      ++errors_;
      Problem("connection " + std::to_string(i) + ": not a RESP reply: " + c.in.substr(0, 80));
      Lost(i, "protocol error");
      --dropped_;  // ours, not the server's doing
      return;
    }
    if (len == 0) return;
    std::string reply = c.in.substr(0, static_cast<size_t>(len));
    if (static_cast<size_t>(len) != c.in.size()) {
      ++errors_;
      Problem("connection " + std::to_string(i) + ": more than one reply to one request");
    }
    c.in.clear();
    Check(i, reply);
    int64_t now = NowNs();
    if (c.lost_at_ns != 0) {
      outage_ns_ = std::max(outage_ns_, now - c.lost_at_ns);
      c.lost_at_ns = 0;
    }
    if (now >= measure_from_ && now < measure_to_) done_.push_back({c.first_sent_ns, now});
    Next(i, now);
  }

  void Check(size_t i, const std::string& reply) {
    const Conn& c = conns_[i];
    std::string what = (c.op == Op::kSet ? "SET " : "GET ") + Key(c.key);
    if (reply[0] == '-') {
      ++errors_;
      Problem("connection " + std::to_string(i) + ": " + what + ": " + reply.substr(0, 120));
      return;
    }
    bool ok;
    if (c.op == Op::kSet) {
      ok = reply == "+OK\r\n";
    } else {
      std::string v = Value(c.key);
      ok = reply == "$-1\r\n" || reply == "$" + std::to_string(v.size()) + "\r\n" + v + "\r\n";
    }
    if (!ok) {
      ++wrong_;
      Problem("connection " + std::to_string(i) + ": " + what + " answered " +
              reply.substr(0, 120));
    }
  }

  const Options& o_;
  std::vector<Conn> conns_;
  int ep_ = -1;
  std::mt19937_64 rng_{12345};
  int64_t start_ = 0, measure_from_ = 0, measure_to_ = 0;
  std::vector<Completed> done_;
  int64_t errors_ = 0, wrong_ = 0, dropped_ = 0, outage_ns_ = 0, unanswered_ = 0;
  std::string first_problem_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, nullptr);
  sigaction(SIGUSR2, &sa, nullptr);
  Load load(o);
  load.Run();
  load.Print();
  return 0;
}
