// The README's "Talking to the world" story through the real binary: the echo
// release serves 100 clients, its connection module is upgraded (relup apply)
// and taken back (relup downgrade) while they talk, and not one connection
// or byte is lost. Every live connection process keeps its socket and any
// half-received line through both changes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "cli_harness.h"
#include "loopback_client.h"
#include "relup/term.h"

using namespace relup;
using namespace relup::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// release-specs/echo-N.yaml with the acceptor on port 0 (any free port),
// built with the modules of this build.
std::string EchoTarball(const std::string& dir, int n) {
  std::ifstream in(std::string(RELUP_SOURCE_DIR) + "/release-specs/echo-" + std::to_string(n) +
                   ".yaml");
  std::stringstream text;
  text << in.rdbuf();
  std::string spec = std::regex_replace(text.str(), std::regex("port: 7007"), "port: 0");
  REQUIRE(spec != text.str());
  std::string spec_path = dir + "/echo-" + std::to_string(n) + ".yaml";
  std::ofstream(spec_path) << spec;
  std::string out = dir + "/echo-" + std::to_string(n) + ".tar.gz";
  RunResult r = Relup({"build", spec_path, "-o", out, "--lib-dir", RELUP_MODULE_DIR, "--quiet"});
  INFO(r.both());
  REQUIRE(r.exit_code == 0);
  return out;
}

// One client: sends numbered lines one at a time, some in two halves, and
// checks each echo: "LINE" from echo_conn 1, "N: LINE" from echo_conn 2
// with N counting up from 1 from the upgrade on.
struct Client {
  int id = 0;
  int fd = -1;
  std::atomic<size_t> lines{0};
  std::atomic<int> mode{1};  // the version of the last echo
  std::string modes;         // one char per change of version: "121"
  std::string error;

  bool send_all(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // The next line from the server, without its '\n'; "" and error set on
  // EOF, reset or 10 s of silence.
  bool read_line(std::string& buf, std::string* line) {
    for (;;) {
      if (size_t nl = buf.find('\n'); nl != std::string::npos) {
        *line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        return true;
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0) {
        error = "no echo within 10 s";
        return false;
      }
      char chunk[4096];
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        error = n == 0 ? "the server closed the connection" : "connection reset";
        return false;
      }
      buf.append(chunk, static_cast<size_t>(n));
    }
  }

  void run(const std::atomic<bool>& stop) {
    std::string buf, got;
    int64_t v2_count = 0;
    modes = "1";
    for (int j = 0; !stop; ++j) {
      std::string line = "client " + std::to_string(id) + " line " + std::to_string(j);
      bool ok;
      if (j % 7 == 3) {  // half a line now, the rest a moment later
        ok = send_all(line.substr(0, 5));
        std::this_thread::sleep_for(1ms);
        ok = ok && send_all(line.substr(5) + "\n");
      } else {
        ok = send_all(line + "\n");
      }
      if (!ok) {
        error = "send failed after " + std::to_string(lines) + " lines";
        return;
      }
      if (!read_line(buf, &got)) {
        error += " after " + std::to_string(lines) + " lines";
        return;
      }
      int version = 1;
      if (got != line) {
        std::string expected_tail = ": " + line;
        if (got.size() <= expected_tail.size() ||
            got.compare(got.size() - expected_tail.size(), expected_tail.size(), expected_tail)) {
          error = "sent '" + line + "', got '" + got + "'";
          return;
        }
        int64_t n = std::atoll(got.substr(0, got.size() - expected_tail.size()).c_str());
        if (mode != 2) v2_count = 0;  // the count starts at the upgrade
        if (n != v2_count + 1) {
          error = "line numbers skip: " + std::to_string(v2_count) + " then '" + got + "'";
          return;
        }
        v2_count = n;
        version = 2;
      }
      if (version != mode) modes += static_cast<char>('0' + version);
      mode = version;
      ++lines;
    }
  }
};

}  // namespace

TEST_CASE("the echo server keeps 100 connections and every byte through an upgrade and a downgrade",
          "[cli][node][echo]") {
  NodeRoot root;
  std::string dist = root.file("dist");
  fs::create_directories(dist);
  std::string echo1 = EchoTarball(dist, 1);
  std::string echo2 = EchoTarball(dist, 2);
  root.start(echo1);

  RunResult st = Relup({"state", "--root", root.path(), "echo_acceptor"});
  REQUIRE(st.exit_code == 0);
  auto acceptor = Term::parse(Trimmed(st.out), ParseHandles::kAllow);
  REQUIRE(acceptor.ok());
  int port = static_cast<int>(acceptor->at("port").as_int());
  REQUIRE(port > 0);

  constexpr int kClients = 100;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<Client>());
    clients.back()->id = i;
    clients.back()->fd = ConnectLoopback(port);
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (auto& c : clients) threads.emplace_back([&c, &stop] { c->run(stop); });
  auto all = [&](const std::function<bool(const Client&)>& pred) {
    return WaitUntil(
        [&] {
          for (auto& c : clients) {
            if (!c->error.empty() || !pred(*c)) return false;
          }
          return true;
        },
        30s);
  };

  CHECK(all([](const Client& c) { return c.lines >= 5; }));
  RunResult up = Relup({"apply", "--root", root.path(), echo2});
  INFO(up.both());
  CHECK(up.exit_code == 0);
  CHECK(all([](const Client& c) { return c.mode == 2; }));
  RunResult down = Relup({"downgrade", "--root", root.path(), "1"});
  INFO(down.both());
  CHECK(down.exit_code == 0);
  CHECK(all([](const Client& c) { return c.mode == 1 && c.modes.size() == 3; }));
  stop = true;
  for (auto& t : threads) t.join();

  size_t total = 0;
  for (auto& c : clients) {
    INFO("client " << c->id << ": " << c->error);
    CHECK(c->error.empty());
    CHECK(c->modes == "121");  // v1, then v2 after the apply, then v1 after the downgrade
    total += c->lines;
  }
  INFO("lines echoed: " << total);
  CHECK(total > 100 * 10);

  // All 100 connection processes lived through both changes: the acceptor
  // started exactly 100 (none restarted), and they all run version 1 again.
  RunResult ps = Relup({"ps", "--root", root.path()});
  CHECK(ps.exit_code == 0);
  size_t conns = 0;
  for (size_t at = 0; (at = ps.out.find("echo_conn", at)) != std::string::npos; ++at) ++conns;
  CHECK(conns == kClients);
  st = Relup({"state", "--root", root.path(), "echo_acceptor"});
  CHECK(Term::parse(Trimmed(st.out), ParseHandles::kAllow)->at("accepted") == Term(kClients));

  // A client's close ends its connection process and closes its socket.
  for (auto& c : clients) ::close(c->fd);
  CHECK(WaitUntil([&] {
    return Relup({"ps", "--root", root.path()}).out.find("echo_conn") == std::string::npos;
  }));
}
