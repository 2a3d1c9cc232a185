// The kv_server's lists (examples/kv_server/common/list.h), through the
// shard's commands (Store1::Run): Redis's order at both ends, and pushes and
// pops that change the list in place instead of copying it.
#include <catch2/catch.hpp>
#include <deque>
#include <random>
#include <string>

#include "kv_server/common/shard.h"

namespace {

using relup::Term;

Term Op(std::initializer_list<std::string> args) {
  std::vector<Term> out;
  for (const std::string& a : args) out.push_back(Term::binary(a));
  return Term::list(std::move(out));
}

std::vector<std::string> Strings(const Term& list) {
  std::vector<std::string> out;
  for (const Term& e : list.elements()) out.push_back(e.as_binary());
  return out;
}

}  // namespace

TEST_CASE("LPUSH and RPUSH of several values keep Redis's order") {
  Term db = Term::map({});
  CHECK(kv::Store1::Run(db, Op({"RPUSH", "l", "c", "d"})) == Term(2));
  CHECK(kv::Store1::Run(db, Op({"LPUSH", "l", "b", "a"})) == Term(4));
  CHECK(Strings(kv::Store1::Run(db, Op({"LRANGE", "l", "0", "-1"}))) ==
        std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(Strings(kv::Store1::Run(db, Op({"LRANGE", "l", "1", "2"}))) ==
        std::vector<std::string>{"b", "c"});
  CHECK(kv::Store1::Run(db, Op({"LLEN", "l"})) == Term(4));
}

TEST_CASE("popping one end takes the other end's elements in order once that end is empty") {
  Term db = Term::map({});
  (void)kv::Store1::Run(db, Op({"RPUSH", "l", "1", "2", "3", "4", "5"}));
  for (const char* want : {"1", "2", "3", "4", "5"}) {
    CHECK(kv::Store1::Run(db, Op({"LPOP", "l"})) == Term::binary(want));
  }
  CHECK(kv::Store1::Run(db, Op({"LPOP", "l"})) == Term());
  CHECK(db.find(Term::binary("l")) == nullptr);  // an emptied list is no key, as in Redis
  (void)kv::Store1::Run(db, Op({"LPUSH", "l", "1", "2", "3"}));
  for (const char* want : {"1", "2", "3"}) {
    CHECK(kv::Store1::Run(db, Op({"RPOP", "l"})) == Term::binary(want));
  }
}

TEST_CASE("any mix of pushes and pops at both ends reads like a double-ended queue") {
  std::mt19937 rng(7);
  Term db = Term::map({});
  std::deque<std::string> model;
  for (int step = 0; step < 5000; ++step) {
    std::string v = std::to_string(step);
    switch (rng() % 5) {
      case 0:
        (void)kv::Store1::Run(db, Op({"LPUSH", "l", v}));
        model.push_front(v);
        break;
      case 1:
        (void)kv::Store1::Run(db, Op({"RPUSH", "l", v}));
        model.push_back(v);
        break;
      case 2: {
        Term got = kv::Store1::Run(db, Op({"LPOP", "l"}));
        if (model.empty()) {
          REQUIRE(got == Term());
        } else {
          REQUIRE(got == Term::binary(model.front()));
          model.pop_front();
        }
        break;
      }
      case 3: {
        Term got = kv::Store1::Run(db, Op({"RPOP", "l"}));
        if (model.empty()) {
          REQUIRE(got == Term());
        } else {
          REQUIRE(got == Term::binary(model.back()));
          model.pop_back();
        }
        break;
      }
      default: {
        std::vector<std::string> want(model.begin(), model.end());
        REQUIRE(Strings(kv::Store1::Run(db, Op({"LRANGE", "l", "0", "-1"}))) == want);
      }
    }
  }
}

TEST_CASE("a push onto a list nobody else holds changes it in place") {
  Term db = Term::map({});
  (void)kv::Store1::Run(db, Op({"RPUSH", "l", "a"}));
  const Term* front_slot = &(*db.find(Term::binary("l")))[0];
  for (int i = 0; i < 3; ++i) (void)kv::Store1::Run(db, Op({"LPUSH", "l", "x"}));
  for (int i = 0; i < 2; ++i) (void)kv::Store1::Run(db, Op({"LPOP", "l"}));
  // The same !tuple [FRONT, BACK] body: a copy would have moved its slots.
  CHECK(&(*db.find(Term::binary("l")))[0] == front_slot);
  CHECK(kv::Store1::Run(db, Op({"LLEN", "l"})) == Term(2));
}

TEST_CASE("a list taken by a snapshot keeps its value while the shard goes on") {
  Term db = Term::map({});
  (void)kv::Store1::Run(db, Op({"RPUSH", "l", "a", "b"}));
  Term snapshot = db;
  (void)kv::Store1::Run(db, Op({"LPOP", "l"}));
  CHECK(Strings(kv::Store1::Run(snapshot, Op({"LRANGE", "l", "0", "-1"}))) ==
        std::vector<std::string>{"a", "b"});
  CHECK(Strings(kv::Store1::Run(db, Op({"LRANGE", "l", "0", "-1"}))) ==
        std::vector<std::string>{"b"});
}
