// Release configuration checks, diffs and the running store (release_config.h).
#include "config/release_config.h"

#include <algorithm>
#include <set>
#include <vector>

namespace relup {
namespace {

std::string Text(const Term& t) {
  if (t.is_atom()) return std::string(t.as_atom());
  if (t.is_string()) return t.as_string();
  return t.to_yaml();
}

const char* const kTypes[] = {"int",  "float", "string", "bool", "atom",
                              "list", "map",   "binary", "any"};

bool HasType(const Term& v, std::string_view type) {
  if (type == "any") return true;
  if (type == "int") return v.is_int();
  if (type == "float") return v.is_float() || v.is_int();
  if (type == "string") return v.is_string();
  if (type == "bool") return v.is_bool();
  if (type == "atom") return v.is_atom();
  if (type == "list") return v.is_list();
  if (type == "map") return v.is_map();
  if (type == "binary") return v.is_binary();
  return false;
}

std::string KindOf(const Term& v) {
  if (v.is_int()) return "an int";
  if (v.is_float()) return "a float";
  if (v.is_string()) return "a string";
  if (v.is_bool()) return "a bool";
  if (v.is_atom()) return "an atom";
  if (v.is_list()) return "a list";
  if (v.is_map()) return "a map";
  if (v.is_binary()) return "a binary";
  if (v.is_nil()) return "nil";
  return v.to_yaml();
}

// A schema entry: `TYPE` or {type: TYPE, required: BOOL}.
Status ReadField(const Term& entry, const std::string& where, std::string* type, bool* required) {
  const Term* t = &entry;
  *required = false;
  if (entry.is_map()) {
    for (const auto& [k, v] : entry.entries()) {
      if (!k.is_atom("type") && !k.is_atom("required")) {
        return Status::InvalidArgument(where + ": unknown key " + Text(k) +
                                       "; a schema entry has type and required");
      }
    }
    t = entry.find("type");
    if (const Term* r = entry.find("required")) {
      if (!r->is_bool()) return Status::InvalidArgument(where + ".required: true or false");
      *required = r->as_bool();
    }
    if (t == nullptr) return Status::InvalidArgument(where + ": no type; add `type: int` (or ...)");
  }
  std::string name = t->is_atom() || t->is_string() ? Text(*t) : "";
  if (std::find(std::begin(kTypes), std::end(kTypes), name) == std::end(kTypes)) {
    return Status::InvalidArgument(where + ": type " + t->to_yaml() +
                                   " is not one of int, float, string, bool, atom, list, map, "
                                   "binary, any");
  }
  *type = name;
  return Status::Ok();
}

}  // namespace

Status CheckReleaseConfig(const Term& config, const Term& schema,
                          const std::vector<std::string>& modules) {
  auto known = [&](const std::string& m) {
    return std::find(modules.begin(), modules.end(), m) != modules.end();
  };
  if (!config.is_nil() && !config.is_map()) {
    return Status::InvalidArgument("config: a map of module name to that module's keys, not " +
                                   config.to_yaml());
  }
  if (!schema.is_nil() && !schema.is_map()) {
    return Status::InvalidArgument("config_schema: a map of module name to its keys' types, not " +
                                   schema.to_yaml());
  }
  if (config.is_map()) {
    for (const auto& [m, keys] : config.entries()) {
      std::string where = "config." + Text(m);
      if (!known(Text(m))) {
        return Status::InvalidArgument(where + ": " + Text(m) +
                                       " is not a module of the release; config is per module");
      }
      if (!keys.is_map()) {
        return Status::InvalidArgument(where + ": a map of keys, not " + keys.to_yaml());
      }
      for (const auto& [k, v] : keys.entries()) {
        if (!k.is_atom()) {
          return Status::InvalidArgument(where + ": key " + k.to_yaml() +
                                         " is not a word; write keys as plain words");
        }
      }
    }
  }
  if (!schema.is_map()) return Status::Ok();
  for (const auto& [m, fields] : schema.entries()) {
    std::string where = "config_schema." + Text(m);
    if (!known(Text(m))) {
      return Status::InvalidArgument(where + ": " + Text(m) + " is not a module of the release");
    }
    if (!fields.is_map()) {
      return Status::InvalidArgument(where + ": a map of key to type, not " + fields.to_yaml());
    }
    const Term* values = config.is_map() ? config.find(m) : nullptr;
    for (const auto& [k, entry] : fields.entries()) {
      std::string type;
      bool required = false;
      RELUP_RETURN_IF_ERROR(ReadField(entry, where + "." + Text(k), &type, &required));
      const Term* v = values != nullptr ? values->find(k) : nullptr;
      std::string path = "config." + Text(m) + "." + Text(k);
      if (v == nullptr) {
        if (required) {
          return Status::InvalidArgument(path +
                                         " is required by config_schema but missing; add "
                                         "it to config." +
                                         Text(m));
        }
        continue;
      }
      if (!HasType(*v, type)) {
        return Status::InvalidArgument(path + " must be " + type + " (config_schema), not " +
                                       KindOf(*v) + " " + v->to_yaml());
      }
    }
    if (values != nullptr) {
      for (const auto& [k, v] : values->entries()) {
        if (fields.find(k) == nullptr) {
          return Status::InvalidArgument("config." + Text(m) + "." + Text(k) +
                                         " is not in config_schema." + Text(m) +
                                         ": fix the key's name, or add it to the schema");
        }
      }
    }
  }
  return Status::Ok();
}

ConfigDelta DiffModuleConfig(const Term& before, const Term& after) {
  ConfigDelta d;
  std::vector<Term> removed;
  if (after.is_map()) {
    for (const auto& [k, v] : after.entries()) {
      const Term* old = before.is_map() ? before.find(k) : nullptr;
      if (old == nullptr) {
        d.added.set(k, v);
      } else if (!(*old == v)) {
        d.changed.set(k, v);
      }
    }
  }
  if (before.is_map()) {
    for (const auto& [k, v] : before.entries()) {
      if (!after.is_map() || after.find(k) == nullptr) removed.push_back(k);
    }
  }
  d.removed = Term::list(std::move(removed));
  return d;
}

Term ConfigStore::get(std::string_view module, std::string_view key) const {
  std::shared_ptr<const Term> now = current_.load(std::memory_order_acquire);
  const Term* m = now->find(Term::atom(module));
  if (m == nullptr) m = now->find(Term(std::string(module)));
  if (m == nullptr || !m->is_map()) return Term();
  const Term* v = m->find(key);
  return v != nullptr ? *v : Term();
}

}  // namespace relup
