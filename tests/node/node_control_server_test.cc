// ControlServer / ControlClient / the frame format: requests and replies,
// progress frames, bad input that must never take the server down,
// concurrency, and stop with a request in flight.
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "node/control_client.h"
#include "node/control_protocol.h"
#include "node/control_server.h"

namespace relup {
namespace {

namespace fs = std::filesystem;

struct TempRoot {
  TempRoot() {
    char tmpl[] = "/tmp/relup-ctl-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempRoot() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string path;
};

// Echoes {ok: REQUEST}; {cmd: progress, n: N} sends N progress frames first;
// {cmd: throw} throws.
Term EchoHandler(const Term& request, const ControlServer::ProgressFn& progress) {
  const Term* cmd = request.find("cmd");
  if (cmd && cmd->is_atom("throw")) throw std::runtime_error("boom");
  if (cmd && cmd->is_atom("progress")) {
    for (int64_t i = 1; i <= request.at("n").as_int(); ++i) progress(Term(i));
  }
  return control::OkReply(request);
}

std::unique_ptr<ControlServer> Serve(const std::string& root, ControlServer::Handler handler) {
  auto server = ControlServer::Listen(control::SocketPath(root), std::move(handler));
  REQUIRE(server.ok());
  return std::move(server).value();
}

std::unique_ptr<ControlClient> Connect(const std::string& root) {
  auto client = ControlClient::Connect(root);
  REQUIRE(client.ok());
  return std::move(client).value();
}

int RawConnect(const std::string& root) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = control::SocketPath(root);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

TEST_CASE("a request gets the handler's reply after its progress frames", "[control]") {
  TempRoot root;
  auto server = Serve(root.path, EchoHandler);
  auto client = Connect(root.path);
  std::vector<int64_t> seen;
  Term request = MakeRequest("progress", {{Term::atom("n"), Term(3)}});
  auto value = client->request(request, [&](const Term& info) { seen.push_back(info.as_int()); });
  REQUIRE(value.ok());
  CHECK(*value == request);
  CHECK(seen == std::vector<int64_t>{1, 2, 3});
  // The same connection serves the next exchange.
  auto again = client->request(MakeRequest("ping"));
  REQUIRE(again.ok());
  CHECK(again->find("cmd")->is_atom("ping"));
}

TEST_CASE("an error reply comes back as the Status it carries", "[control]") {
  TempRoot root;
  auto server = Serve(root.path, [](const Term&, const ControlServer::ProgressFn&) {
    return control::ErrorReply(Status::NotFound("no process named ghost"));
  });
  auto value = Connect(root.path)->request(MakeRequest("state"));
  REQUIRE_FALSE(value.ok());
  CHECK(value.status() == Status::NotFound("no process named ghost"));
}

TEST_CASE("a handler that throws gets an error reply and the server goes on", "[control]") {
  TempRoot root;
  auto server = Serve(root.path, EchoHandler);
  auto client = Connect(root.path);
  auto thrown = client->request(MakeRequest("throw"));
  REQUIRE_FALSE(thrown.ok());
  CHECK(thrown.status().code() == StatusCode::kInternal);
  CHECK(thrown.status().message().find("boom") != std::string::npos);
  CHECK(client->request(MakeRequest("ping")).ok());
}

TEST_CASE("a frame that is not a term gets an error reply naming the problem", "[control]") {
  TempRoot root;
  auto server = Serve(root.path, EchoHandler);
  int fd = RawConnect(root.path);
  REQUIRE(control::WriteFrame(fd, "{cmd: [unclosed").ok());
  auto reply = control::ReceiveTerm(fd);
  REQUIRE(reply.ok());
  auto value = control::ReplyValue(*reply);
  REQUIRE_FALSE(value.ok());
  CHECK(value.status().message().find("malformed request") != std::string::npos);
  // The connection still works.
  REQUIRE(control::SendTerm(fd, MakeRequest("ping")).ok());
  CHECK(control::ReceiveTerm(fd).ok());
  ::close(fd);
}

TEST_CASE("a frame that holds a handle is refused: a client cannot forge a pid or a ref",
          "[control]") {
  TempRoot root;
  auto server = Serve(root.path, EchoHandler);
  int fd = RawConnect(root.path);
  for (const char* frame : {"{cmd: call, target: x, request: {sock: !socket 1}}",
                            "{cmd: kill, target: !pid <0.1.0>}"}) {
    REQUIRE(control::WriteFrame(fd, frame).ok());
    auto reply = control::ReceiveTerm(fd);
    REQUIRE(reply.ok());
    auto value = control::ReplyValue(*reply);
    REQUIRE_FALSE(value.ok());
    CHECK(value.status().message().find("handles cannot be written as text") != std::string::npos);
  }
  ::close(fd);
}

TEST_CASE("an oversized frame length closes that connection only", "[control]") {
  TempRoot root;
  auto server = Serve(root.path, EchoHandler);
  int fd = RawConnect(root.path);
  const unsigned char huge[4] = {0xff, 0xff, 0xff, 0xff};
  REQUIRE(::write(fd, huge, 4) == 4);
  auto reply = control::ReceiveTerm(fd);
  REQUIRE(reply.ok());
  CHECK_FALSE(control::ReplyValue(*reply).ok());
  CHECK(control::ReadFrame(fd).status().code() == StatusCode::kUnavailable);  // closed
  ::close(fd);
  CHECK(Connect(root.path)->request(MakeRequest("ping")).ok());
}

TEST_CASE("a client that disconnects mid-frame does not disturb the others", "[control]") {
  TempRoot root;
  auto server = Serve(root.path, EchoHandler);
  int fd = RawConnect(root.path);
  const unsigned char partial[6] = {0, 0, 0, 100, '{', 'c'};
  REQUIRE(::write(fd, partial, 6) == 6);
  ::close(fd);
  CHECK(Connect(root.path)->request(MakeRequest("ping")).ok());
}

TEST_CASE("requests on different connections are handled concurrently", "[control]") {
  TempRoot root;
  constexpr int kClients = 4;
  std::mutex mu;
  std::condition_variable cv;
  int inside = 0;
  // Each handler waits until every client's handler is inside: this only
  // completes if the server runs them at the same time.
  auto server = Serve(root.path, [&](const Term& request, const ControlServer::ProgressFn&) {
    std::unique_lock lock(mu);
    ++inside;
    cv.notify_all();
    bool all = cv.wait_for(lock, std::chrono::seconds(10), [&] { return inside == kClients; });
    return all ? control::OkReply(request) : control::ErrorReply(Status::Timeout("not concurrent"));
  });
  std::vector<std::future<Result<Term>>> replies;
  for (int i = 0; i < kClients; ++i) {
    replies.push_back(std::async(std::launch::async, [&root, i] {
      auto client = ControlClient::Connect(root.path);
      if (!client.ok()) return Result<Term>(client.status());
      return (*client)->request(MakeRequest("ping", {{Term::atom("i"), Term(i)}}));
    }));
  }
  for (auto& r : replies) CHECK(r.get().ok());
}

TEST_CASE("stop lets a request in flight send its reply, then removes the socket", "[control]") {
  TempRoot root;
  std::promise<void> entered;
  std::promise<void> release;
  auto release_future = release.get_future().share();
  auto server = Serve(root.path, [&](const Term& request, const ControlServer::ProgressFn&) {
    entered.set_value();
    release_future.wait();
    return control::OkReply(request);
  });
  auto client = Connect(root.path);
  auto pending =
      std::async(std::launch::async, [&] { return client->request(MakeRequest("slow")); });
  entered.get_future().wait();
  auto stopping = std::async(std::launch::async, [&] { server->stop(); });
  release.set_value();
  stopping.get();
  auto reply = pending.get();
  CHECK(reply.ok());
  CHECK_FALSE(fs::exists(control::SocketPath(root.path)));
}

TEST_CASE("the socket is created with mode 0600", "[control]") {
  TempRoot root;
  ::umask(0);  // even with a permissive umask
  auto server = Serve(root.path, EchoHandler);
  ::umask(022);
  struct stat st {};
  REQUIRE(::stat(control::SocketPath(root.path).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("a peer of another user is refused even when the socket's mode would let it in",
          "[control]") {
  // Needs root to act as another user; the 0600 mode alone already keeps
  // other users out, this checks the SO_PEERCRED line behind it.
  if (::geteuid() != 0) {
    WARN("not root: cannot connect as another user, SO_PEERCRED refusal not exercised");
    return;
  }
  TempRoot root;
  auto server = Serve(root.path, EchoHandler);
  REQUIRE(::chmod(control::SocketPath(root.path).c_str(), 0666) == 0);
  REQUIRE(::chmod(root.path.c_str(), 0755) == 0);
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    std::string verdict = "setuid failed";
    if (::setgid(65534) == 0 && ::setuid(65534) == 0) {
      auto client = ControlClient::Connect(root.path);
      if (!client.ok()) {
        verdict = "connect failed: " + client.status().message();
      } else {
        auto reply = (*client)->request(MakeRequest("ping"));
        verdict = reply.ok() ? "accepted" : reply.status().message();
      }
    }
    (void)!::write(fds[1], verdict.data(), verdict.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string verdict;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) verdict.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(verdict.find("permission denied: this node only accepts its own user") !=
        std::string::npos);
  // It names that user, so the refused one knows whom to run relup as.
  CHECK(verdict.find("(uid " + std::to_string(::geteuid())) != std::string::npos);
  CHECK(verdict.find("run relup as that user") != std::string::npos);
}

TEST_CASE("connecting where no node listens says so and how to start one", "[control]") {
  TempRoot root;
  auto none = ControlClient::Connect(root.path);
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == StatusCode::kUnavailable);
  CHECK(none.status().message().find("no relup node is running at " + root.path) !=
        std::string::npos);
  CHECK(none.status().message().find("relup node start --root") != std::string::npos);

  // A socket file left behind by a killed node: bound once, nothing listens.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = control::SocketPath(root.path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  ::close(fd);
  auto stale = ControlClient::Connect(root.path);
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.status().code() == StatusCode::kUnavailable);
  CHECK(stale.status().message().find("stale") != std::string::npos);
}

}  // namespace
}  // namespace relup

// ---------------------------------------------------------------- limits: nothing wedges the
// server

namespace relup {
namespace {

std::unique_ptr<ControlServer> ServeWith(const std::string& root, ControlServer::Limits limits,
                                         std::vector<std::string>* log = nullptr) {
  static std::mutex log_mu;
  auto server = ControlServer::Listen(control::SocketPath(root), EchoHandler, limits,
                                      [log](const std::string& line) {
                                        std::lock_guard lock(log_mu);
                                        if (log) log->push_back(line);
                                      });
  REQUIRE(server.ok());
  return std::move(server).value();
}

// The error of the frame the server sends right after connecting, if any.
std::string Turned(int fd) {
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto frame = control::ReceiveTerm(fd);
  if (!frame.ok()) return "";
  auto v = control::ReplyValue(*frame);
  return v.ok() ? "" : v.status().message();
}

size_t OpenFds() {
  size_t n = 0;
  for (auto& e : fs::directory_iterator("/proc/self/fd")) {
    (void)e;
    ++n;
  }
  return n;
}

bool WaitFor(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

bool SeesEof(int fd) {
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char c;
  return ::recv(fd, &c, 1, 0) == 0;
}

}  // namespace

TEST_CASE("one connection past the limit is told why and closed, and the others are served",
          "[control][limits]") {
  TempRoot root;
  ControlServer::Limits limits;
  limits.max_connections = 4;
  auto server = ServeWith(root.path, limits);
  std::vector<int> fds;
  for (int i = 0; i < 4; ++i) fds.push_back(RawConnect(root.path));
  // The four are accepted (a ping each proves it), the fifth is not.
  for (int fd : fds) {
    REQUIRE(control::SendTerm(fd, MakeRequest("ping")).ok());
    REQUIRE(control::ReceiveTerm(fd).ok());
  }
  int extra = RawConnect(root.path);
  CHECK(Turned(extra).find("already serves 4 control connections (the limit)") !=
        std::string::npos);
  ::close(extra);
  ::close(fds.back());
  fds.pop_back();
  CHECK(WaitFor([&] {
    int fd = RawConnect(root.path);
    bool ok = control::SendTerm(fd, MakeRequest("ping")).ok() && control::ReceiveTerm(fd).ok();
    ::close(fd);
    return ok;
  }));
  for (int fd : fds) ::close(fd);
}

TEST_CASE("frames that would put more bytes in flight than the limit are refused",
          "[control][limits]") {
  TempRoot root;
  ControlServer::Limits limits;
  limits.max_bytes_in_flight = 1 << 20;
  auto server = ServeWith(root.path, limits);
  // Two clients announce 600 KB each and stall after the length.
  auto announce = [&](uint32_t n) {
    int fd = RawConnect(root.path);
    unsigned char h[4] = {static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
                          static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
    REQUIRE(::write(fd, h, 4) == 4);
    return fd;
  };
  int first = announce(600 << 10);
  int second = announce(600 << 10);
  // Whichever the server admitted first holds its reservation; the other is
  // refused and closed.
  std::string why_first = Turned(first);
  std::string why_second = why_first.empty() ? Turned(second) : "";
  std::string why = why_first.empty() ? why_second : why_first;
  CHECK(why.find("past the limit of 1048576") != std::string::npos);
  CHECK(SeesEof(why_first.empty() ? second : first));
  ::close(first);  // the reservations go with the connections
  ::close(second);
  CHECK(WaitFor([&] {
    auto client = ControlClient::Connect(root.path);
    return client.ok() && (*client)->request(MakeRequest("ping")).ok();
  }));
}

TEST_CASE("a connection silent for the idle timeout is closed, even mid-frame",
          "[control][limits]") {
  TempRoot root;
  ControlServer::Limits limits;
  limits.idle_timeout = std::chrono::milliseconds(200);
  auto server = ServeWith(root.path, limits);
  int idle = RawConnect(root.path);
  int stalled = RawConnect(root.path);
  const unsigned char half[6] = {0, 0, 0, 10, '{', 'c'};
  REQUIRE(::write(stalled, half, sizeof half) == 6);
  CHECK(SeesEof(idle));
  CHECK(SeesEof(stalled));
  ::close(idle);
  ::close(stalled);
}

TEST_CASE("a client that never reads its replies cannot hold up stop", "[control][limits]") {
  TempRoot root;
  ControlServer::Limits limits;
  limits.send_timeout = std::chrono::milliseconds(200);
  auto server = ServeWith(root.path, limits);
  int fd = RawConnect(root.path);
  // Requests whose echoes fill the socket's buffers, never read.
  std::string big = "{cmd: echo, pad: " + std::string(1 << 20, 'x') + "}";
  for (int i = 0; i < 8; ++i) {
    if (!control::WriteFrame(fd, big).ok()) break;
  }
  auto t0 = std::chrono::steady_clock::now();
  server->stop();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  ::close(fd);
}

TEST_CASE("a finished connection is reaped at once, without waiting for the next accept",
          "[control][limits]") {
  TempRoot root;
  auto server = ServeWith(root.path, {});
  size_t before = OpenFds();
  std::vector<int> fds;
  for (int i = 0; i < 20; ++i) {
    fds.push_back(RawConnect(root.path));
    REQUIRE(control::SendTerm(fds.back(), MakeRequest("ping")).ok());
    REQUIRE(control::ReceiveTerm(fds.back()).ok());
  }
  for (int fd : fds) ::close(fd);
  CHECK(WaitFor([&] { return OpenFds() == before; }));
}

TEST_CASE("out of file descriptors: the client is told why, and the server serves again after",
          "[control][limits]") {
  TempRoot root;
  std::vector<std::string> log;
  auto server = ServeWith(root.path, {}, &log);
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &old) == 0);
  // Exhaust the descriptors: the accept of the next client fails with EMFILE.
  std::vector<int> hog;
  {
    rlimit low = old;
    low.rlim_cur = OpenFds() + 4;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    for (int fd; (fd = ::open("/dev/null", O_RDONLY)) >= 0;) hog.push_back(fd);
  }
  // The client's own socket needs a descriptor too: give one back for it.
  ::close(hog.back());
  hog.pop_back();
  int fd = RawConnect(root.path);
  // Wait for the server's answer while the descriptors are still exhausted,
  // but read it after: parsing it builds streams, and UBSan's check of a
  // stream's vptr needs a pipe (a false "invalid vptr" when none is left).
  pollfd answered{fd, POLLIN, 0};
  CHECK(::poll(&answered, 1, 2000) == 1);
  for (int h : hog) ::close(h);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &old) == 0);
  std::string why = Turned(fd);
  CHECK(why.find("out of file descriptors") != std::string::npos);
  ::close(fd);
  CHECK(WaitFor([&] {
    auto client = ControlClient::Connect(root.path);
    return client.ok() && (*client)->request(MakeRequest("ping")).ok();
  }));
}

}  // namespace relup

namespace relup {

TEST_CASE(
    "a frame whose body trickles in is dropped after the frame timeout, and small frames "
    "are admitted even when big ones fill the budget",
    "[control][limits]") {
  TempRoot root;
  ControlServer::Limits limits;
  limits.frame_timeout = std::chrono::milliseconds(300);
  limits.max_bytes_in_flight = 1 << 20;
  auto server = ServeWith(root.path, limits);
  // A big frame that stalls holds the whole budget...
  int big = RawConnect(root.path);
  uint32_t n = 1 << 20;
  unsigned char h[4] = {static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
                        static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
  REQUIRE(::write(big, h, 4) == 4);
  REQUIRE(::write(big, "{", 1) == 1);
  // ...and a status-sized request still goes through.
  auto client = ControlClient::Connect(root.path);
  REQUIRE(client.ok());
  CHECK((*client)->request(MakeRequest("ping")).ok());
  // A body sent a byte every 100 ms is cut off after 300 ms in all.
  int trickle = RawConnect(root.path);
  const unsigned char head[4] = {0, 0, 0, 100};
  REQUIRE(::write(trickle, head, 4) == 4);
  auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  for (int i = 0; i < 30 && !closed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    closed = ::send(trickle, "x", 1, MSG_NOSIGNAL) < 0;
  }
  CHECK(closed);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
  CHECK(SeesEof(big));  // the stalled big frame went the same way, freeing the budget
  ::close(big);
  ::close(trickle);
}

}  // namespace relup
