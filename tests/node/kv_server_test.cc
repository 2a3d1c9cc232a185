// The Redis-compatible kv_server (examples/kv_server, release-specs/kv-N.yaml)
// against the real Redis clients from Debian's redis-tools.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "cli_harness.h"

namespace relup::test {
namespace {

// release-specs/kv-N.yaml on any free port, built with this build's modules.
std::string KvTarball(const std::string& dir, int n) {
  std::ifstream in(std::string(RELUP_SOURCE_DIR) + "/release-specs/kv-" + std::to_string(n) +
                   ".yaml");
  std::stringstream text;
  text << in.rdbuf();
  std::string spec = std::regex_replace(text.str(), std::regex("port: 6380"), "port: 0");
  REQUIRE(spec != text.str());
  std::string spec_path = dir + "/kv-" + std::to_string(n) + ".yaml";
  std::ofstream(spec_path) << spec;
  std::string out = dir + "/kv-" + std::to_string(n) + ".tar.gz";
  RunResult r = Relup({"build", spec_path, "-o", out, "--lib-dir", RELUP_MODULE_DIR, "--quiet"});
  INFO(r.both());
  REQUIRE(r.exit_code == 0);
  return out;
}

std::string Port(const std::string& root) {
  RunResult r = Relup({"state", "--root", root, "kv_acceptor"});
  REQUIRE(r.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex("port: (\\d+)")));
  return m[1];
}

// Runs a shell command line; its stdout.
std::string Sh(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

}  // namespace

TEST_CASE("redis-cli talks to kv_server 1: strings, counters, lists, errors Redis's way",
          "[cli][kv]") {
  NodeRoot root;
  std::string dist = root.file("dist");
  std::filesystem::create_directories(dist);
  root.start(KvTarball(dist, 1));
  std::string cli = "redis-cli -p " + Port(root.path()) + " ";
  CHECK(Sh(cli + "ping") == "PONG\n");
  CHECK(Sh(cli + "set greeting hello") == "OK\n");
  CHECK(Sh(cli + "get greeting") == "hello\n");
  CHECK(Sh(cli + "set greeting other nx") == "\n");  // nil: NX on an existing key
  CHECK(Sh(cli + "incr visits") == "1\n");
  CHECK(Sh(cli + "incrby visits 41") == "42\n");
  CHECK(Sh(cli + "incr greeting") == "ERR value is not an integer or out of range\n\n");
  CHECK(Sh(cli + "mset a 1 b 2 c 3") == "OK\n");
  CHECK(Sh(cli + "mget a b nothing c") == "1\n2\n\n3\n");
  CHECK(Sh(cli + "rpush l x y z") == "3\n");
  CHECK(Sh(cli + "lpush l w") == "4\n");
  CHECK(Sh(cli + "lrange l 0 -1") == "w\nx\ny\nz\n");
  CHECK(Sh(cli + "lpop l") == "w\n");
  CHECK(Sh(cli + "llen l") == "3\n");
  CHECK(Sh(cli + "get l") ==
        "WRONGTYPE Operation against a key holding the wrong kind of value\n\n");
  CHECK(Sh(cli + "del a b nothing") == "2\n");
  CHECK(Sh(cli + "exists a c") == "1\n");
  CHECK(Sh(cli + "dbsize") == "4\n");  // greeting, visits, c, l
  CHECK(Sh(cli + "get") == "ERR wrong number of arguments for 'get' command\n\n");
  CHECK(Sh(cli + "frobnicate x") ==
        "ERR unknown command 'frobnicate', with args beginning with: 'x' \n\n");
  CHECK(Sh(cli + "flushall") == "OK\n");
  CHECK(Sh(cli + "dbsize") == "0\n");
  // One connection: commands pipelined in one write, and one cut in two
  // writes, answered in order.
  std::string raw = Sh(
      "bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + Port(root.path()) +
      "; printf \"SET k1 v1\\r\\nGET k1\\r\\nPING\\r\\n*2\\r\\n\\$3\\r\\nGET\\r\\n\\$2\\r\\nk\" >&3; "
      "sleep 0.2; printf \"1\\r\\n\" >&3; timeout 2 head -c 28 <&3'");
  CHECK(raw == "+OK\r\n$2\r\nv1\r\n+PONG\r\n$2\r\nv1\r\n");
}

}  // namespace relup::test
