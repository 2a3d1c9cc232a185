// The supervisor's vocabulary and the checks of its args and child specs
// (supervisor_args.h). The builder runs the same checks as the node.
#include "supervision/supervisor_args.h"

#include <set>
#include <string>

#include "supervision/supervisor.h"

namespace relup::supervision {

namespace {

Term A(const char* name) {
  return Term::atom(name);
}

}  // namespace

// A word of the supervisor's vocabulary, written as an atom (:one_for_one)
// or, as a release spec's YAML reads a bare word, a string.
bool IsWord(const Term& t, const char* word) {
  return t.is_atom(word) || (t.is_string() && t.as_string() == word);
}

bool OneOf(const Term& t, std::initializer_list<const char*> words) {
  for (const char* w : words) {
    if (IsWord(t, w)) return true;
  }
  return false;
}

// The word as an atom (the state keeps atoms only).
Term AsAtom(const Term& t) {
  return t.is_string() ? Term::atom(t.as_string()) : t;
}

std::string Show(const Term& t) {
  return t.to_yaml();
}

// An id, a name or a module as the user wrote it: without YAML's atom colon.
std::string Text(const Term& t) {
  if (t.is_atom()) return std::string(t.as_atom());
  if (t.is_string()) return t.as_string();
  if (t.is_pid()) return t.as_pid().to_string();
  return Show(t);
}

// ---------------------------------------------------------------- checks

Status CheckChild(const Term& c, const std::string& where, bool is_template) {
  if (!c.is_map()) {
    return Status::InvalidArgument(where + ": a child spec is a map {id, module, ...}, not " +
                                   Show(c));
  }
  static const std::set<std::string, std::less<>> kKeys = {"id",      "module",   "args", "name",
                                                           "restart", "shutdown", "type"};
  for (const auto& [k, v] : c.entries()) {
    if (!k.is_atom() || kKeys.count(k.as_atom()) == 0) {
      return Status::InvalidArgument(where + ": unknown key " + Text(k) +
                                     "; a child spec has id, module, args, name, restart, "
                                     "shutdown and type");
    }
  }
  const Term* id = c.find("id");
  if (!is_template && (id == nullptr || !(id->is_atom() || id->is_string()))) {
    return Status::InvalidArgument(where + ".id: every child needs an id, an atom or a string");
  }
  const Term* module = c.find("module");
  if (module == nullptr || !(module->is_atom() || module->is_string()) ||
      (module->is_atom() ? module->as_atom() : module->as_string()).empty()) {
    return Status::InvalidArgument(where + ".module: name the module the child runs");
  }
  if (const Term* name = c.find("name"); name != nullptr && !name->is_nil()) {
    if (!(name->is_atom() || name->is_string())) {
      return Status::InvalidArgument(where + ".name: a registered name is an atom or a string");
    }
    if (is_template) {
      return Status::InvalidArgument(where +
                                     ".name: the children of a simple_one_for_one supervisor "
                                     "are many, so they cannot share a registered name");
    }
  }
  if (const Term* r = c.find("restart");
      r != nullptr && !OneOf(*r, {"permanent", "transient", "temporary"})) {
    return Status::InvalidArgument(where + ".restart: permanent, transient or temporary, not " +
                                   Show(*r));
  }
  if (const Term* s = c.find("shutdown"); s != nullptr) {
    bool ok = (s->is_int() && s->as_int() >= 0) || OneOf(*s, {"brutal_kill", "infinity"});
    if (!ok) {
      return Status::InvalidArgument(where +
                                     ".shutdown: milliseconds (0 or more), brutal_kill or "
                                     "infinity, not " +
                                     Show(*s));
    }
  }
  if (const Term* t = c.find("type"); t != nullptr && !OneOf(*t, {"worker", "supervisor"})) {
    return Status::InvalidArgument(where + ".type: worker or supervisor, not " + Show(*t));
  }
  return Status::Ok();
}

// A child spec with every default filled in, its words as atoms.
Term Normalized(const Term& c) {
  Term out = c;
  bool sup = c.find("type") != nullptr && IsWord(c.at("type"), "supervisor");
  if (c.find("args") == nullptr) out.set("args", Term());
  out.set("restart", c.find("restart") ? AsAtom(c.at("restart")) : A("permanent"));
  out.set("shutdown",
          c.find("shutdown") ? AsAtom(c.at("shutdown")) : (sup ? A("infinity") : Term(5000)));
  out.set("type", sup ? A("supervisor") : A("worker"));
  if (c.find("name") == nullptr) out.set("name", Term());
  return out;
}

Status CheckSupervisorArgs(const Term& args) {
  if (!args.is_map()) {
    return Status::InvalidArgument(
        "a supervisor's args are a map {strategy, intensity, "
        "period_ms, children}, not " +
        Show(args));
  }
  static const std::set<std::string, std::less<>> kKeys = {"strategy", "intensity", "period_ms",
                                                           "children", "parent"};
  for (const auto& [k, v] : args.entries()) {
    if (!k.is_atom() || kKeys.count(k.as_atom()) == 0) {
      return Status::InvalidArgument("unknown key " + Text(k) +
                                     "; a supervisor has strategy, intensity, period_ms and "
                                     "children");
    }
  }
  const Term* strategy = args.find("strategy");
  if (strategy != nullptr &&
      !OneOf(*strategy, {"one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one"})) {
    return Status::InvalidArgument(
        "strategy: one_for_one, one_for_all, rest_for_one or simple_one_for_one, not " +
        Show(*strategy));
  }
  if (const Term* i = args.find("intensity"); i != nullptr && (!i->is_int() || i->as_int() < 0)) {
    return Status::InvalidArgument(
        "intensity: the restarts allowed within period_ms, 0 or "
        "more, not " +
        Show(*i));
  }
  if (const Term* p = args.find("period_ms"); p != nullptr && (!p->is_int() || p->as_int() < 1)) {
    return Status::InvalidArgument("period_ms: milliseconds, 1 or more, not " + Show(*p));
  }
  const Term* children = args.find("children");
  if (children != nullptr && !children->is_nil() && !children->is_list()) {
    return Status::InvalidArgument("children: a list of child specs, not " + Show(*children));
  }
  bool simple = strategy != nullptr && IsWord(*strategy, "simple_one_for_one");
  size_t n = children != nullptr && children->is_list() ? children->size() : 0;
  if (simple && n != 1) {
    return Status::InvalidArgument(
        "children: a simple_one_for_one supervisor has exactly one child spec, the template "
        "its children start from (start_child), not " +
        std::to_string(n));
  }
  std::set<std::string, std::less<>> ids, names;
  for (size_t i = 0; i < n; ++i) {
    const Term& c = (*children)[i];
    std::string where = "children[" + std::to_string(i) + "]";
    RELUP_RETURN_IF_ERROR(CheckChild(c, where, simple));
    if (simple) continue;
    std::string id = Text(c.at("id"));
    if (!ids.insert(id).second) {
      return Status::InvalidArgument(where + ".id: " + id +
                                     " is the id of an earlier child too; give each child its own");
    }
    if (const Term* name = c.find("name"); name != nullptr && !name->is_nil()) {
      if (!names.insert(Text(*name)).second) {
        return Status::InvalidArgument(where + ".name: " + Text(*name) +
                                       " is registered by an earlier child too");
      }
    }
  }
  return Status::Ok();
}

Status CheckRootArgs(const Term& root) {
  if (!root.is_map()) {
    return Status::InvalidArgument("root: a map {strategy, intensity, period_ms}, not " +
                                   Show(root));
  }
  for (const auto& [k, v] : root.entries()) {
    if (!k.is_atom() ||
        (k.as_atom() != "strategy" && k.as_atom() != "intensity" && k.as_atom() != "period_ms")) {
      return Status::InvalidArgument("root: unknown key " + Text(k) +
                                     "; the root supervisor has strategy, intensity and "
                                     "period_ms (its children are the processes)");
    }
  }
  if (const Term* s = root.find("strategy"); s != nullptr && IsWord(*s, "simple_one_for_one")) {
    return Status::InvalidArgument(
        "root.strategy: the root starts the release's processes, so it is one_for_one, "
        "one_for_all or rest_for_one, not simple_one_for_one (start a simple_one_for_one "
        "supervisor under it)");
  }
  if (Status s = CheckSupervisorArgs(root); !s.ok())
    return Status::InvalidArgument("root." + s.message());
  return Status::Ok();
}

}  // namespace relup::supervision
