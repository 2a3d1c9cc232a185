// Spawn, monitors, links and exit signals, with OTP's meaning. Supervisors
// (a later issue) are built on exactly these rules, so each is a case here.
#include <catch2/catch.hpp>
#include <thread>

#include "actor_util.h"

using namespace relup;
using namespace relup::test;
using namespace std::chrono_literals;

namespace {

bool Alive(Node& node, Pid pid) {
  return node.get_status(pid).ok();
}

bool Gone(Node& node, Pid pid) {
  return Eventually([&] { return !Alive(node, pid); });
}

Term Down(const Term& monitor, Pid pid, const Term& reason) {
  return Term::map({{Term::atom("down"), monitor},
                    {Term::atom("pid"), Term(pid)},
                    {Term::atom("reason"), reason}});
}

Term ExitMsg(Term from, const Term& reason) {
  return Term::map({{Term::atom("exit"), std::move(from)}, {Term::atom("reason"), reason}});
}

}  // namespace

// ---------------------------------------------------------------- monitors

TEST_CASE("monitor: {down: MON, pid: PID, reason: R} comes exactly once when the process ends") {
  TestNode node({kActor1});
  Pid watcher = SpawnActor(*node.node);
  Pid target = SpawnActor(*node.node);
  Term mon = Ok(*node.node, watcher, Cmd("monitor", Term(target)));
  CHECK(mon.is_ref(RefKind::kMonitor));
  Do(*node.node, target, Cmd("stop", Term::atom("bye")));
  auto inbox = WaitInbox(*node.node, watcher, 1);
  std::this_thread::sleep_for(50ms);
  inbox = Inbox(*node.node, watcher);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0] == Down(mon, target, Term::atom("bye")));
  CHECK(Stat(*node.node, "link_entries") == 0);
}

TEST_CASE("monitor: a crash's reason is !tuple [:error, WHAT]") {
  TestNode node({kActor1});
  Pid watcher = SpawnActor(*node.node);
  Pid target = SpawnActor(*node.node);
  Term mon = Ok(*node.node, watcher, Cmd("monitor", Term(target)));
  (void)node->call(target, Cmd("crash", Term("boom")));
  auto inbox = WaitInbox(*node.node, watcher, 1);
  REQUIRE(inbox.size() == 1);
  const Term& reason = inbox[0].at("reason");
  REQUIRE(reason.is_tuple());
  CHECK(reason[0] == Term::atom("error"));
  CHECK(Contains(reason[1].as_string(), "boom"));
}

TEST_CASE("monitor of a process that is gone: down with :noproc at once") {
  TestNode node({kActor1});
  Pid watcher = SpawnActor(*node.node);
  Pid gone = SpawnActor(*node.node);
  REQUIRE(node->exit(gone, Term::atom("normal")).ok());
  Term mon = Ok(*node.node, watcher, Cmd("monitor", Term(gone)));
  auto inbox = WaitInbox(*node.node, watcher, 1);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0] == Down(mon, gone, Term::atom("noproc")));
}

TEST_CASE("monitor of a name nobody holds: down with :noproc and the name, at once") {
  TestNode node({kActor1});
  Pid watcher = SpawnActor(*node.node);
  Term mon = Ok(*node.node, watcher, Cmd("monitor", Term("nobody")));
  auto inbox = WaitInbox(*node.node, watcher, 1);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0].at("down") == mon);
  CHECK(inbox[0].at("reason") == Term::atom("noproc"));
  CHECK(inbox[0].at("name") == Term("nobody"));
  CHECK(inbox[0].at("pid").is_nil());
}

TEST_CASE("monitor by name watches the process that holds the name") {
  TestNode node({kActor1});
  Pid watcher = SpawnActor(*node.node);
  Pid named = SpawnActor(*node.node, Term::map({}), "db");
  Term mon = Ok(*node.node, watcher, Cmd("monitor", Term("db")));
  REQUIRE(node->exit("db", Term::atom("shutdown")).ok());
  auto inbox = WaitInbox(*node.node, watcher, 1);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0] == Down(mon, named, Term::atom("shutdown")));
}

TEST_CASE("demonitor: true while active, and then no down comes, and false after that") {
  TestNode node({kActor1});
  Pid watcher = SpawnActor(*node.node);
  Pid target = SpawnActor(*node.node);
  Term mon = Ok(*node.node, watcher, Cmd("monitor", Term(target)));
  CHECK(Ok(*node.node, watcher, Cmd("demonitor", mon)) == Term(true));
  CHECK(Ok(*node.node, watcher, Cmd("demonitor", mon)) == Term(false));
  Do(*node.node, target, Cmd("stop", Term::atom("bye")));
  REQUIRE(Gone(*node.node, target));
  std::this_thread::sleep_for(50ms);
  CHECK(Inbox(*node.node, watcher).empty());
  CHECK(Contains(Error(*node.node, watcher, Cmd("demonitor", Term(1))), "needs a monitor ref"));
}

TEST_CASE("two monitors of one process each fire once") {
  TestNode node({kActor1});
  Pid watcher = SpawnActor(*node.node);
  Pid target = SpawnActor(*node.node);
  Term m1 = Ok(*node.node, watcher, Cmd("monitor", Term(target)));
  Term m2 = Ok(*node.node, watcher, Cmd("monitor", Term(target)));
  CHECK(m1 != m2);
  REQUIRE(node->exit(target, Term::atom("normal")).ok());
  auto inbox = WaitInbox(*node.node, watcher, 2);
  REQUIRE(inbox.size() == 2);
  CHECK(inbox[0].at("down") != inbox[1].at("down"));
}

// ---------------------------------------------------------------- links

TEST_CASE("link: an abnormal exit ends the linked process with the same reason") {
  TestNode node({kActor1});
  Pid observer = SpawnActor(*node.node);
  Pid a = SpawnActor(*node.node);
  Pid b = SpawnActor(*node.node);
  Ok(*node.node, a, Cmd("link", Term(b)));
  Term mon = Ok(*node.node, observer, Cmd("monitor", Term(a)));
  Do(*node.node, b, Cmd("stop", Term::atom("broken")));
  REQUIRE(Gone(*node.node, a));
  auto inbox = WaitInbox(*node.node, observer, 1);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0] == Down(mon, a, Term::atom("broken")));
}

TEST_CASE("link is both ways: either end's abnormal exit ends the other") {
  TestNode node({kActor1});
  Pid a = SpawnActor(*node.node);
  Pid b = SpawnActor(*node.node);
  Ok(*node.node, a, Cmd("link", Term(b)));
  Do(*node.node, a, Cmd("stop", Term::atom("broken")));
  CHECK(Gone(*node.node, b));
}

TEST_CASE("link: a :normal exit does not propagate") {
  TestNode node({kActor1});
  Pid a = SpawnActor(*node.node);
  Pid b = SpawnActor(*node.node);
  Ok(*node.node, a, Cmd("link", Term(b)));
  Do(*node.node, b, Cmd("stop", Term::atom("normal")));
  REQUIRE(Gone(*node.node, b));
  std::this_thread::sleep_for(50ms);
  CHECK(Alive(*node.node, a));
  CHECK(node->resources(a)->at("links") == Term::list({}));
}

TEST_CASE("trap_exit: a linked process's exit arrives as {exit: PID, reason: R}") {
  TestNode node({kActor1});
  Pid a = SpawnActor(*node.node);
  Pid b = SpawnActor(*node.node);
  CHECK(Ok(*node.node, a, Cmd("trap_exit", Term(true))) == Term(false));
  Ok(*node.node, a, Cmd("link", Term(b)));
  Do(*node.node, b, Cmd("stop", Term::atom("broken")));
  auto inbox = WaitInbox(*node.node, a, 1);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0] == ExitMsg(Term(b), Term::atom("broken")));
  CHECK(Alive(*node.node, a));
  // :normal too is a message when trapping.
  Pid c = SpawnActor(*node.node);
  Ok(*node.node, a, Cmd("link", Term(c)));
  Do(*node.node, c, Cmd("stop", Term::atom("normal")));
  inbox = WaitInbox(*node.node, a, 2);
  REQUIRE(inbox.size() == 2);
  CHECK(inbox[1] == ExitMsg(Term(c), Term::atom("normal")));
}

TEST_CASE("unlink: the two no longer affect each other") {
  TestNode node({kActor1});
  Pid a = SpawnActor(*node.node);
  Pid b = SpawnActor(*node.node);
  Ok(*node.node, a, Cmd("link", Term(b)));
  Ok(*node.node, b, Cmd("unlink", Term(a)));
  Do(*node.node, b, Cmd("stop", Term::atom("broken")));
  REQUIRE(Gone(*node.node, b));
  std::this_thread::sleep_for(50ms);
  CHECK(Alive(*node.node, a));
  CHECK(Stat(*node.node, "link_entries") == 0);
}

TEST_CASE("link to a process that is gone is refused with noproc") {
  TestNode node({kActor1});
  Pid a = SpawnActor(*node.node);
  Pid gone = SpawnActor(*node.node);
  REQUIRE(node->exit(gone, Term::atom("normal")).ok());
  CHECK(Contains(Error(*node.node, a, Cmd("link", Term(gone))), "noproc"));
}

TEST_CASE("exit signals travel along a chain of 10,000 links") {
  TestNode node({kActor1});
  std::vector<Pid> chain;
  for (int i = 0; i < 10000; ++i) chain.push_back(SpawnActor(*node.node));
  for (size_t i = 1; i < chain.size(); ++i)
    Ok(*node.node, chain[i], Cmd("link", Term(chain[i - 1])));
  Do(*node.node, chain.front(), Cmd("stop", Term::atom("broken")));
  CHECK(Eventually([&] { return node->processes().empty(); }, 20s));
  CHECK(Stat(*node.node, "link_entries") == 0);
}

TEST_CASE("a link carrying :kill is an ordinary reason: trappable, and it ends others with :kill") {
  TestNode node({kActor1});
  Pid observer = SpawnActor(*node.node);
  Pid dying = SpawnActor(*node.node);
  Pid trapping = SpawnActor(*node.node, Yaml("{trap_exit: true}"));
  Pid plain = SpawnActor(*node.node);
  Ok(*node.node, trapping, Cmd("link", Term(dying)));
  Ok(*node.node, plain, Cmd("link", Term(dying)));
  Term mon = Ok(*node.node, observer, Cmd("monitor", Term(plain)));
  Do(*node.node, dying, Cmd("stop", Term::atom("kill")));
  auto inbox = WaitInbox(*node.node, trapping, 1);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0] ==
        ExitMsg(Term(dying), Term::atom("kill")));  // only exit/2's :kill is untrappable
  inbox = WaitInbox(*node.node, observer, 1);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0] == Down(mon, plain, Term::atom("kill")));
}

TEST_CASE("an init that spawns its own module nests only so deep: one spawn fails, not the node") {
  TestNode node({kActor1});
  Pid root = SpawnActor(*node.node, Yaml("{spawn_self: true}"));
  CHECK(node->processes().size() == 64);
  Pid deepest = root;
  while (const Term* child = node->get_state(deepest)->find("child")) deepest = child->as_pid();
  std::string why = node->get_state(deepest)->at("spawn_error").as_string();
  CHECK(Contains(why, "inits are already running one inside another"));
}

// ---------------------------------------------------------------- exit/2 and relup kill

TEST_CASE("exit(PID, :kill) cannot be trapped: the target ends with :killed") {
  TestNode node({kActor1});
  Pid killer = SpawnActor(*node.node);
  Pid target = SpawnActor(*node.node, Yaml("{trap_exit: true}"));
  Pid peer = SpawnActor(*node.node, Yaml("{trap_exit: true}"));
  Ok(*node.node, peer, Cmd("link", Term(target)));
  Ok(*node.node, killer, Cmd("exit", Term(target), "reason", Term::atom("kill")));
  REQUIRE(Gone(*node.node, target));
  auto inbox = WaitInbox(*node.node, peer, 1);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0] == ExitMsg(Term(target), Term::atom("killed")));  // what links see
}

TEST_CASE("exit(PID, R): ends a process that does not trap, and a trapping one gets a message") {
  TestNode node({kActor1});
  Pid sender = SpawnActor(*node.node);
  Pid plain = SpawnActor(*node.node);
  Pid trapping = SpawnActor(*node.node, Yaml("{trap_exit: true}"));
  Ok(*node.node, sender, Cmd("exit", Term(plain), "reason", Term::atom("normal")));
  Ok(*node.node, sender, Cmd("exit", Term(trapping), "reason", Term::atom("because")));
  auto inbox = WaitInbox(*node.node, trapping, 1);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0] == ExitMsg(Term(sender), Term::atom("because")));
  CHECK(Alive(*node.node, plain));  // :normal from another process is ignored
  Ok(*node.node, sender, Cmd("exit", Term(plain), "reason", Term::atom("because")));
  CHECK(Gone(*node.node, plain));
}

TEST_CASE("relup kill (Node::send_exit) reaches a suspended process, which ends at once") {
  TestNode node({kActor1});
  Pid watcher = SpawnActor(*node.node);
  Pid target = SpawnActor(*node.node);
  Term mon = Ok(*node.node, watcher, Cmd("monitor", Term(target)));
  REQUIRE(node->suspend(target).ok());
  REQUIRE(node->send(target, Term::atom("queued")).ok());
  REQUIRE(node->send_exit(target, Term::atom("kill")).ok());
  CHECK(!Alive(*node.node, target));  // no resume needed
  auto inbox = WaitInbox(*node.node, watcher, 1);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0] == Down(mon, target, Term::atom("killed")));
}

TEST_CASE("relup kill with a reason: a trapping process gets {exit: nil, reason: R}") {
  TestNode node({kActor1});
  Pid trapping = SpawnActor(*node.node, Yaml("{trap_exit: true}"), "svc");
  REQUIRE(node->send_exit("svc", Term::atom("reload")).ok());
  auto inbox = WaitInbox(*node.node, trapping, 1);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0] == ExitMsg(Term(), Term::atom("reload")));
  CHECK(node->send_exit("nobody", Term::atom("kill")).code() == StatusCode::kNotFound);
}

// ---------------------------------------------------------------- spawn from a process

TEST_CASE(
    "spawn from a process with link and monitor: both are in place before its first message") {
  TestNode node({kActor1});
  Pid parent = SpawnActor(*node.node, Yaml("{trap_exit: true}"));
  Term spawned = Ok(*node.node, parent,
                    Yaml("{spawn: rt_actor, args: {}, link: true, monitor: true, name: kid}"));
  Pid child = spawned.at("pid").as_pid();
  Term mon = spawned.at("monitor");
  CHECK(mon.is_ref(RefKind::kMonitor));
  CHECK(*node->whereis("kid") == child);
  CHECK(node->resources(child)->at("links") == Term::list({Term(parent)}));
  (void)node->call(child, Cmd("crash", Term("kid fell")));
  auto inbox = WaitInbox(*node.node, parent, 2);
  REQUIRE(inbox.size() == 2);
  // The exit signal and the down message, both with the crash's reason. (Their
  // order is not fixed: the exit message is made when the parent is next
  // taken, the down message is posted at once.)
  const Term& exit_msg = inbox[0].contains("exit") ? inbox[0] : inbox[1];
  const Term& down_msg = inbox[0].contains("exit") ? inbox[1] : inbox[0];
  CHECK(exit_msg.at("exit") == Term(child));
  CHECK(down_msg.at("down") == mon);
  CHECK(exit_msg.at("reason") == down_msg.at("reason"));
}

TEST_CASE("spawn from a process: a failed init is the caller's error, and nothing is linked") {
  TestNode node({kActor1});
  Pid parent = SpawnActor(*node.node);
  std::string why = Error(*node.node, parent, Yaml("{spawn: no_such_module, link: true}"));
  CHECK(Contains(why, "no_such_module"));
  CHECK(Alive(*node.node, parent));
  CHECK(Stat(*node.node, "link_entries") == 0);
}

TEST_CASE("spawn from outside the node cannot link or monitor") {
  TestNode node({kActor1});
  SpawnOptions o;
  o.link = true;
  auto pid = node->spawn("rt_actor", Term::map({}), o);
  REQUIRE_FALSE(pid.ok());
  CHECK(Contains(pid.status().message(), "ProcessContext::spawn"));
}

TEST_CASE("resources shows what the runtime keeps for a process") {
  TestNode node({kActor1});
  Pid a = SpawnActor(*node.node);
  Pid b = SpawnActor(*node.node);
  Ok(*node.node, a, Cmd("link", Term(b)));
  Term mon = Ok(*node.node, a, Cmd("monitor", Term(b)));
  Ok(*node.node, a, Cmd("send_after", Term(60000), "msg", Term(1)));
  Term r = *node->resources(a);
  CHECK(r.at("links") == Term::list({Term(b)}));
  CHECK(r.at("monitors")[0].at("monitor") == mon);
  CHECK(r.at("timers") == Term(1));
  CHECK(r.at("trap_exit") == Term(false));
  CHECK(node->resources(b)->at("monitored_by") == Term::list({Term(a)}));
}
