#include "supervision/supervisor_state.h"

#include <chrono>

namespace relup::supervision {
namespace {

Term A(const char* name) {
  return Term::atom(name);
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool Simple(const Term& state) {
  return state.at("strategy").is_atom("simple_one_for_one");
}
const std::vector<Term>& Children(const Term& state) {
  return state.at("children").elements();
}
Term Child(const Term& spec, Pid pid) {
  return Term::map({{A("id"), spec.at("id")},
                    {A("spec"), spec},
                    {A("pid"), Term(pid)},
                    {A("restarts"), Term(0)}});
}
int FindById(const Term& state, const Term& id) {
  const auto& cs = Children(state);
  for (size_t i = 0; i < cs.size(); ++i) {
    if (cs[i].at("id") == id) return static_cast<int>(i);
  }
  return -1;
}
int FindByIdNear(const Term& state, const Term& id, int64_t hint) {
  const auto& cs = Children(state);
  if (hint < 0 || static_cast<size_t>(hint) >= cs.size()) {
    hint = static_cast<int64_t>(cs.size()) - 1;
  }
  for (int64_t k = hint; k >= 0; --k) {
    if (cs[static_cast<size_t>(k)].at("id") == id) return static_cast<int>(k);
  }
  for (size_t k = static_cast<size_t>(hint) + 1; k < cs.size(); ++k) {
    if (cs[k].at("id") == id) return static_cast<int>(k);
  }
  return -1;
}
int FindByPidNear(const Term& state, Pid pid, int64_t hint) {
  const auto& cs = Children(state);
  if (hint >= 0 && static_cast<size_t>(hint) < cs.size()) {
    const Term& p = cs[static_cast<size_t>(hint)].at("pid");
    if (p.is_pid() && p.as_pid() == pid) return static_cast<int>(hint);
  }
  return FindByPid(state, pid);
}
int64_t AtHint(const Term& map) {
  const Term* at = map.is_map() ? map.find("at") : nullptr;
  return at != nullptr && at->is_int() ? at->as_int() : -1;
}
// A child named by its id, its pid, or its pid's text ("<0.5.0>", as the
// CLI gives a simple_one_for_one child's id).
int FindChild(const Term& state, const Term& who) {
  int i = FindById(state, who);
  if (i >= 0) return i;
  if (who.is_pid()) return FindByPid(state, who.as_pid());
  if (who.is_string()) {
    const auto& cs = Children(state);
    for (size_t k = 0; k < cs.size(); ++k) {
      const Term& p = cs[k].at("pid");
      if (p.is_pid() && p.as_pid().to_string() == who.as_string()) return static_cast<int>(k);
    }
  }
  return -1;
}
int FindByPid(const Term& state, Pid pid) {
  const auto& cs = Children(state);
  for (size_t i = 0; i < cs.size(); ++i) {
    const Term& p = cs[i].at("pid");
    if (p.is_pid() && p.as_pid() == pid) return static_cast<int>(i);
  }
  return -1;
}
Term& MutableChild(Term& state, size_t i) {
  return state.find_mut("children")->mutable_elements()[i];
}
void RemoveChild(Term& state, size_t i) {
  auto& cs = state.find_mut("children")->mutable_elements();
  cs.erase(cs.begin() + static_cast<std::ptrdiff_t>(i));
}
// A caller kept in the state until its reply (From is opaque: both words).
Term EncodeFrom(const From& from) {
  return Term::list(
      {Term(static_cast<long long>(from.caller)), Term(static_cast<long long>(from.tag))});
}
From DecodeFrom(const Term& t) {
  return From{static_cast<uint64_t>(t[0].as_int()), static_cast<uint64_t>(t[1].as_int())};
}

// A restart for `relup status` and `relup tree`: the total, and the last
// few with their child, reason and wall-clock time (a crash loop shows).
void RecordRestart(Term& state, const Term& id, const Term& reason) {
  const Term* total = state.find("restarts_total");
  state.set("restarts_total", Term((total != nullptr ? total->as_int() : 0) + 1));
  std::vector<Term> recent;
  if (const Term* r = state.find("recent_restarts")) recent = r->elements();
  long long at = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  recent.push_back(Term::map({{A("id"), id}, {A("reason"), reason}, {A("at_ms"), Term(at)}}));
  constexpr size_t kKeep = 5;
  if (recent.size() > kKeep) recent.erase(recent.begin(), recent.end() - kKeep);
  state.set("recent_restarts", Term::list(std::move(recent)));
}

// Ids of the running children from index `from` on, last first: the
// order they are stopped in.
std::vector<Term> RunningIds(const Term& state, size_t from) {
  std::vector<Term> out;
  const auto& cs = Children(state);
  for (size_t k = cs.size(); k > from; --k) {
    if (!cs[k - 1].at("pid").is_nil()) out.push_back(cs[k - 1].at("id"));
  }
  return out;
}

// Records a restart; false if that is one too many within the period.
bool CountRestart(Term& state) {
  int64_t now = NowMs(), period = state.at("period_ms").as_int();
  std::vector<Term> recent;
  for (const Term& t : state.at("restarts").elements()) {
    if (now - t.as_int() < period) recent.push_back(t);
  }
  recent.push_back(Term(static_cast<long long>(now)));
  bool ok = static_cast<int64_t>(recent.size()) <= state.at("intensity").as_int();
  state.set("restarts", Term::list(std::move(recent)));
  return ok;
}

}  // namespace relup::supervision
