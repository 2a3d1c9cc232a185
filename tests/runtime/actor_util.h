// Driving rt_actor (tests/modules/runtime/actor.cc) from a test: one
// ProcessContext call per request, and what arrived in its handle_info.
#pragma once

#include <string>

#include "runtime_test_util.h"

namespace relup::test {

inline const std::string kActor1 = TestModule("rt_actor-1.so");
inline const std::string kActor2 = TestModule("rt_actor-2.so");

// The {ok: V} | {error: E} reply of one command.
inline Term Do(Node& node, Pid actor, Term command) {
  auto r = node.call(actor, std::move(command));
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

// V of an {ok: V} reply; fails the test on {error: E}.
inline Term Ok(Node& node, Pid actor, Term command) {
  Term r = Do(node, actor, command);
  INFO(command.to_yaml() + " -> " + r.to_yaml());
  REQUIRE(r.find("ok") != nullptr);
  return r.at("ok");
}

// E of an {error: E} reply; fails the test on {ok: V}.
inline std::string Error(Node& node, Pid actor, Term command) {
  Term r = Do(node, actor, command);
  INFO(command.to_yaml() + " -> " + r.to_yaml());
  REQUIRE(r.find("error") != nullptr);
  return r.at("error").as_string();
}

inline Term Cmd(std::string_view key, Term value) {
  return Term::map({{Term::atom(key), std::move(value)}});
}
inline Term Cmd(std::string_view k1, Term v1, std::string_view k2, Term v2) {
  return Term::map({{Term::atom(k1), std::move(v1)}, {Term::atom(k2), std::move(v2)}});
}

// Read with get_state, a sys operation and not a message: it does not count
// as mail (a gen_server timeout runs on through it).
inline std::vector<Term> Inbox(Node& node, Pid actor) {
  auto r = node.get_state(actor);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return r->at("inbox").elements();
}

// Waits until the actor's inbox holds at least n messages; returns it.
inline std::vector<Term> WaitInbox(Node& node, Pid actor, size_t n,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  std::vector<Term> inbox;
  Eventually([&] { return (inbox = Inbox(node, actor)).size() >= n; }, timeout);
  return inbox;
}

inline Pid SpawnActor(Node& node, Term args = Term::map({}), std::string name = {}) {
  SpawnOptions o;
  o.name = std::move(name);
  auto pid = node.spawn("rt_actor", std::move(args), o);
  INFO(pid.status().ToString());
  REQUIRE(pid.ok());
  return *pid;
}

inline int64_t Stat(const Node& node, const char* key) {
  return node.io_stats().at(key).as_int();
}

}  // namespace relup::test
