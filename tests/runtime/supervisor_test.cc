// The built-in supervisor (runtime/src/supervision/supervisor.h): OTP's
// strategies, restart types, intensity, shutdown order and timeouts, and the
// supervisor API, with pids compared before and after.
#include "supervision/supervisor.h"

#include <catch2/catch.hpp>
#include <thread>

#include "runtime_test_util.h"

using namespace relup;
using namespace relup::test;
using namespace std::chrono_literals;

namespace {

Term A(const char* s) {
  return Term::atom(s);
}

struct SupNode : TestNode {
  SupNode() : TestNode({TestModule("rt_worker-1.so"), TestModule("rt_journal-1.so")}) {
    SpawnOptions o;
    o.name = "journal";
    auto j = node->spawn("rt_journal", Term(), o);
    REQUIRE(j.ok());
    journal = *j;
  }

  // What the workers wrote, in order ("start a", "stop b", ...).
  std::vector<std::string> Journal() {
    auto r = node->call(journal, A("get"));
    REQUIRE(r.ok());
    std::vector<std::string> out;
    for (const Term& e : r->elements()) out.push_back(e.as_string());
    return out;
  }
  void ClearJournal() {
    REQUIRE(node->exit(journal, A("kill")).ok());
    REQUIRE(Eventually([&] { return !node->whereis("journal").ok(); }));
    SpawnOptions o;
    o.name = "journal";
    auto j = node->spawn("rt_journal", Term(), o);
    REQUIRE(j.ok());
    journal = *j;
  }

  Pid Start(Term args) {
    auto pid = node->spawn("supervisor", std::move(args));
    INFO(pid.status().ToString());
    REQUIRE(pid.ok());
    return *pid;
  }
  Term Call(Pid sup, Term request) {
    auto r = node->call(sup, std::move(request));
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    return *r;
  }
  // id -> pid (nil when stopped), in start order.
  std::vector<std::pair<std::string, Term>> Children(Pid sup) {
    Term r = Call(sup, A("which_children"));
    REQUIRE(r.find("ok") != nullptr);
    std::vector<std::pair<std::string, Term>> out;
    for (const Term& c : r.at("ok").elements()) {
      const Term& id = c.at("id");
      out.emplace_back(id.is_atom() ? id.as_atom() : id.to_yaml(), c.at("pid"));
    }
    return out;
  }
  Term PidOf(Pid sup, const std::string& id) {
    for (auto& [i, p] : Children(sup)) {
      if (i == id) return p;
    }
    FAIL("no child " << id);
    return Term();
  }
  bool Alive(Pid pid) { return node->get_status(pid).ok(); }
  void Crash(const Term& pid) { (void)node->call(pid.as_pid(), A("crash")); }

  Pid journal;
};

Term Worker(const char* id, Term extra = Term::map({})) {
  Term args = Term::map({{A("id"), A(id)}, {A("trap_exit"), Term(true)}});
  for (const auto& [k, v] : extra.entries()) args.set(k, v);
  return Term::map({{A("id"), A(id)}, {A("module"), A("rt_worker")}, {A("args"), args}});
}

Term Sup(const char* strategy, std::vector<Term> children, int intensity = 3) {
  return Term::map({{A("strategy"), A(strategy)},
                    {A("intensity"), Term(intensity)},
                    {A("period_ms"), Term(5000)},
                    {A("children"), Term::list(std::move(children))}});
}

// Waits until every child has a pid again, and returns them.
std::vector<std::pair<std::string, Term>> Settled(SupNode& n, Pid sup) {
  std::vector<std::pair<std::string, Term>> cs;
  REQUIRE(Eventually([&] {
    cs = n.Children(sup);
    for (auto& [id, p] : cs) {
      if (p.is_nil()) return false;
    }
    return true;
  }));
  return cs;
}

}  // namespace

TEST_CASE("a supervisor starts its children in order, each started before the next") {
  SupNode n;
  Pid sup = n.Start(Sup("one_for_one", {Worker("a"), Worker("b"), Worker("c")}));
  CHECK(n.Journal() == std::vector<std::string>{"start a", "start b", "start c"});
  auto cs = n.Children(sup);
  REQUIRE(cs.size() == 3);
  CHECK(cs[0].first == "a");
  CHECK(cs[2].first == "c");
  for (auto& [id, pid] : cs) CHECK(n.Alive(pid.as_pid()));
}

TEST_CASE("one_for_one: only the child that crashed is restarted") {
  SupNode n;
  Pid sup = n.Start(Sup("one_for_one", {Worker("a"), Worker("b"), Worker("c")}));
  auto before = n.Children(sup);
  n.Crash(before[1].second);
  REQUIRE(Eventually([&] {
    Term b = n.PidOf(sup, "b");
    return !b.is_nil() && b != before[1].second;
  }));
  auto after = Settled(n, sup);
  CHECK(after[0].second == before[0].second);
  CHECK(after[1].second != before[1].second);
  CHECK(after[2].second == before[2].second);
  CHECK(n.log.contains("child b"));
}

TEST_CASE("one_for_all: a crash stops the others last first, then starts them all in order") {
  SupNode n;
  Pid sup = n.Start(Sup("one_for_all", {Worker("a"), Worker("b"), Worker("c")}));
  auto before = n.Children(sup);
  n.ClearJournal();
  n.Crash(before[0].second);
  REQUIRE(Eventually([&] { return n.Journal().size() >= 5; }));
  auto after = Settled(n, sup);
  for (size_t i = 0; i < 3; ++i) CHECK(after[i].second != before[i].second);
  // a crashed (no terminate); c then b stop, last first; all start in order.
  CHECK(n.Journal() ==
        std::vector<std::string>{"stop c", "stop b", "start a", "start b", "start c"});
}

TEST_CASE("rest_for_one: the children started after the crashed one restart, those before do not") {
  SupNode n;
  Pid sup = n.Start(Sup("rest_for_one", {Worker("a"), Worker("b"), Worker("c"), Worker("d")}));
  auto before = n.Children(sup);
  n.ClearJournal();
  n.Crash(before[1].second);
  REQUIRE(Eventually([&] { return n.Journal().size() >= 5; }));
  auto after = Settled(n, sup);
  CHECK(after[0].second == before[0].second);
  for (size_t i = 1; i < 4; ++i) CHECK(after[i].second != before[i].second);
  CHECK(n.Journal() ==
        std::vector<std::string>{"stop d", "stop c", "start b", "start c", "start d"});
}

TEST_CASE("restart types: permanent always, transient only after a failure, temporary never") {
  SupNode n;
  auto with = [](const char* id, const char* restart) {
    Term w = Worker(id);
    w.set("restart", A(restart));
    return w;
  };
  Pid sup = n.Start(Sup("one_for_one",
                        {with("p", "permanent"), with("t", "transient"), with("t2", "transient"),
                         with("tmp", "temporary")},
                        10));
  auto before = n.Children(sup);
  // A normal end: permanent restarts, transient does not.
  (void)n.node->call(before[0].second.as_pid(), Term::map({{A("stop"), A("normal")}}));
  (void)n.node->call(before[1].second.as_pid(), Term::map({{A("stop"), A("normal")}}));
  // A failure: transient restarts; temporary is forgotten.
  n.Crash(before[2].second);
  n.Crash(before[3].second);
  REQUIRE(Eventually([&] {
    auto cs = n.Children(sup);
    return cs.size() == 3 && !cs[0].second.is_nil() && cs[0].second != before[0].second &&
           !cs[2].second.is_nil() && cs[2].second != before[2].second;
  }));
  std::this_thread::sleep_for(50ms);
  auto after = n.Children(sup);
  REQUIRE(after.size() == 3);  // tmp's spec is gone
  CHECK(after[1].first == "t");
  CHECK(after[1].second.is_nil());  // stopped normally, kept, not running
}

TEST_CASE(
    "more restarts than the intensity allows: every child stops last first, then the "
    "supervisor, with reason shutdown") {
  SupNode n;
  Pid sup = n.Start(Sup("one_for_one", {Worker("a"), Worker("b")}, /*intensity=*/1));
  auto first = n.Children(sup);
  n.Crash(first[1].second);  // restart 1 of 1: fine
  REQUIRE(Eventually([&] {
    Term b = n.PidOf(sup, "b");
    return !b.is_nil() && b != first[1].second;
  }));
  auto second = n.Children(sup);
  n.ClearJournal();
  n.Crash(second[1].second);  // restart 2 within the period: too many
  REQUIRE(Eventually([&] { return !n.Alive(sup); }));
  CHECK_FALSE(n.Alive(second[0].second.as_pid()));
  CHECK(n.Journal() == std::vector<std::string>{"stop a"});
  CHECK(n.log.contains("reached_max_restart_intensity"));
}

TEST_CASE(
    "terminate_child waits for the child's terminate, and kills one that ignores the shutdown "
    "signal when its shutdown time is up") {
  SupNode n;
  Term stubborn = Worker("s", Term::map({{A("ignore_shutdown"), Term(true)}}));
  stubborn.set("shutdown", Term(200));
  Pid sup = n.Start(Sup("one_for_one", {Worker("a"), stubborn}));
  Term a = n.PidOf(sup, "a"), s = n.PidOf(sup, "s");

  CHECK(n.Call(sup, Term::map({{A("terminate_child"), A("a")}})) ==
        Term::map({{A("ok"), A("ok")}}));
  CHECK_FALSE(n.Alive(a.as_pid()));
  CHECK(n.PidOf(sup, "a").is_nil());  // the spec stays
  CHECK(n.Journal().back() == "stop a");

  auto t0 = std::chrono::steady_clock::now();
  CHECK(n.Call(sup, Term::map({{A("terminate_child"), A("s")}})) ==
        Term::map({{A("ok"), A("ok")}}));
  CHECK(std::chrono::steady_clock::now() - t0 >= 190ms);
  CHECK_FALSE(n.Alive(s.as_pid()));
  CHECK(n.log.contains("did not stop within its shutdown time: killed"));

  // restart_child starts it again; delete_child forgets a stopped one.
  Term again = n.Call(sup, Term::map({{A("restart_child"), A("a")}}));
  REQUIRE(again.find("ok") != nullptr);
  CHECK(n.Alive(again.at("ok").as_pid()));
  CHECK(n.Call(sup, Term::map({{A("delete_child"), A("s")}})) == Term::map({{A("ok"), A("ok")}}));
  CHECK(n.Children(sup).size() == 1);
}

TEST_CASE("a supervisor child stops its own children, last first, when its parent stops it") {
  SupNode n;
  Term inner = Term::map({{A("id"), A("inner")},
                          {A("module"), A("supervisor")},
                          {A("type"), A("supervisor")},
                          {A("args"), Sup("one_for_one", {Worker("x"), Worker("y")})}});
  Pid root = n.Start(Sup("one_for_one", {Worker("a"), inner}));
  Term inner_pid = n.PidOf(root, "inner");
  Term x = n.PidOf(inner_pid.as_pid(), "x");
  n.ClearJournal();
  CHECK(n.Call(root, Term::map({{A("terminate_child"), A("inner")}})) ==
        Term::map({{A("ok"), A("ok")}}));
  CHECK_FALSE(n.Alive(inner_pid.as_pid()));
  CHECK_FALSE(n.Alive(x.as_pid()));
  CHECK(n.Journal() == std::vector<std::string>{"stop y", "stop x"});
}

TEST_CASE("simple_one_for_one starts children on demand from its template") {
  SupNode n;
  Term tmpl = Term::map({{A("module"), A("rt_worker")},
                         {A("args"), Term::map({{A("id"), A("pooled")}})},
                         {A("restart"), A("transient")}});
  Pid sup = n.Start(Sup("simple_one_for_one", {tmpl}));
  CHECK(n.Children(sup).empty());
  Term one = n.Call(sup, Term::map({{A("start_child"), Term::map({{A("id"), A("w1")}})}}));
  Term two = n.Call(sup, Term::map({{A("start_child"), Term()}}));
  REQUIRE(one.find("ok") != nullptr);
  REQUIRE(two.find("ok") != nullptr);
  CHECK(n.Journal() == std::vector<std::string>{"start w1", "start pooled"});
  CHECK(n.Children(sup).size() == 2);
  CHECK(n.Call(sup, Term::map({{A("terminate_child"), one.at("ok")}})) ==
        Term::map({{A("ok"), A("ok")}}));
  CHECK(n.Children(sup).size() == 1);  // a dynamic child's spec goes with it
  // A transient dynamic child that ends normally is not restarted, and goes too.
  (void)n.node->call(two.at("ok").as_pid(), Term::map({{A("stop"), A("normal")}}));
  REQUIRE(Eventually([&] { return n.Children(sup).empty(); }));
  CHECK(n.Call(sup, Term::map({{A("start_child"), Term()}})).find("ok") != nullptr);
  Term counts = n.Call(sup, A("count_children")).at("ok");
  CHECK(counts.at("active") == Term(1));
  CHECK(counts.at("specs") == Term(1));
}

TEST_CASE(
    "a child that does not start fails the supervisor's start, naming it, and the "
    "children already started are stopped") {
  SupNode n;
  Term bad = Worker("b", Term::map({{A("fail"), Term(true)}}));
  auto pid = n.node->spawn("supervisor", Sup("one_for_one", {Worker("a"), bad, Worker("c")}));
  REQUIRE_FALSE(pid.ok());
  CHECK_THAT(pid.status().message(), Catch::Contains("child b (rt_worker) did not start"));
  CHECK_THAT(pid.status().message(), Catch::Contains("told to fail"));
  REQUIRE(Eventually([&] { return n.Journal().size() == 2; }));
  CHECK(n.Journal() == std::vector<std::string>{"start a", "stop a"});
}

TEST_CASE("bad supervisor args are refused naming the field and the fix") {
  SupNode n;
  auto refused = [&](Term args) {
    auto pid = n.node->spawn("supervisor", std::move(args));
    REQUIRE_FALSE(pid.ok());
    return pid.status().message();
  };
  CHECK_THAT(refused(Sup("one_for_many", {})), Catch::Contains("strategy: one_for_one"));
  CHECK_THAT(refused(Sup("one_for_one", {Worker("a"), Worker("a")})),
             Catch::Contains("children[1].id: a is the id of an earlier child too"));
  Term w = Worker("a");
  w.set("restart", A("sometimes"));
  CHECK_THAT(refused(Sup("one_for_one", {w})),
             Catch::Contains("children[0].restart: permanent, transient or temporary"));
  CHECK_THAT(refused(Sup("simple_one_for_one", {})), Catch::Contains("exactly one child spec"));
  CHECK_THAT(refused(Term::map({{A("strategy"), A("one_for_one")}, {A("intensty"), Term(1)}})),
             Catch::Contains("unknown key intensty"));
}

TEST_CASE(
    "every node has the supervisor module built in, and a second module of its name is "
    "refused") {
  TestNode n;
  ModuleVersionPtr sup = n->code_server().current("supervisor");
  REQUIRE(sup != nullptr);
  CHECK(sup->vsn() == "1");
  CHECK(sup->info().sha256 == "builtin");
  auto again = n->code_server().add_builtin(supervision::SupervisorDescriptor());
  REQUIRE_FALSE(again.ok());
  CHECK_THAT(again.status().message(), Catch::Contains("a module of that name is loaded already"));
}

namespace relup::test {

TEST_CASE(
    "change_specs then restore_specs puts back settings, specs and children, dynamic ones too") {
  SupNode n;
  Term tmpl = Term::map({{A("module"), A("rt_worker")}, {A("restart"), A("temporary")}});
  Pid sup = n.Start(Sup("simple_one_for_one", {tmpl}));
  Term started = n.Call(sup, Term::map({{A("start_child"), Term::map({{A("id"), A("d1")}})}}));
  REQUIRE(started.find("ok") != nullptr);
  Term child = started.at("ok");

  Term next = Sup("simple_one_for_one", {tmpl}, /*intensity=*/9);
  Term changed =
      n.Call(sup, Term::map({{A("change_specs"),
                              Term::map({{A("args"), next}, {A("start_stop"), Term(true)}})}}));
  REQUIRE(changed.find("ok") != nullptr);
  CHECK(n.Call(sup, A("info")).at("ok").at("intensity") == Term(9));

  Term restored = n.Call(sup, Term::map({{A("restore_specs"), changed.at("ok").at("saved")}}));
  CHECK(restored == Term::map({{A("ok"), A("ok")}}));
  CHECK(n.Call(sup, A("info")).at("ok").at("intensity") == Term(3));
  CHECK(n.PidOf(sup, child.to_yaml()) == child);  // the dynamic child, the same process

  // A `saved` not made by change_specs is refused, and nothing changes.
  Term bad = n.Call(sup, Term::map({{A("restore_specs"), Term(1)}}));
  CHECK(bad.find("error") != nullptr);
  CHECK(n.Alive(sup));
  CHECK(n.PidOf(sup, child.to_yaml()) == child);
}

}  // namespace relup::test
