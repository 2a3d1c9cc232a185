// Release spec parsing: the document, its modules and processes. The appup
// section is in appup_parse.cc.
#include "builder/spec.h"

#include <set>

#include "builder/appup_parse.h"
#include "builder/yaml_reader.h"
#include "config/release_config.h"
#include "core/yaml_scalar.h"
#include "release/atomic_file.h"
#include "relup/node.h"
#include "supervision/supervisor.h"
#include "supervision/supervisor_args.h"

namespace relup::build {
namespace {

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void ParseModules(YamlReader& r, const YAML::Node& root, ReleaseSpec* spec) {
  YAML::Node modules = root["modules"];
  if (!modules || modules.IsNull()) {
    r.error(root, "the release has no 'modules'",
            "add `modules:` with one `- {name: NAME, vsn: \"VSN\"}` per module");
    return;
  }
  std::set<std::string> seen;
  for (const auto& node : r.list(root, "modules", "modules")) {
    if (!r.expect_map(node, "module entry", {"name", "vsn", "library"})) continue;
    SpecModule m;
    m.loc = r.loc(node);
    auto name = r.required_string(node, "name", "module entry", "demo_server");
    auto vsn = r.required_string(node, "vsn", "module entry", "\"1\"");
    if (name && r.check_name(node["name"], "module name", *name)) m.name = *name;
    if (vsn && r.check_name(node["vsn"], "module vsn", *vsn)) m.vsn = *vsn;
    if (m.name.empty() || m.vsn.empty()) continue;
    if (m.name == supervision::kSupervisorModule) {
      r.error(node["name"], "module name 'supervisor' is the node's built-in supervisor",
              "rename the module; to supervise processes, start the built-in one from "
              "`processes:` with {module: supervisor, args: {strategy: ..., children: [...]}}");
      continue;
    }
    if (!seen.insert(m.name).second) {
      r.error(node, "module " + m.name + " is listed twice",
              "keep one entry per module (a release holds one version of each)");
      continue;
    }
    m.library = m.name + "-" + m.vsn + ".so";
    m.library_loc = m.loc;
    if (auto library = r.optional_string(node, "library")) {
      if (library->empty()) {
        r.error(node["library"], "'library' is empty", "give the library's file name or path");
      } else {
        m.library = *library;
        m.library_loc = r.loc(node["library"]);
      }
    }
    spec->modules.push_back(std::move(m));
  }
}

// What a process's module may be, for "did you mean": the release's modules
// and the built-in supervisor.
std::vector<std::string_view> Names(const std::set<std::string>& modules) {
  std::vector<std::string_view> names(modules.begin(), modules.end());
  names.push_back(supervision::kSupervisorModule);
  return names;
}

// A process of the built-in supervisor: its args are checked as the node
// will (every field, ids, names), and every child's module, down the tree,
// must be in the release or be a supervisor.
void CheckSupervisorTree(YamlReader& r, const YAML::Node& node, const Term& args,
                         const std::set<std::string>& modules, const std::string& path = "args") {
  YAML::Node at = node["args"] ? node["args"] : node;
  if (Status s = supervision::CheckSupervisorArgs(args); !s.ok()) {
    r.error(at, "supervisor " + path + ": " + s.message(),
            "see the supervisor's args in the README (strategy, intensity, period_ms, children)");
    return;
  }
  const Term* children = args.find("children");
  if (children == nullptr || !children->is_list()) return;
  for (size_t i = 0; i < children->size(); ++i) {
    const Term& c = (*children)[i];
    const Term& m = c.at("module");
    std::string module = m.is_atom() ? std::string(m.as_atom()) : m.as_string();
    std::string where = path + ".children[" + std::to_string(i) + "]";
    if (module == supervision::kSupervisorModule) {
      const Term* sub = c.find("args");
      CheckSupervisorTree(r, node, sub != nullptr ? *sub : Term(), modules, where + ".args");
    } else if (!modules.count(module)) {
      r.error(
          at,
          "supervisor child " + where + " runs module " + module + ", which is not in the release",
          UnknownModuleFix(module, Names(modules), "modules"));
    }
  }
}

// The registered names a tree's children take, at any depth.
void TreeNames(const Term& args, std::vector<std::string>* out) {
  const Term* children = args.find("children");
  if (children == nullptr || !children->is_list()) return;
  for (const Term& c : children->elements()) {
    if (!c.is_map()) continue;
    if (const Term* name = c.find("name"); name != nullptr && !name->is_nil()) {
      out->push_back(supervision::Text(*name));
    }
    if (const Term* sub = c.find("args"); sub != nullptr && sub->is_map()) TreeNames(*sub, out);
  }
}

class ProcessParser {
 public:
  ProcessParser(YamlReader& r, const std::vector<SpecModule>& modules) : r_(r) {
    for (const auto& m : modules) modules_.insert(m.name);
  }

  // A process entry (`{module, name, args, count, id, restart, shutdown}`)
  // or a `{supervisor: {...}}` entry, as the ReleaseProcess it starts.
  // nullopt when it is unusable (already reported).
  std::optional<ReleaseProcess> Entry(const YAML::Node& node, int depth) {
    if (node.IsMap() && node["supervisor"]) return SupervisorEntry(node, depth);
    if (!r_.expect_map(node, "process entry",
                       {"module", "name", "args", "count", "id", "restart", "shutdown"})) {
      return std::nullopt;
    }
    ReleaseProcess p;
    auto module = r_.required_string(node, "module", "process entry", "demo_server");
    if (!module) return std::nullopt;
    p.module = *module;
    Name(node, &p);
    p.args = r_.term(node, "args");
    p.count = static_cast<int>(
        r_.optional_int(node, "count", 1, 1000000, "4", "processes in the pool").value_or(1));
    ChildFields(node, &p);
    if (p.module == supervision::kSupervisorModule) {
      CheckSupervisorTree(r_, node, p.args, modules_);
    } else if (!modules_.count(p.module)) {
      r_.error(node["module"],
               "process " + ChildIdBase(p) + " runs module " + p.module +
                   ", which is not in the release",
               UnknownModuleFix(p.module, Names(modules_), "modules"));
    }
    return p;
  }

 private:
  // `{supervisor: {name, id, strategy, intensity, period_ms, restart,
  // shutdown, children: [ENTRY...]}}`: the built-in supervisor with its
  // children written as process entries (pools included) or supervisors.
  std::optional<ReleaseProcess> SupervisorEntry(const YAML::Node& outer, int depth) {
    if (!r_.expect_map(outer, "supervisor entry", {"supervisor"})) return std::nullopt;
    YAML::Node node = outer["supervisor"];
    if (!r_.expect_map(node, "supervisor",
                       {"name", "id", "strategy", "intensity", "period_ms", "restart", "shutdown",
                        "children"})) {
      return std::nullopt;
    }
    if (depth > 16) {
      r_.error(node, "supervisors nest more than 16 deep", "flatten the tree");
      return std::nullopt;
    }
    ReleaseProcess p;
    p.module = supervision::kSupervisorModule;
    Name(node, &p);
    if (p.name.empty() && !node["id"]) {
      r_.error(node, "a supervisor entry has neither a name nor an id",
               "add `name: SUP_NAME` (relup tree and relup sup use it)");
    }
    ChildFields(node, &p);
    Term args = Term::map({});
    for (const char* key : {"strategy", "intensity", "period_ms"}) {
      if (node[key]) args.set(key, r_.term(node, key));
    }
    std::vector<Term> children;
    bool simple = node["strategy"] && node["strategy"].IsScalar() &&
                  node["strategy"].Scalar() == "simple_one_for_one";
    std::vector<ReleaseProcess> earlier;
    for (const auto& c : r_.list(node, "children", "children")) {
      std::optional<ReleaseProcess> child = Entry(c, depth + 1);
      if (!child) continue;
      for (const auto& e : earlier) {
        if (std::string id = SharedChildId(e, *child); !id.empty()) {
          r_.error(c, "child id " + id + " is used by two children of this supervisor",
                   "give one of them an `id:`");
        }
      }
      std::vector<Term> specs = ChildSpecs(*child, 0, child->count);
      if (simple) {
        // The template: no id, no name (each child gets its pid as id).
        for (Term& spec : specs) {
          spec = spec.erase("id");
          spec = spec.erase("name");
        }
      }
      for (Term& spec : specs) children.push_back(std::move(spec));
      earlier.push_back(std::move(*child));
    }
    args.set("children", Term::list(std::move(children)));
    p.args = std::move(args);
    CheckSupervisorTree(r_, node, p.args, modules_);
    return p;
  }

  void Name(const YAML::Node& node, ReleaseProcess* p) {
    p->name = r_.optional_string(node, "name").value_or("");
    // release.yaml is YAML text, which carries only UTF-8: other bytes would
    // come back from it as different characters.
    if (!detail::IsValidUtf8(p->name)) {
      r_.error(node["name"], "process name is not valid UTF-8",
               "save the spec as UTF-8, or give the process an ASCII name");
    }
    if (std::string why = RegisteredNameProblem(p->name); !why.empty()) {
      r_.error(node["name"], "process name '" + p->name + "' " + why,
               "choose a name such as " + (p->module.empty() ? "my_sup" : p->module) +
                   "_main, or leave 'name' out");
    }
    if (p->name == kRootSupervisorName) {
      r_.error(node["name"],
               std::string("process name ") + kRootSupervisorName +
                   " is the node's root supervisor, which starts the release's "
                   "processes",
               "choose another name");
    }
  }

  // id, restart and shutdown: the entry's child spec under its supervisor.
  void ChildFields(const YAML::Node& node, ReleaseProcess* p) {
    p->id = r_.optional_string(node, "id").value_or("");
    if (node["id"] && p->id.empty()) {
      r_.error(node["id"], "'id' is empty", "give the child an id, or leave 'id' out");
    }
    if (node["restart"]) p->restart = r_.term(node, "restart");
    if (node["shutdown"]) p->shutdown = r_.term(node, "shutdown");
    for (const Term& spec : ChildSpecs(*p, 0, 1)) {
      if (Status s = supervision::CheckChild(spec, "child " + ChildIdBase(*p), false); !s.ok()) {
        YAML::Node at = node;
        for (const char* key : {"restart", "shutdown", "id"}) {
          if (s.message().find(std::string(".") + key) != std::string::npos && node[key]) {
            at.reset(node[key]);  // rebind, not assign (assigning overwrites `node`)
          }
        }
        r_.error(at, s.message(),
                 "restart: permanent, transient or temporary; shutdown: milliseconds, "
                 "brutal_kill or infinity");
      }
    }
  }

  YamlReader& r_;
  std::set<std::string> modules_;
};

void ParseProcesses(YamlReader& r, const YAML::Node& root, ReleaseSpec* spec) {
  ProcessParser parser(r, spec->modules);
  std::vector<std::pair<std::string, YAML::Node>> tree_names;  // names below the root's children
  for (const auto& node : r.list(root, "processes", "processes")) {
    std::optional<ReleaseProcess> process = parser.Entry(node, 0);
    if (!process) continue;
    SpecProcess p;
    p.loc = r.loc(node);
    p.process = std::move(*process);
    for (const auto& earlier : spec->processes) {
      std::string shared = SharedRegisteredName(earlier.process, p.process);
      if (!shared.empty()) {
        r.error(node, "registered name " + shared + " is used by two processes",
                "give each process its own name");
      }
      if (std::string id = SharedChildId(earlier.process, p.process); !id.empty()) {
        r.error(node, "child id " + id + " is used by two processes under the root",
                "give one of them an `id:` (a child id is its id, else its name, else its "
                "module)");
      }
    }
    if (p.process.module == supervision::kSupervisorModule) {
      std::vector<std::string> names;
      TreeNames(p.process.args, &names);
      for (auto& n : names) tree_names.emplace_back(std::move(n), node);
    }
    spec->processes.push_back(std::move(p));
  }
  // A registered name is node-wide: one in a tree may not be taken by
  // another tree or by a process of the root.
  std::set<std::string> seen;
  for (const auto& [name, node] : tree_names) {
    if (!seen.insert(name).second) {
      r.error(node, "registered name " + name + " is used twice in the supervision tree",
              "give each process its own name");
      continue;
    }
    ReleaseProcess one;
    one.name = name;
    for (const auto& p : spec->processes) {
      if (!SharedRegisteredName(p.process, one).empty()) {
        r.error(node,
                "registered name " + name + " is used in a supervision tree and by " + "process " +
                    ChildIdBase(p.process),
                "give each process its own name");
      }
    }
  }
}

// The YAML node a config error's path names ("config.kv_acceptor.port: ..."):
// as deep as the path goes in the document.
YAML::Node ConfigErrorNode(const YAML::Node& root, const std::string& message) {
  std::string path = message.substr(0, message.find_first_of(" :"));
  YAML::Node at = root;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!at.IsMap() || !at[part]) break;
    at.reset(at[part]);  // rebind: `at = at[part]` would overwrite the node `at` refers to
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return at;
}

// config: and config_schema:, checked as the node will check them.
void ParseConfig(YamlReader& r, const YAML::Node& root, ReleaseSpec* spec) {
  if (!root["config"] && !root["config_schema"]) return;
  spec->config = r.term(root, "config");
  spec->config_schema = r.term(root, "config_schema");
  std::vector<std::string> modules;
  for (const auto& m : spec->modules) modules.push_back(m.name);
  Status s = CheckReleaseConfig(spec->config, spec->config_schema, modules);
  if (s.ok()) return;
  r.error(ConfigErrorNode(root, s.message()), s.message(),
          "config: {MODULE: {KEY: VALUE}}; config_schema: {MODULE: {KEY: TYPE or {type: TYPE, "
          "required: true}}} (see the README's configuration section)");
}

}  // namespace

std::optional<ReleaseSpec> ParseSpec(const std::string& text, const std::string& path,
                                     Diagnostics* diags) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    SourceLoc loc{path, e.mark.line >= 0 ? e.mark.line + 1 : 0,
                  e.mark.column >= 0 ? e.mark.column + 1 : 0};
    diags->error(loc, "malformed YAML: " + e.msg,
                 "fix the YAML syntax (indentation, ':' after keys, matching quotes and brackets)");
    return std::nullopt;
  }
  YamlReader r(path, diags);
  ReleaseSpec spec;
  spec.path = path;
  spec.dir = DirOf(path);
  spec.loc = {path, 0, 0};
  if (!root.IsMap()) {
    diags->error({path, 1, 1}, "a release spec must be a YAML map",
                 "start with `release: NAME` and `vsn: \"VSN\"` (see the README)");
    return spec;
  }
  r.expect_map(
      root, "the release spec",
      {"release", "vsn", "modules", "processes", "root", "config", "config_schema", "appup"});
  if (auto name = r.required_string(root, "release", "the release spec", "demo")) {
    if (r.check_name(root["release"], "release name", *name)) spec.name = *name;
  }
  if (auto vsn = r.required_string(root, "vsn", "the release spec", "\"2\"")) {
    if (r.check_name(root["vsn"], "release vsn", *vsn)) spec.vsn = *vsn;
    spec.vsn_loc = r.loc(root["vsn"]);
  }
  ParseModules(r, root, &spec);
  ParseProcesses(r, root, &spec);
  if (root["root"] && !root["root"].IsNull()) {
    spec.root = r.term(root, "root");
    if (Status s = supervision::CheckRootArgs(spec.root); !s.ok()) {
      r.error(root["root"], s.message(),
              "root: {strategy: one_for_one, intensity: 5, period_ms: 10000} (each optional)");
      spec.root = Term();
    }
  }
  ParseConfig(r, root, &spec);
  if (root["appup"] && !root["appup"].IsNull()) ParseAppup(r, root["appup"], spec.vsn, &spec.appup);
  return spec;
}

std::optional<ReleaseSpec> ParseSpecFile(const std::string& path, Diagnostics* diags) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) {
    diags->error({path, 0, 0}, "cannot read the release spec " + path,
                 "check the path (specs usually live in release-specs/)");
    return std::nullopt;
  }
  return ParseSpec(*text, path, diags);
}

}  // namespace relup::build
