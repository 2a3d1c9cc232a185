// Processes: spawn, names, call/cast/send, timeouts, crashes that stay local,
// stops, exit, asynchronous request/reply between processes, shutdown.
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "relup/node.h"
#include "runtime_test_util.h"

using namespace relup;
using relup::test::Contains;
using relup::test::Eventually;
using relup::test::TestModule;
using relup::test::TestNode;
using relup::test::Yaml;

namespace {

const std::string kCounter1 = TestModule("rt_counter-1.so");
const std::string kJournal1 = TestModule("rt_journal-1.so");
const std::string kCrasher = TestModule("rt_crasher-1.so");
const std::string kAsker = TestModule("rt_asker-1.so");
const std::string kEcho = TestModule("rt_echo-1.so");
const std::string kPinger = TestModule("rt_pinger-1.so");

}  // namespace

TEST_CASE("spawn runs init and the process answers calls with the state init made") {
  TestNode node({kCounter1});
  auto pid = node->spawn("rt_counter", Term(41));
  REQUIRE(pid.ok());
  CHECK(pid->valid());
  auto reply = node->call(*pid, Yaml("{inc: 1}"));
  REQUIRE(reply.ok());
  CHECK(*reply == Term(42));
  CHECK(*node->get_state(*pid) == Yaml("{count: 42}"));
}

TEST_CASE("each spawn gets a new pid") {
  TestNode node({kCounter1});
  auto a = node->spawn("rt_counter", Term());
  auto b = node->spawn("rt_counter", Term());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a != *b);
  CHECK(node->processes().size() == 2);
}

TEST_CASE("spawn of a module that is not loaded says which module and how to load it") {
  TestNode node;
  auto pid = node->spawn("nowhere", Term());
  REQUIRE_FALSE(pid.ok());
  CHECK(pid.status().code() == StatusCode::kNotFound);
  CHECK(Contains(pid.status().message(), "nowhere"));
  CHECK(Contains(pid.status().message(), "relup load"));
}

TEST_CASE("an init that fails is spawn's error and leaves no process or name behind") {
  TestNode node({kCrasher});
  auto pid = node->spawn("rt_crasher", Term::atom("fail"), {.name = "fragile"});
  REQUIRE_FALSE(pid.ok());
  CHECK(pid.status().code() == StatusCode::kCallbackError);
  CHECK(Contains(pid.status().message(), "init refused on purpose"));
  CHECK(node->processes().empty());
  CHECK(node->whereis("fragile").status().code() == StatusCode::kNotFound);
  // The name is free again.
  CHECK(node->spawn("rt_crasher", Term(), {.name = "fragile"}).ok());
}

TEST_CASE("a registered name reaches the process and a taken name names its holder") {
  TestNode node({kCounter1});
  auto first = node->spawn("rt_counter", Term(5), {.name = "counter"});
  REQUIRE(first.ok());
  CHECK(*node->whereis("counter") == *first);
  CHECK(*node->call("counter", Term::atom("get")) == Term(5));

  auto second = node->spawn("rt_counter", Term(), {.name = "counter"});
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == StatusCode::kAlreadyExists);
  CHECK(Contains(second.status().message(), "counter"));
  CHECK(Contains(second.status().message(), first->to_string()));
  CHECK(node->processes().size() == 1);
}

TEST_CASE(
    "unregister frees a name while its process lives on, and reregister gives it back unless "
    "another process took it") {
  TestNode node({kCounter1});
  auto first = node->spawn("rt_counter", Term(5), {.name = "counter"});
  REQUIRE(first.ok());

  REQUIRE(node->unregister("counter", *first).ok());
  CHECK(node->whereis("counter").status().code() == StatusCode::kNotFound);
  CHECK(*node->call(*first, Term::atom("get")) == Term(5));  // still reachable by pid

  auto second = node->spawn("rt_counter", Term(7), {.name = "counter"});
  REQUIRE(second.ok());
  Status taken = node->reregister("counter", *first);
  CHECK(taken.code() == StatusCode::kAlreadyExists);
  CHECK(Contains(taken.message(), second->to_string()));

  REQUIRE(node->exit(*second, Term::atom("shutdown")).ok());
  REQUIRE(node->reregister("counter", *first).ok());
  CHECK(*node->whereis("counter") == *first);
  CHECK(*node->call("counter", Term::atom("get")) == Term(5));

  Status other = node->reregister("elsewhere", *first);
  CHECK(other.code() == StatusCode::kFailedPrecondition);
  CHECK(Contains(other.message(), "was not spawned as 'elsewhere'"));
  CHECK(node->unregister("nobody", *first).code() == StatusCode::kNotFound);
}

TEST_CASE(
    "unregister takes a name only from the process given, so one that took the name since keeps "
    "it") {
  TestNode node({kCounter1});
  auto first = node->spawn("rt_counter", Term(5), {.name = "counter"});
  REQUIRE(first.ok());
  REQUIRE(node->exit(*first, Term::atom("shutdown")).ok());
  auto second = node->spawn("rt_counter", Term(7), {.name = "counter"});
  REQUIRE(second.ok());

  Status s = node->unregister("counter", *first);
  CHECK(s.code() == StatusCode::kNotFound);
  CHECK(Contains(s.message(), second->to_string()));
  REQUIRE(node->whereis("counter").ok());
  CHECK(*node->whereis("counter") == *second);
}

TEST_CASE("a name that reads as a pid or holds a control character is refused") {
  TestNode node({kCounter1});
  auto pid = node->spawn("rt_counter", Term(), {.name = "<0.7.0>"});
  REQUIRE_FALSE(pid.ok());
  CHECK(pid.status().code() == StatusCode::kInvalidArgument);
  CHECK(Contains(pid.status().message(), "process name '<0.7.0>' reads as a pid"));
  auto tab = node->spawn("rt_counter", Term(), {.name = "a\tb"});
  REQUIRE_FALSE(tab.ok());
  CHECK(Contains(tab.status().message(), "contains a control character"));
  CHECK(node->processes().empty());
}

TEST_CASE("an unknown pid or name is NotFound, says which, and points to relup ps") {
  TestNode node({kCounter1});
  Pid ghost{987654};
  for (const ProcessRef& ref : {ProcessRef(ghost), ProcessRef("ghost")}) {
    std::vector<Status> errors = {node->call(ref, Term()).status(),
                                  node->cast(ref, Term()),
                                  node->send(ref, Term()),
                                  node->suspend(ref),
                                  node->resume(ref),
                                  node->get_state(ref).status(),
                                  node->get_status(ref).status(),
                                  node->exit(ref, Term::atom("normal"))};
    for (const Status& s : errors) {
      CHECK(s.code() == StatusCode::kNotFound);
      CHECK(Contains(s.message(), ref.to_string()));
      CHECK(Contains(s.message(), "relup ps"));
    }
  }
}

TEST_CASE(
    "pids of ended processes stay NotFound after the pid table frees their memory, and new "
    "processes are found") {
  // 70,000 pids pass the first 65,536 (64 shards x 1,024-slot chunks): the
  // table frees the first chunks once they are empty and inserts have moved on.
  TestNode node({kCounter1});
  std::vector<Pid> old;
  for (int i = 0; i < 70000; ++i) {
    auto pid = node->spawn("rt_counter", Term(i));
    REQUIRE(pid.ok());
    old.push_back(*pid);
  }
  for (Pid p : old) REQUIRE(node->exit(p, Term::atom("normal")).ok());
  std::vector<Pid> fresh;
  for (int i = 0; i < 1000; ++i) fresh.push_back(*node->spawn("rt_counter", Term(i)));

  for (size_t i = 0; i < old.size(); i += 997) {
    CHECK(node->get_status(old[i]).status().code() == StatusCode::kNotFound);
  }
  CHECK(node->get_status(old.back()).status().code() == StatusCode::kNotFound);
  // Never issued, far beyond any chunk.
  CHECK(node->get_status(Pid{uint64_t{1} << 60}).status().code() == StatusCode::kNotFound);
  for (size_t i = 0; i < fresh.size(); ++i) {
    CHECK(*node->get_state(fresh[i]) ==
          Term::map({{Term::atom("count"), Term(static_cast<long long>(i))}}));
  }
  CHECK(node->processes().size() == fresh.size());
}

TEST_CASE("ProcessRef reads <0.N.0> as a pid and anything else as a name") {
  CHECK(ProcessRef::parse("<0.42.0>").pid() != nullptr);
  CHECK(ProcessRef::parse("<0.42.0>").pid()->id == 42);
  CHECK(*ProcessRef::parse("blackode").name() == "blackode");
  CHECK(*ProcessRef::parse("42").name() == "42");
  CHECK(ProcessRef(Pid{7}).to_string() == "<0.7.0>");
}

TEST_CASE("casts and plain messages are handled in the order they were sent") {
  TestNode node({kJournal1});
  auto pid = node->spawn("rt_journal", Term());
  REQUIRE(pid.ok());
  std::vector<Term> expected;
  for (int i = 0; i < 200; ++i) {
    REQUIRE(node->cast(*pid, Term::map({{Term::atom("append"), Term(i)}})).ok());
    expected.push_back(Term(i));
  }
  CHECK(*node->call(*pid, Term::atom("get")) == Term::list(expected));
}

TEST_CASE("a call that is not answered in time is a Timeout naming the process and the wait") {
  TestNode node({kCrasher});
  auto pid = node->spawn("rt_crasher", Term(), {.name = "sleepy"});
  REQUIRE(pid.ok());
  auto reply = node->call("sleepy", Yaml("{sleep_ms: 300}"), Millis(20));
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == StatusCode::kTimeout);
  CHECK(Contains(reply.status().message(), "sleepy"));
  CHECK(Contains(reply.status().message(), "20 ms"));
  // The late reply is dropped; the next call gets its own answer.
  CHECK(*node->call("sleepy", Term::atom("ping")) == Term::atom("pong"));
}

TEST_CASE("an exit signal that will end a process inside a callback frees its name at once") {
  TestNode node({kCrasher});
  auto pid = node->spawn("rt_crasher", Term(), {.name = "sleepy"});
  REQUIRE(pid.ok());
  // It sleeps inside handle_call, so it takes the signal only afterwards; an
  // Erlang process would be dead now, and its name free for a replacement.
  std::thread busy([&] { (void)node->call("sleepy", Yaml("{sleep_ms: 400}")); });
  REQUIRE(Eventually([&] { return node->get_status("sleepy")->state == ProcessState::kBusy; }));
  REQUIRE(node->send_exit(*pid, Term::atom("kill")).ok());
  CHECK_FALSE(node->whereis("sleepy").ok());
  auto again = node->spawn("rt_crasher", Term(), {.name = "sleepy"});
  CHECK(again.ok());
  busy.join();
  CHECK(node->whereis("sleepy").ok());  // the replacement keeps it
  CHECK(*node->whereis("sleepy") == *again);
  // :normal from another process is ignored by one that does not trap: the name stays.
  auto trapper = node->spawn("rt_crasher", Term(), {.name = "calm"});
  REQUIRE(trapper.ok());
  REQUIRE(node->send_exit(*trapper, Term::atom("normal")).ok());
  CHECK(node->whereis("calm").ok());
}

TEST_CASE("a crashing handler ends only its own process, and its callers get the reason") {
  TestNode node({kCrasher, kCounter1});
  auto crasher = node->spawn("rt_crasher", Term(), {.name = "crasher"});
  auto neighbour = node->spawn("rt_counter", Term(1));
  REQUIRE(crasher.ok());
  REQUIRE(neighbour.ok());

  // Queue a crashing call, then a second call behind it, while suspended.
  REQUIRE(node->suspend("crasher").ok());
  Result<Term> crash = Status::Internal("not run");
  Result<Term> behind = Status::Internal("not run");
  std::thread first([&] { crash = node->call("crasher", Term::atom("crash")); });
  REQUIRE(Eventually([&] { return node->get_status("crasher")->queue_length == 1; }));
  std::thread second([&] { behind = node->call("crasher", Term::atom("ping")); });
  REQUIRE(Eventually([&] { return node->get_status("crasher")->queue_length == 2; }));
  REQUIRE(node->resume("crasher").ok());
  first.join();
  second.join();

  REQUIRE_FALSE(crash.ok());
  CHECK(crash.status().code() == StatusCode::kCallbackError);
  CHECK(Contains(crash.status().message(), "crashed on purpose"));
  CHECK(Contains(crash.status().message(), crasher->to_string()));
  REQUIRE_FALSE(behind.ok());
  CHECK(behind.status().code() == StatusCode::kProcessExited);
  CHECK(Contains(behind.status().message(), "crashed on purpose"));

  CHECK(node->whereis("crasher").status().code() == StatusCode::kNotFound);
  CHECK(node->get_status(*crasher).status().code() == StatusCode::kNotFound);
  CHECK(node.log.contains("crashed on purpose"));
  CHECK(*node->call(*neighbour, Yaml("{inc: 1}")) == Term(2));
}

TEST_CASE("a crashing cast ends the process and frees its name") {
  TestNode node({kCrasher});
  REQUIRE(node->spawn("rt_crasher", Term(), {.name = "crasher"}).ok());
  REQUIRE(node->cast("crasher", Term::atom("crash")).ok());
  REQUIRE(Eventually([&] { return !node->whereis("crasher").ok(); }));
  CHECK(node.log.wait_for("cast crashed on purpose"));
  CHECK(node->spawn("rt_crasher", Term(), {.name = "crasher"}).ok());
}

TEST_CASE("a stop outcome runs terminate, and a caller left without a reply gets ProcessExited") {
  TestNode node({kCrasher});
  auto a = node->spawn("rt_crasher", Term());
  auto b = node->spawn("rt_crasher", Term());
  REQUIRE(a.ok());
  REQUIRE(b.ok());

  auto bye = node->call(*a, Term::atom("stop_reply"));
  REQUIRE(bye.ok());
  CHECK(*bye == Term::atom("bye"));

  auto none = node->call(*b, Term::atom("stop"));
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == StatusCode::kProcessExited);
  CHECK(Contains(none.status().message(), "normal"));

  CHECK(node.log.wait_for(a->to_string() + ": terminate :normal"));
  CHECK(node.log.wait_for(b->to_string() + ": terminate :normal"));
  // b is gone by the time its caller hears of it; a replied first, then ended.
  CHECK(node->get_status(*b).status().code() == StatusCode::kNotFound);
  CHECK(Eventually([&] { return node->processes().empty(); }));
}

TEST_CASE("exit ends a process with a reason and runs terminate, but :kill skips terminate") {
  TestNode node({kCrasher});
  auto a = node->spawn("rt_crasher", Term(), {.name = "a"});
  auto b = node->spawn("rt_crasher", Term(), {.name = "b"});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(node->exit("a", Term::atom("bored")).ok());
  CHECK(node.log.contains(a->to_string() + " (a): terminate :bored"));
  REQUIRE(node->exit("b", Term::atom("kill")).ok());
  CHECK_FALSE(node.log.contains(b->to_string() + " (b): terminate"));
  CHECK(node->processes().empty());
  CHECK(node->call(*a, Term::atom("ping")).status().code() == StatusCode::kNotFound);
}

TEST_CASE("send_request gets the reply as a message without blocking the requester") {
  TestNode node({kAsker, kEcho}, /*workers=*/1);  // one worker: a blocked requester would hang
  auto asker = node->spawn("rt_asker", Term(), {.name = "asker"});
  auto echo = node->spawn("rt_echo", Term(), {.name = "echo"});
  REQUIRE(asker.ok());
  REQUIRE(echo.ok());

  // The echo server holds the request; the asker keeps answering meanwhile.
  REQUIRE(node->cast("asker", Yaml("{ask: echo, request: {hold: 7}}")).ok());
  REQUIRE(Eventually([&] { return node->get_state("echo")->contains("caller"); }));
  CHECK(*node->call("asker", Term::atom("ping")) == Term::atom("pong"));
  CHECK(node->get_state("asker")->at("replies").size() == 0);

  REQUIRE(node->cast("echo", Term::atom("release")).ok());
  REQUIRE(Eventually([&] { return node->get_state("asker")->at("replies").size() == 1; }));
  Term state = *node->get_state("asker");
  Term id = state.at("ids")[0];
  CHECK(state.at("replies")[0] ==
        Term::map({{Term::atom("id"), id}, {Term::atom("value"), Term(7)}}));

  // A direct request by pid.
  REQUIRE(
      node->cast("asker", Term::map({{Term::atom("ask"), Term(static_cast<long long>(echo->id))},
                                     {Term::atom("request"), Yaml("{echo: hi}")}}))
          .ok());
  REQUIRE(Eventually([&] { return node->get_state("asker")->at("replies").size() == 2; }));
  CHECK(node->get_state("asker")->at("replies")[1].at("value") == Term("hi"));
}

TEST_CASE("send_request to an unknown or crashing process gets an error reply message") {
  TestNode node({kAsker, kEcho});
  REQUIRE(node->spawn("rt_asker", Term(), {.name = "asker"}).ok());
  REQUIRE(node->spawn("rt_echo", Term(), {.name = "echo"}).ok());

  REQUIRE(node->cast("asker", Yaml("{ask: nobody, request: :x}")).ok());
  REQUIRE(Eventually([&] { return node->get_state("asker")->at("replies").size() == 1; }));
  Term unknown = node->get_state("asker")->at("replies")[0];
  REQUIRE(unknown.contains("error"));
  CHECK(Contains(unknown.at("error").as_string(), "nobody"));

  REQUIRE(node->cast("asker", Yaml("{ask: echo, request: :crash}")).ok());
  REQUIRE(Eventually([&] { return node->get_state("asker")->at("replies").size() == 2; }));
  Term crashed = node->get_state("asker")->at("replies")[1];
  REQUIRE(crashed.contains("error"));
  CHECK(Contains(crashed.at("error").as_string(), "echo crashed on purpose"));
  CHECK(*node->call("asker", Term::atom("ping")) == Term::atom("pong"));
}

TEST_CASE("shutdown terminates every process, newest first, and later operations are Unavailable") {
  TestNode node({kCrasher});
  auto a = node->spawn("rt_crasher", Term());
  auto b = node->spawn("rt_crasher", Term());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(node->suspend(*a).ok());  // suspended processes are terminated too
  node->shutdown();
  auto lines = node.log.lines();
  auto pos = [&](const std::string& text) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (Contains(lines[i], text)) return static_cast<long>(i);
    }
    return -1L;
  };
  long ta = pos(a->to_string() + ": terminate :shutdown");
  long tb = pos(b->to_string() + ": terminate :shutdown");
  CHECK(ta >= 0);
  CHECK(tb >= 0);
  CHECK(tb < ta);
  CHECK(node->spawn("rt_crasher", Term()).status().code() == StatusCode::kUnavailable);
  CHECK(node->call(*a, Term::atom("ping")).status().code() == StatusCode::kUnavailable);
  CHECK(node->processes().empty());
  node->shutdown();  // idempotent
}

TEST_CASE("request/reply loops between pairs of processes complete every round, in order") {
  constexpr int kPairs = 4;
  constexpr int kRounds = 2000;
  TestNode node({kPinger, kEcho});
  std::vector<Pid> pingers;
  for (int i = 0; i < kPairs; ++i) {
    auto pinger = node->spawn("rt_pinger", Term());
    auto echo = node->spawn("rt_echo", Term());
    REQUIRE(pinger.ok());
    REQUIRE(echo.ok());
    REQUIRE(
        node->cast(*pinger, Term::map({{Term::atom("ping"), Term(static_cast<long long>(echo->id))},
                                       {Term::atom("rounds"), Term(kRounds)}}))
            .ok());
    pingers.push_back(*pinger);
  }
  for (Pid pinger : pingers) {
    REQUIRE(Eventually(
        [&] {
          auto state = node->get_state(pinger);
          return state.ok() && state->at("done") == Term(kRounds);
        },
        std::chrono::seconds(30)));
  }
  CHECK(node->processes().size() == 2 * kPairs);  // nobody failed
}

TEST_CASE("shutdown ends the wait of a caller blocked on a process") {
  TestNode node({kCounter1});
  auto pid = node->spawn("rt_counter", Term());
  REQUIRE(pid.ok());
  REQUIRE(node->suspend(*pid).ok());  // the call below cannot be answered
  Result<Term> reply = Status::Internal("not run");
  std::thread caller(
      [&] { reply = node->call(*pid, Term::atom("get"), std::chrono::seconds(60)); });
  REQUIRE(Eventually([&] { return node->get_status(*pid)->queue_length == 1; }));
  auto start = std::chrono::steady_clock::now();
  node->shutdown();
  caller.join();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == StatusCode::kProcessExited);
  CHECK(Contains(reply.status().message(), "shut down"));
}

TEST_CASE("a flooded process does not starve the others, even on one worker") {
  constexpr int kFlood = 50000;
  TestNode node({kCounter1, kCrasher}, /*workers=*/1);
  auto flooded = node->spawn("rt_counter", Term());
  auto other = node->spawn("rt_crasher", Term());
  REQUIRE(flooded.ok());
  REQUIRE(other.ok());
  REQUIRE(node->suspend(*flooded).ok());
  const Term inc = Yaml("{inc: 1}");
  int refused = 0;
  for (int i = 0; i < kFlood; ++i) refused += node->cast(*flooded, inc).ok() ? 0 : 1;
  REQUIRE(refused == 0);
  REQUIRE(node->resume(*flooded).ok());

  CHECK(*node->call(*other, Term::atom("ping")) == Term::atom("pong"));
  // The ping was answered while the flood was still being worked off.
  CHECK(node->get_status(*flooded)->queue_length > 0);
  CHECK(*node->call(*flooded, Term::atom("get")) == Term(kFlood));
}
