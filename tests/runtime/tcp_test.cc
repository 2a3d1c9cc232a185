// TCP sockets owned by processes: listen, accept, connect, send, {active,
// once} reads, hand-over, and what is refused. The test thread is the peer,
// with plain blocking POSIX sockets.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <thread>

#include "actor_util.h"
#include "loopback_client.h"

using namespace relup;
using namespace relup::test;
using namespace std::chrono_literals;

namespace {

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    REQUIRE(n > 0);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Reads until `n` bytes came, EOF, or `timeout`.
std::string ReadN(int fd, size_t n, std::chrono::milliseconds timeout = 5s) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[65536];
    ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

// True when the peer closed (EOF) within the timeout.
bool SeesEof(int fd, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r == 0) return true;
    if (r < 0) return errno == ECONNRESET;
  }
}

// The open descriptors of this process (the node's), as "fd -> target".
std::vector<std::string> OpenFds() {
  std::vector<std::string> out;
  DIR* d = ::opendir("/proc/self/fd");
  REQUIRE(d != nullptr);
  int self = ::dirfd(d);
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name == std::to_string(self)) continue;
    char target[256] = {0};
    ssize_t n = ::readlink(("/proc/self/fd/" + name).c_str(), target, sizeof target - 1);
    out.push_back(name + " -> " + std::string(target, n > 0 ? static_cast<size_t>(n) : 0));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

struct Listening {
  Pid actor;
  Term listener;
  int port;
};

// An actor listening on a free port, with one accept asked for.
Listening Listen(Node& node, Term args = Term::map({})) {
  Pid a = SpawnActor(node, std::move(args));
  Term l = Ok(node, a, Cmd("listen", Term(0)));
  CHECK(l.is_ref(RefKind::kSocket));
  int port = static_cast<int>(Ok(node, a, Cmd("sockname", l)).at("port").as_int());
  CHECK(port > 0);
  Ok(node, a, Cmd("accept", l));
  return {a, l, port};
}

// The socket of the {tcp_accepted: L, socket: S} message at inbox[i].
Term Accepted(Node& node, Pid a, size_t i = 0) {
  auto inbox = WaitInbox(node, a, i + 1);
  REQUIRE(inbox.size() > i);
  REQUIRE(inbox[i].find("tcp_accepted") != nullptr);
  return inbox[i].at("socket");
}

Term Data(const Term& sock, std::string bytes) {
  return Term::map(
      {{Term::atom("tcp"), sock}, {Term::atom("data"), Term::binary(std::move(bytes))}});
}

}  // namespace

TEST_CASE(
    "listen on port 0 binds a free port that sockname tells, and accept hands over a socket") {
  TestNode node({kActor1});
  Listening l = Listen(*node.node);
  int fd = ConnectLoopback(l.port);
  Term sock = Accepted(*node.node, l.actor);
  CHECK(sock.is_ref(RefKind::kSocket));
  CHECK(sock != l.listener);
  Term peer = Ok(*node.node, l.actor, Cmd("peername", sock));
  CHECK(peer.at("ip") == Term("127.0.0.1"));
  CHECK(node->resources(l.actor)->at("sockets").size() == 2);
  ::close(fd);
}

TEST_CASE("{active, once}: data comes one chunk per tcp_activate, and send reaches the peer") {
  TestNode node({kActor1});
  Listening l = Listen(*node.node);
  int fd = ConnectLoopback(l.port);
  Term sock = Accepted(*node.node, l.actor);
  WriteAll(fd, "hello");
  std::this_thread::sleep_for(50ms);
  CHECK(Inbox(*node.node, l.actor).size() == 1);  // not activated: nothing read
  Ok(*node.node, l.actor, Cmd("activate", sock));
  auto inbox = WaitInbox(*node.node, l.actor, 2);
  REQUIRE(inbox.size() == 2);
  CHECK(inbox[1] == Data(sock, "hello"));
  WriteAll(fd, "more");
  std::this_thread::sleep_for(50ms);
  CHECK(Inbox(*node.node, l.actor).size() == 2);  // one chunk per activate
  Ok(*node.node, l.actor, Cmd("activate", sock));
  inbox = WaitInbox(*node.node, l.actor, 3);
  CHECK(inbox.back() == Data(sock, "more"));
  Ok(*node.node, l.actor, Cmd("send", sock, "data", Term::binary("back")));
  CHECK(ReadN(fd, 4) == "back");
  ::close(fd);
}

TEST_CASE("the peer's close is {tcp_closed: S}, and the socket is closed after it") {
  TestNode node({kActor1});
  Listening l = Listen(*node.node);
  int fd = ConnectLoopback(l.port);
  Term sock = Accepted(*node.node, l.actor);
  Ok(*node.node, l.actor, Cmd("activate", sock));
  ::close(fd);
  auto inbox = WaitInbox(*node.node, l.actor, 2);
  REQUIRE(inbox.size() == 2);
  CHECK(inbox[1] == Cmd("tcp_closed", sock));
  CHECK(Contains(Error(*node.node, l.actor, Cmd("send", sock, "data", Term::binary("x"))),
                 "is closed"));
  CHECK(Ok(*node.node, l.actor, Cmd("close", sock)) == Term::atom("ok"));  // closing again: no-op
}

TEST_CASE("sending on a socket the process closed is an error that says so") {
  TestNode node({kActor1});
  Listening l = Listen(*node.node);
  int fd = ConnectLoopback(l.port);
  Term sock = Accepted(*node.node, l.actor);
  Ok(*node.node, l.actor, Cmd("close", sock));
  CHECK(SeesEof(fd));
  CHECK(Contains(Error(*node.node, l.actor, Cmd("send", sock, "data", Term::binary("x"))),
                 "is closed"));
  ::close(fd);
}

TEST_CASE("a socket is refused to a process that does not own it, naming the owner") {
  TestNode node({kActor1});
  Listening l = Listen(*node.node);
  Pid other = SpawnActor(*node.node);
  int fd = ConnectLoopback(l.port);
  Term sock = Accepted(*node.node, l.actor);
  std::string why = Error(*node.node, other, Cmd("send", sock, "data", Term::binary("x")));
  CHECK(Contains(why, "belongs to " + l.actor.to_string()));
  CHECK(Contains(why, "tcp_controlling_process"));
  CHECK(Contains(Error(*node.node, other, Cmd("activate", sock)), "belongs to"));
  CHECK(Contains(Error(*node.node, other,
                       Cmd("send", Term::ref(RefKind::kSocket, 99999), "data", Term::binary("x"))),
                 "not a socket this node opened"));
  ::close(fd);
}

TEST_CASE("controlling_process hands a socket over: its data goes to the new owner") {
  TestNode node({kActor1});
  Listening l = Listen(*node.node);
  Pid worker = SpawnActor(*node.node);
  int fd = ConnectLoopback(l.port);
  Term sock = Accepted(*node.node, l.actor);
  Ok(*node.node, l.actor, Cmd("give", sock, "to", Term(worker)));
  CHECK(Contains(Error(*node.node, l.actor, Cmd("activate", sock)), "belongs to"));
  Ok(*node.node, worker, Cmd("activate", sock));
  WriteAll(fd, "to the worker");
  auto inbox = WaitInbox(*node.node, worker, 1);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0] == Data(sock, "to the worker"));
  // The old owner's end no longer closes it.
  REQUIRE(node->exit(l.actor, Term::atom("shutdown")).ok());
  Ok(*node.node, worker, Cmd("send", sock, "data", Term::binary("still open")));
  CHECK(ReadN(fd, 10) == "still open");
  ::close(fd);
}

TEST_CASE("listening on a port that is taken is refused, naming the address") {
  TestNode node({kActor1});
  Listening l = Listen(*node.node);
  Pid b = SpawnActor(*node.node);
  std::string why = Error(*node.node, b, Cmd("listen", Term(l.port)));
  CHECK(Contains(why, "127.0.0.1:" + std::to_string(l.port)));
  CHECK(Contains(why, "in use"));
}

TEST_CASE("connecting to nothing: {tcp_error: S, reason: :econnrefused}") {
  TestNode node({kActor1});
  Listening l = Listen(*node.node);
  Pid a = SpawnActor(*node.node);
  int free_port = l.port;
  REQUIRE(node->exit(l.actor, Term::atom("shutdown")).ok());  // the port is free again
  Term sock = Ok(*node.node, a, Cmd("connect", Term(free_port)));
  auto inbox = WaitInbox(*node.node, a, 1);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0] == Cmd("tcp_error", sock, "reason", Term::atom("econnrefused")));
  CHECK(Contains(Error(*node.node, a, Yaml("{connect: 80, host: 'not a host'}")),
                 "not an IP address"));
}

TEST_CASE("connect and echo between two processes of one node") {
  TestNode node({kActor1});
  Pid server = SpawnActor(*node.node, Yaml("{serve: 0}"));
  Term listener = node->get_state(server)->at("listener");
  int port =
      static_cast<int>(Ok(*node.node, server, Cmd("sockname", listener)).at("port").as_int());
  Pid client = SpawnActor(*node.node);
  Term sock = Ok(*node.node, client, Cmd("connect", Term(port)));
  auto inbox = WaitInbox(*node.node, client, 1);
  REQUIRE(inbox[0] == Cmd("tcp_connected", sock));
  Ok(*node.node, client, Cmd("send", sock, "data", Term::binary("ping")));
  Ok(*node.node, client, Cmd("activate", sock));
  inbox = WaitInbox(*node.node, client, 2);
  REQUIRE(inbox.size() == 2);
  CHECK(inbox[1] == Data(sock, "ping"));
}

TEST_CASE("data that arrives while the owner is suspended waits, in order, until resume") {
  TestNode node({kActor1});
  Listening l = Listen(*node.node);
  node.load(kActor2);
  int fd = ConnectLoopback(l.port);
  Term sock = Accepted(*node.node, l.actor);
  Ok(*node.node, l.actor, Cmd("activate", sock));
  REQUIRE(node->suspend(l.actor).ok());
  WriteAll(fd, "while suspended");
  CHECK(Eventually([&] { return node->get_status(l.actor)->queue_length == 1; }));
  REQUIRE(node->send(l.actor, Term::atom("after the data")).ok());
  CHECK(Eventually([&] { return node->get_status(l.actor)->queue_length == 2; }));
  REQUIRE(node->change_code(l.actor, "rt_actor", Term("1"), Term(), "2").ok());
  REQUIRE(node->resume(l.actor).ok());
  auto inbox = WaitInbox(*node.node, l.actor, 3);
  REQUIRE(inbox.size() == 3);
  CHECK(inbox[1] == Data(sock, "while suspended"));
  CHECK(inbox[2] == Term::atom("after the data"));
  // The connection lived through the code change.
  Ok(*node.node, l.actor, Cmd("send", sock, "data", Term::binary("v2")));
  CHECK(ReadN(fd, 2) == "v2");
  ::close(fd);
}

TEST_CASE("an owner's crash closes its sockets and nobody else's") {
  TestNode node({kActor1});
  Listening a = Listen(*node.node);
  Listening b = Listen(*node.node);
  int fa = ConnectLoopback(a.port);
  int fb = ConnectLoopback(b.port);
  Term sa = Accepted(*node.node, a.actor);
  Term sb = Accepted(*node.node, b.actor);
  (void)node->call(a.actor, Cmd("crash", Term("connection handler bug")));
  CHECK(SeesEof(fa));
  Ok(*node.node, b.actor, Cmd("send", sb, "data", Term::binary("alive")));
  CHECK(ReadN(fb, 5) == "alive");
  CHECK(Stat(*node.node, "sockets") == 2);  // b's listener and connection
  ::close(fa);
  ::close(fb);
}

TEST_CASE("a peer that sends 100 MB without reading replies: the owner is not flooded") {
  TestNode node({kActor1});
  Listening l = Listen(*node.node, Yaml("{echo: true}"));
  int fd = ConnectLoopback(l.port);
  std::atomic<size_t> sent{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::string chunk(64 << 10, 'x');
    while (!stop && sent < (100u << 20)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) sent += static_cast<size_t>(n);
    }
  });
  // The echo server stops reading once its unsent output passes the high
  // water mark, so the writer stalls on TCP's window well short of 100 MB.
  std::this_thread::sleep_for(1500ms);
  size_t stalled_at = sent;
  std::this_thread::sleep_for(500ms);
  CHECK(sent == stalled_at);
  CHECK(sent < (100u << 20));
  CHECK(node->get_status(l.actor)->queue_length <= 1);
  // Reading the echoes lets it go on: every byte comes back, in order.
  stop = true;
  writer.join();
  std::string back = ReadN(fd, sent, 20s);
  CHECK(back.size() == sent);
  CHECK(back.find_first_not_of('x') == std::string::npos);
  ::close(fd);
}

TEST_CASE("output queued when the owner closes and ends is still sent, then the socket closes") {
  TestNode node({kActor1});
  Listening l = Listen(*node.node);
  int fd = ConnectLoopback(l.port);
  Term sock = Accepted(*node.node, l.actor);
  // 8 MiB to a peer that reads nothing yet: most of it waits in the node.
  CHECK(Ok(*node.node, l.actor, Yaml("{mb: 8}").put("send_mb", sock)) == Term(8));
  Ok(*node.node, l.actor, Cmd("close", sock));
  Do(*node.node, l.actor, Cmd("stop", Term::atom("normal")));
  std::string got = ReadN(fd, 8u << 20, 20s);
  CHECK(got.size() == (8u << 20));
  CHECK(SeesEof(fd));
  ::close(fd);
}

TEST_CASE("tcp_send to a peer that does not read is refused past 16 MiB unsent, queuing nothing") {
  TestNode node({kActor1});
  Listening l = Listen(*node.node);
  int fd = ConnectLoopback(l.port);
  Term sock = Accepted(*node.node, l.actor);
  std::string why = Error(*node.node, l.actor, Yaml("{mb: 64}").put("send_mb", sock));
  CHECK(Contains(why, "still unsent (the peer is not reading)"));
  CHECK(Contains(why, "nothing was queued"));
  // What was accepted arrives whole once the peer reads.
  Ok(*node.node, l.actor, Cmd("close", sock));
  size_t got = 0;
  for (std::string part; !(part = ReadN(fd, 1 << 20, 2s)).empty();) got += part.size();
  CHECK(got % (1u << 20) == 0);
  CHECK(got >= (16u << 20));
  CHECK(got < (20u << 20));
  ::close(fd);
}

TEST_CASE("10,000 connections opened and closed: no file descriptor is leaked") {
  TestNode node({kActor1});
  Listening l = Listen(*node.node, Yaml("{echo: true}"));
  // Warm up once (the loop's own descriptors), then count.
  int fd = ConnectLoopback(l.port);
  WriteAll(fd, "w");
  CHECK(ReadN(fd, 1) == "w");
  ::close(fd);
  REQUIRE(Eventually([&] { return Stat(*node.node, "sockets") == 1; }));
  std::vector<std::string> before = OpenFds();
  for (int i = 0; i < 10000; ++i) {
    int c = ConnectLoopback(l.port);
    if (i % 100 == 0) {  // some of them carry data both ways
      WriteAll(c, "ping");
      REQUIRE(ReadN(c, 4) == "ping");
    }
    ::close(c);
  }
  // Connections the kernel queued may still be accepted (and then closed) a
  // little after the last client closed: wait for the count to settle.
  std::vector<std::string> after;
  CHECK(Eventually(
      [&] {
        after = OpenFds();
        return Stat(*node.node, "sockets") == 1 && after.size() == before.size();
      },
      20s));
  INFO("before: " << Term::list(std::vector<Term>(before.begin(), before.end())).to_yaml());
  INFO("after:  " << Term::list(std::vector<Term>(after.begin(), after.end())).to_yaml());
  CHECK(after.size() == before.size());
}
