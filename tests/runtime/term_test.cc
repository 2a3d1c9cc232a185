// relup::Term: values, sharing, order, maps, accessor errors.
#include "relup/term.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <thread>
#include <unordered_set>

#include "relup/module_abi.h"

using relup::BadTermAccess;
using relup::Pid;
using relup::Term;

namespace {

Term SeedState() {
  return Term::map({{Term::atom("name"), Term("blackode")}, {Term::atom("money"), Term(30000)}});
}

}  // namespace

TEST_CASE("a Term is 16 bytes: a type tag and one inline word") {
  STATIC_REQUIRE(sizeof(Term) == 16);
}

TEST_CASE("the default Term is nil and scalars keep their type and value") {
  CHECK(Term().is_nil());
  CHECK(Term(true).as_bool());
  CHECK(Term(42).as_int() == 42);
  CHECK(Term(int64_t{-7}).as_int() == -7);
  CHECK(Term(2.5).as_float() == 2.5);
  CHECK(Term(3).as_float() == 3.0);  // ints read as floats too
  CHECK(Term("hi").as_string() == "hi");
  CHECK(Term(std::string_view("sv")).is_string());
  CHECK(Term::binary("\x01\x02").as_binary() == "\x01\x02");
  CHECK(Term::atom("ok").as_atom() == "ok");
  CHECK(Term::atom("ok").is_atom("ok"));
  CHECK_FALSE(Term::atom("ok").is_atom("error"));
  CHECK_FALSE(Term("ok").is_atom("ok"));
}

TEST_CASE("copies share one body and stay valid after the original is gone") {
  Term copy;
  {
    Term original = Term::list({Term("a"), Term(1)});
    copy = original;
    CHECK(&copy.elements() == &original.elements());  // same body, no deep copy
  }
  CHECK(copy == Term::list({Term("a"), Term(1)}));
}

TEST_CASE("a moved-from Term is nil") {
  Term a("text");
  Term b(std::move(a));
  CHECK(a.is_nil());  // NOLINT(bugprone-use-after-move): part of the contract
  CHECK(b.as_string() == "text");
  Term c;
  c = std::move(b);
  CHECK(b.is_nil());  // NOLINT(bugprone-use-after-move)
  CHECK(c.as_string() == "text");
}

TEST_CASE("self-assignment keeps the value") {
  Term t = Term::list({Term(1)});
  const Term& alias = t;
  t = alias;
  CHECK(t == Term::list({Term(1)}));
}

TEST_CASE("the seed state is a map from atoms to a string and an int") {
  Term s = SeedState();
  REQUIRE(s.is_map());
  CHECK(s.size() == 2);
  CHECK(s.at("name").as_string() == "blackode");
  CHECK(s.at("money").as_int() == 30000);
  CHECK(s.contains("money"));
  CHECK_FALSE(s.contains("salary"));
  CHECK(s.find(Term("name")) == nullptr);  // the string "name" is not the atom name
}

TEST_CASE("map entries are sorted by key and the last duplicate wins") {
  Term m = Term::map(
      {{Term::atom("b"), Term(1)}, {Term::atom("a"), Term(2)}, {Term::atom("b"), Term(3)}});
  REQUIRE(m.size() == 2);
  CHECK(m.entries()[0].first.as_atom() == "a");
  CHECK(m.entries()[1].first.as_atom() == "b");
  CHECK(m.at("b").as_int() == 3);
}

TEST_CASE("put returns a new map and leaves the original unchanged") {
  Term s = SeedState();
  Term richer = s.put("money", Term(60000));
  CHECK(s.at("money").as_int() == 30000);
  CHECK(richer.at("money").as_int() == 60000);
  CHECK(richer.at("name") == s.at("name"));
  Term more = richer.put(Term("note"), Term::atom("vip"));
  CHECK(more.size() == 3);
  CHECK(more.at(Term("note")).is_atom("vip"));
  CHECK(richer.size() == 2);
}

TEST_CASE("erase removes a key and ignores an absent one") {
  Term s = SeedState();
  Term renamed = s.erase("money").put("salary", s.at("money"));
  CHECK(renamed ==
        Term::map({{Term::atom("name"), Term("blackode")}, {Term::atom("salary"), Term(30000)}}));
  CHECK(s.erase("never_interned_atom_xyz") == s);
  CHECK(s.erase(Term(1)) == s);
}

TEST_CASE("large maps find, put and erase every key") {
  Term m = Term::map({});
  for (int i = 0; i < 200; i += 2) m = m.put(Term(i), Term(i * 10));
  for (int i = 199; i >= 0; --i) {
    const Term* v = m.find(Term(i));
    if (i % 2 == 0) {
      REQUIRE(v != nullptr);
      CHECK(v->as_int() == i * 10);
    } else {
      CHECK(v == nullptr);
    }
  }
  for (int i = 0; i < 200; i += 4) m = m.erase(Term(i));
  CHECK(m.size() == 50);
  CHECK(std::is_sorted(m.entries().begin(), m.entries().end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; }));
}

TEST_CASE("accessors throw BadTermAccess naming the expected and actual types") {
  Term s = SeedState();
  CHECK_THROWS_MATCHES(Term("x").as_int(), BadTermAccess,
                       Catch::Matchers::Message("expected int, got string x"));
  CHECK_THROWS_MATCHES(Term(1).entries(), BadTermAccess,
                       Catch::Matchers::Message("expected map, got int 1"));
  CHECK_THROWS_MATCHES(s.at("salary"), BadTermAccess,
                       Catch::Matchers::Message("key :salary not found in map "
                                                "{money: 30000, name: blackode}"));
  CHECK_THROWS_MATCHES(Term::tuple({Term(1)})[1], BadTermAccess,
                       Catch::Matchers::Message("index 1 out of range for tuple of size 1"));
  CHECK_THROWS_AS(Term().size(), BadTermAccess);
  CHECK_THROWS_AS(Term(1).put("a", Term(2)), BadTermAccess);
  CHECK(Term(1).find("a") == nullptr);  // find never throws
}

TEST_CASE("equality is exact: an int never equals a float") {
  CHECK(Term(1) != Term(1.0));
  CHECK(Term(1.0) == Term(1.0));
  CHECK(Term("a") != Term::atom("a"));
  CHECK(Term("a") != Term::binary("a"));
  CHECK(Term::tuple({Term(1)}) != Term::list({Term(1)}));
  double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(Term(nan) == Term(nan));  // so that .nan reads back equal
}

TEST_CASE(
    "the order sorts by type: nil, bool, number, atom, ref, pid, string, binary, tuple, list, "
    "map") {
  using relup::RefKind;
  std::vector<Term> ascending = {Term(),
                                 Term(false),
                                 Term(true),
                                 Term(-1.5),
                                 Term(0),
                                 Term(0.5),
                                 Term::atom("a"),
                                 Term::atom("b"),
                                 Term::ref(RefKind::kRef, 9),
                                 Term::ref(RefKind::kTimer, 1),
                                 Term::ref(RefKind::kTimer, 2),
                                 Term::ref(RefKind::kMonitor, 1),
                                 Term::ref(RefKind::kSocket, 1),
                                 Term(Pid{1}),
                                 Term(Pid{2}),
                                 Term(""),
                                 Term("a"),
                                 Term::binary(""),
                                 Term::binary("a"),
                                 Term::tuple({}),
                                 Term::tuple({Term(1)}),
                                 Term::list({}),
                                 Term::list({Term(1)}),
                                 Term::map({}),
                                 Term::map({{Term(1), Term(2)}})};
  for (size_t i = 0; i < ascending.size(); ++i) {
    for (size_t j = 0; j < ascending.size(); ++j) {
      INFO(ascending[i] << " vs " << ascending[j]);
      CHECK((ascending[i] <=> ascending[j]) == (i <=> j));
    }
  }
}

TEST_CASE("ints and floats compare numerically, an int before an equal float") {
  CHECK(Term(1) < Term(1.5));
  CHECK(Term(2) > Term(1.5));
  CHECK(Term(1) < Term(1.0));
  CHECK(Term(1.0) > Term(1));
  CHECK(Term(-3.0) < Term(-2));
  // Exact even where double cannot hold the int.
  int64_t big = (int64_t{1} << 62) + 1;
  CHECK(Term(static_cast<long long>(big)) > Term(static_cast<double>(int64_t{1} << 62)));
  CHECK(Term(std::numeric_limits<double>::infinity()) >
        Term(std::numeric_limits<long long>::max()));
}

TEST_CASE("tuples and lists compare element by element, then by length") {
  CHECK(Term::list({Term(1), Term(2)}) < Term::list({Term(1), Term(3)}));
  CHECK(Term::list({Term(1)}) < Term::list({Term(1), Term(0)}));
  CHECK(Term::list({Term(2)}) > Term::list({Term(1), Term(9)}));
}

TEST_CASE("maps compare by size, then keys, then values") {
  Term small = Term::map({{Term::atom("z"), Term(9)}});
  Term big = Term::map({{Term::atom("a"), Term(1)}, {Term::atom("b"), Term(1)}});
  CHECK(small < big);
  Term ka = Term::map({{Term::atom("a"), Term(9)}, {Term::atom("c"), Term(9)}});
  Term kb = Term::map({{Term::atom("a"), Term(0)}, {Term::atom("d"), Term(0)}});
  CHECK(ka < kb);  // keys decide before values
  CHECK(Term::map({{Term::atom("a"), Term(1)}}) < Term::map({{Term::atom("a"), Term(2)}}));
}

TEST_CASE("atoms order by name and compare equal by identity") {
  CHECK(Term::atom("apple") < Term::atom("banana"));
  CHECK(Term::atom("same") == Term::atom(std::string("sa") + "me"));
}

TEST_CASE("equal terms have equal hashes") {
  CHECK(Term(0.0).hash() == Term(-0.0).hash());
  CHECK(SeedState().hash() == SeedState().hash());
  CHECK(Term::atom("x").hash() == Term::atom("x").hash());
  std::unordered_set<Term> set = {Term(1), Term(1.0), Term("1"), Term::atom("1"), SeedState()};
  CHECK(set.size() == 5);
  CHECK(set.count(SeedState()) == 1);
}

TEST_CASE("atoms interned from many threads at once are the same atom") {
  std::vector<std::thread> threads;
  std::vector<std::vector<Term>> results(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &results] {
      for (int i = 0; i < 500; ++i)
        results[t].push_back(Term::atom("thread_atom_" + std::to_string(i)));
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 1; t < 4; ++t) CHECK(results[t] == results[0]);
}

TEST_CASE("a shared term can be copied and dropped from many threads") {
  Term shared = SeedState();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([shared] {
      for (int i = 0; i < 10000; ++i) {
        Term copy = shared;
        Term other = copy.put("money", Term(i));
        (void)other;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(shared.at("money").as_int() == 30000);
}

TEST_CASE("pids print as <0.N.0> and parse from that form or a bare number") {
  CHECK(Pid{42}.to_string() == "<0.42.0>");
  REQUIRE(Pid::parse("<0.42.0>").ok());
  CHECK(Pid::parse("<0.42.0>")->id == 42);
  CHECK(Pid::parse("7")->id == 7);
  for (const char* bad : {"", "0", "<0.0.0>", "abc", "<1.2.3>", "-4", "12x"}) {
    INFO(bad);
    auto r = Pid::parse(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("write it as <0.42.0> or 42") != std::string::npos);
  }
}

// ---------------------------------------------------------------- handles

TEST_CASE("pids and refs are handles: 16-byte values that compare by kind and id") {
  using relup::RefKind;
  Term pid(Pid{42});
  CHECK(pid.is_pid());
  CHECK(pid.as_pid() == Pid{42});
  Term timer = Term::ref(RefKind::kTimer, 7);
  CHECK(timer.is_ref());
  CHECK(timer.is_ref(RefKind::kTimer));
  CHECK_FALSE(timer.is_ref(RefKind::kSocket));
  CHECK(timer.ref_kind() == RefKind::kTimer);
  CHECK(timer.ref_id() == 7);
  CHECK(timer == Term::ref(RefKind::kTimer, 7));
  CHECK(timer != Term::ref(RefKind::kMonitor, 7));  // the kind is part of the ref
  CHECK(timer.hash() == Term::ref(RefKind::kTimer, 7).hash());
  CHECK_THROWS_AS(Term(1).as_pid(), BadTermAccess);
  CHECK_THROWS_AS(pid.ref_id(), BadTermAccess);
  CHECK_THROWS_AS(Term::ref(RefKind::kRef, Term::kMaxRefId + 1), BadTermAccess);
}

TEST_CASE("handles print in a form of their own, tagged with what they are") {
  using relup::RefKind;
  CHECK(Term(Pid{42}).to_yaml() == "!pid <0.42.0>");
  CHECK(Term::ref(RefKind::kTimer, 12).to_yaml() == "!timer 12");
  CHECK(Term::ref(RefKind::kMonitor, 3).to_yaml() == "!monitor 3");
  CHECK(Term::ref(RefKind::kSocket, 5).to_yaml() == "!socket 5");
  CHECK(Term::ref(RefKind::kRef, 9).to_yaml() == "!ref 9");
  Term state = Term::map(
      {{Term::atom("conn"), Term::ref(RefKind::kSocket, 5)}, {Term::atom("peer"), Term(Pid{3})}});
  CHECK(state.to_yaml() == "{conn: !socket 5, peer: !pid <0.3.0>}");
}

TEST_CASE("handles cannot be forged from text: parse refuses them and says why") {
  for (const char* text :
       {"!pid <0.42.0>", "{t: !timer 12}", "[!socket 5]", "!monitor 1", "!ref 9"}) {
    auto t = Term::parse(text);
    INFO(text);
    REQUIRE_FALSE(t.ok());
    CHECK(t.status().message().find("handles cannot be written as text") != std::string::npos);
  }
}

TEST_CASE("a client reading the node's own output parses handles back (ParseHandles::kAllow)") {
  using relup::ParseHandles;
  using relup::RefKind;
  Term state = Term::map({{Term::atom("conn"), Term::ref(RefKind::kSocket, 5)},
                          {Term::atom("peer"), Term(Pid{3})},
                          {Term::atom("timers"), Term::list({Term::ref(RefKind::kTimer, 1),
                                                             Term::ref(RefKind::kMonitor, 2),
                                                             Term::ref(RefKind::kRef, 3)})}});
  auto back = Term::parse(state.to_yaml(), ParseHandles::kAllow);
  REQUIRE(back.ok());
  CHECK(*back == state);
  CHECK_FALSE(Term::parse("!timer x", ParseHandles::kAllow).ok());
  CHECK_FALSE(Term::parse("!pid nope", ParseHandles::kAllow).ok());
}

TEST_CASE("set, remove and find_mut change a map in place, and a copy held elsewhere keeps its value") {
  Term db = Term::map({});
  for (int i = 0; i < 1000; ++i) db.set(Term("k" + std::to_string(i)), Term(i));
  CHECK(db.size() == 1000);
  CHECK(db.at(Term("k500")) == Term(500));
  // Sorted as put() keeps it: set is exactly put, in place.
  Term by_put = Term::map({});
  for (int i = 0; i < 1000; ++i) by_put = by_put.put(Term("k" + std::to_string(i)), Term(i));
  CHECK(db == by_put);

  Term snapshot = db;  // a rollback's snapshot, say
  db.set(Term("k1"), Term("changed"));
  CHECK(db.remove(Term("k2")));
  CHECK_FALSE(db.remove(Term("k2")));
  CHECK(db.at(Term("k1")) == Term("changed"));
  CHECK(db.find(Term("k2")) == nullptr);
  CHECK(snapshot.at(Term("k1")) == Term(1));  // untouched
  CHECK(snapshot.at(Term("k2")) == Term(2));
  CHECK(snapshot == by_put);
}

TEST_CASE("find_mut unshares a nested value, so a change deep inside a state is copy-on-write too") {
  Term state = Term::map({{Term::atom("db"), Term::map({{Term("a"), Term(1)}})},
                          {Term::atom("n"), Term(0)}});
  Term before = state;
  Term* db = state.find_mut("db");
  REQUIRE(db != nullptr);
  db->set(Term("b"), Term(2));
  CHECK(state.at("db") == Term::map({{Term("a"), Term(1)}, {Term("b"), Term(2)}}));
  CHECK(before.at("db") == Term::map({{Term("a"), Term(1)}}));
  CHECK(state.find_mut("absent") == nullptr);
  CHECK(state.find_mut("no_such_atom_anywhere_xyz") == nullptr);
  Term list = Term::list({1, 2});
  Term kept = list;
  list.mutable_elements().push_back(Term(3));
  CHECK(list == Term::list({1, 2, 3}));
  CHECK(kept == Term::list({1, 2}));
  Term scalar(5);
  CHECK_THROWS_AS(scalar.set(Term("a"), Term(1)), relup::BadTermAccess);
  CHECK_THROWS_AS(scalar.mutable_elements(), relup::BadTermAccess);
}

TEST_CASE("set with a key taken from the map itself") {
  Term m = Term::map({{Term("a"), Term(1)}});
  m.set(m.entries()[0].first, Term(2));
  CHECK(m == Term::map({{Term("a"), Term(2)}}));
}
