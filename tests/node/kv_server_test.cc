// The Redis-compatible kv_server (examples/kv_server, release-specs/kv-N.yaml)
// against the real Redis clients from Debian's redis-tools.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "cli_harness.h"

namespace relup::test {
namespace {

// release-specs/kv-N.yaml on any free port, built with this build's modules.
std::string KvTarball(const std::string& dir, int n, const std::string& first_lib_dir = "") {
  std::ifstream in(std::string(RELUP_SOURCE_DIR) + "/release-specs/kv-" + std::to_string(n) +
                   ".yaml");
  std::stringstream text;
  text << in.rdbuf();
  std::string spec = std::regex_replace(text.str(), std::regex("port: 6380"), "port: 0");
  REQUIRE(spec != text.str());
  std::string spec_path = dir + "/kv-" + std::to_string(n) + ".yaml";
  std::ofstream(spec_path) << spec;
  std::string out =
      dir + "/kv-" + std::to_string(n) + (first_lib_dir.empty() ? "" : "-alt") + ".tar.gz";
  std::vector<std::string> args{"build", spec_path, "-o", out, "--quiet"};
  if (!first_lib_dir.empty()) args.insert(args.end(), {"--lib-dir", first_lib_dir});
  args.insert(args.end(), {"--lib-dir", RELUP_MODULE_DIR});
  RunResult r = Relup(args);
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

constexpr int kKeys = 10000;

// key:000000000042 -> v42, the way redis-benchmark names its keys (-r).
std::string Key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key:%012d", i);
  return buf;
}

// Loads kKeys keys with redis-cli --pipe.
void Preload(const std::string& dir, const std::string& port) {
  std::string path = dir + "/preload.resp";
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < kKeys; ++i) {
      std::string k = Key(i), v = "v" + std::to_string(i);
      out << "*3\r\n$3\r\nSET\r\n$" << k.size() << "\r\n"
          << k << "\r\n$" << v.size() << "\r\n"
          << v << "\r\n";
    }
  }
  std::string out = Sh("redis-cli -p " + port + " --pipe < " + path + " 2>&1");
  INFO(out);
  REQUIRE(Contains(out, "errors: 0, replies: " + std::to_string(kKeys)));
}

// Every preloaded key reads back its value (one redis-cli, one GET a line).
void CheckPreloaded(const std::string& dir, const std::string& port) {
  std::string path = dir + "/gets.txt";
  {
    std::ofstream out(path);
    for (int i = 0; i < kKeys; ++i) out << "GET " << Key(i) << "\n";
  }
  std::string got = Sh("redis-cli -p " + port + " < " + path);
  std::string want;
  for (int i = 0; i < kKeys; ++i) want += "v" + std::to_string(i) + "\n";
  CHECK(got.size() == want.size());
  CHECK(got == want);
}

// Two redis-benchmark runs side by side, 25 clients each, for a few
// seconds: GETs over the preloaded keys, SETs over keys of their own.
struct Load {
  std::string reads, writes;
  std::thread a, b;
  explicit Load(const std::string& port) {
    std::string base =
        "redis-benchmark -p " + port + " -c 25 -n 60000 -r " + std::to_string(kKeys) + " ";
    a = std::thread([this, base] { reads = Sh(base + "get key:__rand_int__ 2>&1"); });
    b = std::thread([this, base] { writes = Sh(base + "set other:__rand_int__ xxx 2>&1"); });
  }
  void Wait() {
    a.join();
    b.join();
  }
  // Finished every request, with no error reply and no client disconnected.
  static void Check(const std::string& out) {
    std::string text = out;
    for (char& c : text) c = c == '\r' ? '\n' : c;
    INFO(text.substr(text.size() > 2000 ? text.size() - 2000 : 0));
    CHECK(Contains(text, "60000 requests completed"));
    CHECK_FALSE(Contains(text, "rror"));
    CHECK_FALSE(Contains(text, "closed"));
  }
};

}  // namespace

TEST_CASE("kv_server runs its shards and acceptor under kv_sup: a crashed shard is back at once",
          "[cli][kv]") {
  NodeRoot root;
  std::string dist = root.file("dist");
  std::filesystem::create_directories(dist);
  root.start(KvTarball(dist, 1));
  RunResult tree = Relup({"tree", "--root", root.path()});
  INFO(tree.both());
  CHECK(Contains(tree.out, "└─ kv_sup  <"));
  CHECK(Contains(tree.out, "(one_for_one, at most 10 restarts in 10000 ms)"));
  CHECK(Contains(tree.out, "├─ kv_shard_1  <"));
  CHECK(Contains(tree.out, "└─ kv_acceptor  <"));
  std::string cli = "redis-cli -p " + Port(root.path()) + " ";
  REQUIRE(Relup({"kill", "--root", root.path(), "kv_shard_3"}).exit_code == 0);
  CHECK(WaitUntil([&] { return Contains(root.log(), "child kv_shard_3 restarted as"); }));
  for (int i = 0; i < 32; ++i) {  // every shard answers, the new one too
    std::string k = "key" + std::to_string(i);
    CHECK(Sh(cli + "set " + k + " v") == "OK\n");
    CHECK(Sh(cli + "get " + k) == "v\n");
  }
  CHECK(Contains(Relup({"status", "--root", root.path()}).out,
                 "kv_shard_3 under kv_sup, after it ended with :killed"));
}

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
  std::string raw = Sh("bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + Port(root.path()) +
                       "; printf \"SET k1 v1\\r\\nGET "
                       "k1\\r\\nPING\\r\\n*2\\r\\n\\$3\\r\\nGET\\r\\n\\$2\\r\\nk\" >&3; "
                       "sleep 0.2; printf \"1\\r\\n\" >&3; timeout 2 head -c 28 <&3'");
  CHECK(raw == "+OK\r\n$2\r\nv1\r\n+PONG\r\n$2\r\nv1\r\n");
}

TEST_CASE(
    "kv_server goes to 2, back to 1 and to 2 again under redis-benchmark: no error, no client "
    "dropped, every key kept",
    "[cli][kv]") {
  NodeRoot root;
  std::string dist = root.file("dist");
  std::filesystem::create_directories(dist);
  std::string kv1 = KvTarball(dist, 1), kv2 = KvTarball(dist, 2);
  root.start(kv1);
  std::string port = Port(root.path());
  Preload(dist, port);

  Load load(port);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  RunResult up = Relup({"apply", kv2, "--root", root.path()});
  RunResult down = Relup({"downgrade", "1", "--root", root.path()});
  RunResult again = Relup({"apply", kv2, "--root", root.path()});
  load.Wait();
  INFO(up.both() + down.both() + again.both());
  CHECK(up.exit_code == 0);
  CHECK(down.exit_code == 0);
  CHECK(again.exit_code == 0);
  CHECK(Contains(up.out, "kv_shard 1 -> 2 (update, 8 processes)"));
  Load::Check(load.reads);
  Load::Check(load.writes);
  CheckPreloaded(dist, port);

  std::string cli = "redis-cli -p " + port + " ";
  CHECK(Sh(cli + "set session token ex 100") == "OK\n");
  std::string ttl = Sh(cli + "ttl session");
  CHECK((ttl == "100\n" || ttl == "99\n"));
  CHECK(Sh(cli + "ttl " + Key(1)) == "-1\n");
}

TEST_CASE(
    "a kv_server 2 whose code_change fails on one shard rolls back under the same load: no "
    "error, no client dropped, every key kept",
    "[cli][kv]") {
  NodeRoot root;
  std::string dist = root.file("dist");
  std::filesystem::create_directories(dist);
  std::string kv1 = KvTarball(dist, 1);
  std::string failing = KvTarball(dist, 2, std::string(RELUP_TEST_MODULE_DIR) + "/kv");
  root.start(kv1);
  std::string port = Port(root.path());
  Preload(dist, port);
  REQUIRE(Sh("redis-cli -p " + port + " set kv:fail 1") == "OK\n");

  Load load(port);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  RunResult up = Relup({"apply", failing, "--root", root.path()});
  load.Wait();
  INFO(up.both());
  CHECK(up.exit_code == 4);  // rolled back
  CHECK(Contains(up.both(), "refuses the upgrade (a test)"));
  Load::Check(load.reads);
  Load::Check(load.writes);
  CheckPreloaded(dist, port);
  CHECK(Contains(Relup({"status", "--root", root.path()}).out, "release:   kv 1"));
}

}  // namespace relup::test
