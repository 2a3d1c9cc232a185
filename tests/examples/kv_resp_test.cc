// The kv_server's RESP2 parser (examples/kv_server/common/resp.h): commands
// as redis-cli and redis-benchmark send them, cut anywhere by TCP, and the
// protocol errors Redis itself answers, without ever allocating for a length
// a client only announced.
#include <catch2/catch.hpp>
#include <string>

#include "kv_server/common/resp.h"

namespace {

using kv::resp::Parse;
using kv::resp::ParseCommand;

const std::string kSet = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";

}  // namespace

TEST_CASE("a RESP array of bulk strings is one command, whatever follows it") {
  auto c = ParseCommand(kSet + "*1\r\n$4\r\nPING\r\n");
  REQUIRE(c.status == Parse::kComplete);
  CHECK(c.args == std::vector<std::string>{"SET", "key", "value"});
  CHECK(c.consumed == kSet.size());
}

TEST_CASE("a command cut anywhere by TCP is incomplete until its last byte arrives") {
  for (size_t cut = 0; cut < kSet.size(); ++cut) {
    INFO("cut at " << cut);
    auto c = ParseCommand(std::string_view(kSet).substr(0, cut));
    CHECK(c.status == Parse::kIncomplete);
    CHECK(c.consumed == 0);
  }
  CHECK(ParseCommand(kSet).status == Parse::kComplete);
}

TEST_CASE("binary values, empty values and CRLF inside a bulk string come through as they are") {
  std::string v("a\r\nb\0c", 6);
  std::string frame = "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$6\r\n" + v + "\r\n";
  auto c = ParseCommand(frame);
  REQUIRE(c.status == Parse::kComplete);
  CHECK(c.args[1].empty());
  CHECK(c.args[2] == v);
}

TEST_CASE("an inline command is split on spaces, as telnet users type it") {
  auto c = ParseCommand("SET  k   v\r\nGET k\r\n");
  REQUIRE(c.status == Parse::kComplete);
  CHECK(c.args == std::vector<std::string>{"SET", "k", "v"});
  CHECK(c.consumed == 12);
  CHECK(ParseCommand("PING").status == Parse::kIncomplete);
  CHECK(ParseCommand("PING\n").args == std::vector<std::string>{"PING"});
}

TEST_CASE("protocol errors get Redis's own error text") {
  CHECK(ParseCommand("*x\r\n").error == "ERR Protocol error: invalid multibulk length");
  CHECK(ParseCommand("*99999999\r\n").error == "ERR Protocol error: invalid multibulk length");
  CHECK(ParseCommand("*1\r\n$-5\r\n").error == "ERR Protocol error: invalid bulk length");
  CHECK(ParseCommand("*1\r\n+OK\r\n").error == "ERR Protocol error: expected '$', got '+'");
  CHECK(ParseCommand("*1\r\n$2\r\nabcd\r\n").error ==
        "ERR Protocol error: bulk string not terminated by CRLF");
  CHECK(ParseCommand(std::string(70 * 1024, 'a')).error ==
        "ERR Protocol error: too big inline request");
}

TEST_CASE("a 1 GB bulk header is refused at once, and a large announced count allocates nothing") {
  CHECK(ParseCommand("*1\r\n$1073741824\r\n").error == "ERR Protocol error: invalid bulk length");
  // A million arguments announced, two sent: it waits, holding nothing.
  auto c = ParseCommand("*1000000\r\n$1\r\na\r\n$1\r\nb\r\n");
  CHECK(c.status == Parse::kIncomplete);
  CHECK(c.args.capacity() == 0);
}

TEST_CASE("empty and null arrays are complete commands with no arguments") {
  auto c = ParseCommand("*0\r\n*-1\r\n");
  REQUIRE(c.status == Parse::kComplete);
  CHECK(c.args.empty());
  CHECK(c.consumed == 4);
}

TEST_CASE("replies are encoded as RESP2") {
  std::string out;
  kv::resp::Simple(out, "OK");
  kv::resp::Error(out, "ERR unknown command 'FOO'");
  kv::resp::Integer(out, -3);
  kv::resp::Bulk(out, "hi");
  kv::resp::Null(out);
  kv::resp::ArrayHeader(out, 2);
  CHECK(out == "+OK\r\n-ERR unknown command 'FOO'\r\n:-3\r\n$2\r\nhi\r\n$-1\r\n*2\r\n");
}
