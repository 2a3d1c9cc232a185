// Timers: send_after, cancel_timer and the gen_server timeout, as a process
// sees them. Timers belong to the runtime: they fire into the mailbox while
// their process is suspended and live through change_code, and they end with
// their process.
#include <catch2/catch.hpp>
#include <thread>

#include "actor_util.h"

using namespace relup;
using namespace relup::test;
using namespace std::chrono_literals;

TEST_CASE(
    "a timer's message arrives in handle_info after its delay, after mail sent before it fires") {
  TestNode node({kActor1});
  Pid a = SpawnActor(*node.node);
  // Half a second: the plain message below is surely sent before it fires,
  // even on a loaded machine.
  Term ref = Ok(*node.node, a, Cmd("send_after", Term(500), "msg", Term::atom("tick")));
  CHECK(ref.is_ref(RefKind::kTimer));
  REQUIRE(node->send(a, Term::atom("before")).ok());
  auto inbox = WaitInbox(*node.node, a, 2);
  REQUIRE(inbox.size() == 2);
  CHECK(inbox[0] == Term::atom("before"));
  CHECK(inbox[1] == Term::atom("tick"));
}

TEST_CASE("timers fire in the order of their deadlines, not of their starts") {
  TestNode node({kActor1});
  Pid a = SpawnActor(*node.node);
  Ok(*node.node, a, Cmd("send_after", Term(90), "msg", Term("c")));
  Ok(*node.node, a, Cmd("send_after", Term(10), "msg", Term("a")));
  Ok(*node.node, a, Cmd("send_after", Term(50), "msg", Term("b")));
  auto inbox = WaitInbox(*node.node, a, 3);
  CHECK(Term::list(inbox) == Yaml("[a, b, c]"));
}

TEST_CASE("a timer with delay 0 fires at once") {
  TestNode node({kActor1});
  Pid a = SpawnActor(*node.node);
  Ok(*node.node, a, Cmd("send_after", Term(0), "msg", Term::atom("now")));
  CHECK(WaitInbox(*node.node, a, 1).size() == 1);
}

TEST_CASE("cancel_timer: true for a pending timer (its message never comes), false once it fired") {
  TestNode node({kActor1});
  Pid a = SpawnActor(*node.node);
  Term pending = Ok(*node.node, a, Cmd("send_after", Term(40), "msg", Term::atom("never")));
  CHECK(Ok(*node.node, a, Cmd("cancel_timer", pending)) == Term(true));
  CHECK(Ok(*node.node, a, Cmd("cancel_timer", pending)) == Term(false));  // cancelled already

  Term fired = Ok(*node.node, a, Cmd("send_after", Term(0), "msg", Term::atom("fired")));
  auto inbox = WaitInbox(*node.node, a, 1);
  CHECK(Ok(*node.node, a, Cmd("cancel_timer", fired)) == Term(false));
  std::this_thread::sleep_for(80ms);
  inbox = Inbox(*node.node, a);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0] == Term::atom("fired"));
  CHECK(Stat(*node.node, "timers") == 0);
}

TEST_CASE("cancel_timer refuses what is no timer of this process, with a clear reason") {
  TestNode node({kActor1});
  Pid a = SpawnActor(*node.node);
  Pid b = SpawnActor(*node.node);
  CHECK(Contains(Error(*node.node, a, Cmd("cancel_timer", Term(7))), "needs a timer ref"));
  CHECK(Contains(Error(*node.node, a, Cmd("cancel_timer", Term::ref(RefKind::kTimer, 999999))),
                 "not a timer this node started"));
  CHECK(Contains(Error(*node.node, a, Cmd("cancel_timer", Term::ref(RefKind::kMonitor, 1))),
                 "needs a timer ref"));
  Term theirs = Ok(*node.node, b, Cmd("send_after", Term(10000), "msg", Term(1)));
  std::string why = Error(*node.node, a, Cmd("cancel_timer", theirs));
  CHECK(Contains(why, "belongs to " + b.to_string()));
  CHECK(Ok(*node.node, b, Cmd("cancel_timer", theirs)) == Term(true));  // still pending for b
}

TEST_CASE("send_after refuses a negative delay") {
  TestNode node({kActor1});
  Pid a = SpawnActor(*node.node);
  CHECK(
      Contains(Error(*node.node, a, Cmd("send_after", Term(-1), "msg", Term(1))), "0 ms or more"));
}

TEST_CASE("a timer fires into the mailbox of a suspended process and is handled after resume") {
  TestNode node({kActor1});
  Pid a = SpawnActor(*node.node);  // on version 1, the current one until 2 is loaded
  node.load(kActor2);
  Ok(*node.node, a, Cmd("send_after", Term(30), "msg", Term("first")));
  Ok(*node.node, a, Cmd("send_after", Term(60), "msg", Term("second")));
  REQUIRE(node->suspend(a).ok());
  CHECK(Eventually([&] { return node->get_status(a)->queue_length == 2; }));
  // change_code between: the timers and their messages are the runtime's.
  REQUIRE(node->change_code(a, "rt_actor", Term("1"), Term(), "2").ok());
  CHECK(Inbox(*node.node, a).empty());  // get_state works while suspended; nothing handled yet
  REQUIRE(node->resume(a).ok());
  auto inbox = WaitInbox(*node.node, a, 2);
  CHECK(Term::list(inbox) == Yaml("[first, second]"));
  CHECK(node->call(a, Term::atom("vsn")).value() == Term("2"));
}

TEST_CASE("a pending timer keeps running through suspend, change_code, resume and rollback") {
  TestNode node({kActor1});
  Pid a = SpawnActor(*node.node);  // on version 1, the current one until 2 is loaded
  node.load(kActor2);
  Term ref = Ok(*node.node, a, Cmd("send_after", Term(150), "msg", Term::atom("late")));
  REQUIRE(node->suspend(a).ok());
  auto snap = node->snapshot(a);
  REQUIRE(snap.ok());
  REQUIRE(node->change_code(a, "rt_actor", Term("1"), Term(), "2").ok());
  REQUIRE(node->restore(*snap).ok());  // the executor's rollback
  REQUIRE(node->resume(a).ok());
  CHECK(node->call(a, Term::atom("vsn")).value() == Term("1"));
  auto inbox = WaitInbox(*node.node, a, 1);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0] == Term::atom("late"));
  CHECK(Ok(*node.node, a, Cmd("cancel_timer", ref)) == Term(false));
}

TEST_CASE("a process's timers end with it") {
  TestNode node({kActor1});
  Pid a = SpawnActor(*node.node);
  for (int i = 0; i < 3; ++i) Ok(*node.node, a, Cmd("send_after", Term(60000), "msg", Term(i)));
  CHECK(node->resources(a)->at("timers") == Term(3));
  CHECK(Stat(*node.node, "timers") == 3);
  REQUIRE(node->exit(a, Term::atom("shutdown")).ok());
  CHECK(Stat(*node.node, "timers") == 0);
}

TEST_CASE("gen_server timeout: :timeout comes after N ms without other mail") {
  TestNode node({kActor1});
  Pid a = SpawnActor(*node.node);
  Ok(*node.node, a, Cmd("reply_after", Term(30)));
  auto inbox = WaitInbox(*node.node, a, 1);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0] == Term::atom("timeout"));
}

TEST_CASE("gen_server timeout: any message before it runs out cancels it") {
  TestNode node({kActor1});
  Pid a = SpawnActor(*node.node);
  Ok(*node.node, a, Cmd("reply_after", Term(150)));
  REQUIRE(node->send(a, Term::atom("mail")).ok());
  std::this_thread::sleep_for(300ms);
  auto inbox = Inbox(*node.node, a);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0] == Term::atom("mail"));
  CHECK(Stat(*node.node, "timers") == 0);
}
