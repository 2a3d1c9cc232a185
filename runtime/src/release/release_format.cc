// release.yaml: canonical writing and strict reading (relup/release.h).
#include <functional>
#include <set>

#include "config/release_config.h"
#include "release/format_yaml.h"
#include "relup/node.h"
#include "relup/release.h"
#include "supervision/supervisor.h"
#include "supervision/supervisor_args.h"

namespace relup {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '+' || c == '-';
}

}  // namespace

std::vector<std::string> RegisteredNames(const ReleaseProcess& process) {
  std::vector<std::string> names;
  if (process.name.empty()) return names;
  if (process.count == 1) {
    names.push_back(process.name);
    return names;
  }
  for (int i = 1; i <= process.count; ++i) names.push_back(process.name + "_" + std::to_string(i));
  return names;
}

namespace {

// Whether `name` is one of pool's names NAME_1 .. NAME_COUNT (count > 1).
bool InPool(const ReleaseProcess& pool, std::string_view name) {
  std::string_view prefix = pool.name;
  if (name.size() <= prefix.size() + 1 || name.substr(0, prefix.size()) != prefix ||
      name[prefix.size()] != '_') {
    return false;
  }
  std::string_view digits = name.substr(prefix.size() + 1);
  if (digits.size() > 7 || digits[0] == '0') return false;  // counts are <= 1,000,000
  int k = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    k = k * 10 + (c - '0');
  }
  return k >= 1 && k <= pool.count;
}

}  // namespace

std::string SharedRegisteredName(const ReleaseProcess& a, const ReleaseProcess& b) {
  if (a.name.empty() || b.name.empty()) return "";
  const bool a_pool = a.count > 1, b_pool = b.count > 1;
  if (!a_pool && !b_pool) return a.name == b.name ? a.name : "";
  if (a_pool && b_pool) {
    // NAME_k never equals OTHER_j for different prefixes: the part after the
    // shorter prefix's '_' would have to be all digits and contain a '_'.
    return a.name == b.name ? a.name + "_1" : "";
  }
  const ReleaseProcess& pool = a_pool ? a : b;
  const std::string& single = a_pool ? b.name : a.name;
  return InPool(pool, single) ? single : "";
}

Term RootArgs(const Term& root) {
  Term args = Term::map({{Term::atom("strategy"), Term::atom("one_for_one")},
                         {Term::atom("intensity"), Term(5)},
                         {Term::atom("period_ms"), Term(10000)}});
  if (root.is_map()) {
    for (const auto& [k, v] : root.entries()) args.set(k, v);
  }
  args.set("children", Term::list({}));
  return args;
}

std::string ChildIdBase(const ReleaseProcess& process) {
  if (!process.id.empty()) return process.id;
  return process.name.empty() ? process.module : process.name;
}

std::string SharedChildId(const ReleaseProcess& a, const ReleaseProcess& b) {
  ReleaseProcess x = a, y = b;
  x.name = ChildIdBase(a);
  y.name = ChildIdBase(b);
  x.args = y.args = Term();
  return SharedRegisteredName(x, y);
}

std::vector<Term> ChildSpecs(const ReleaseProcess& process, int first, int n) {
  std::vector<Term> out;
  const std::string base = ChildIdBase(process);
  const bool supervisor = process.module == supervision::kSupervisorModule;
  for (int i = first; i < first + n && i < process.count; ++i) {
    std::string suffix = process.count == 1 ? "" : "_" + std::to_string(i + 1);
    Term spec = Term::map({{Term::atom("id"), Term(base + suffix)},
                           {Term::atom("module"), Term(process.module)},
                           {Term::atom("args"), process.args}});
    if (!process.name.empty()) spec.set("name", Term(process.name + suffix));
    if (!process.restart.is_nil()) spec.set("restart", process.restart);
    if (!process.shutdown.is_nil()) spec.set("shutdown", process.shutdown);
    if (supervisor) spec.set("type", Term::atom("supervisor"));
    out.push_back(std::move(spec));
  }
  return out;
}

namespace {

// Visits every supervisor child spec below `args`, parents first.
void EachSupervisorChild(const Term& args, const std::function<bool(const Term& spec)>& visit) {
  const Term* children = args.is_map() ? args.find("children") : nullptr;
  if (children == nullptr || !children->is_list()) return;
  for (const Term& c : children->elements()) {
    if (!c.is_map()) continue;
    const Term* type = c.find("type");
    const Term* module = c.find("module");
    bool sup = (type != nullptr && supervision::IsWord(*type, "supervisor")) ||
               (module != nullptr && supervision::IsWord(*module, supervision::kSupervisorModule));
    if (!sup) continue;
    if (!visit(c)) return;
    if (const Term* sub = c.find("args")) EachSupervisorChild(*sub, visit);
  }
}

}  // namespace

std::optional<Term> SupervisorArgsIn(const Release& release, std::string_view name) {
  if (name == kRootSupervisorName) {
    Term args = RootArgs(release.root);
    std::vector<Term> children;
    for (const ReleaseProcess& p : release.processes) {
      for (Term& spec : ChildSpecs(p, 0, p.count)) children.push_back(std::move(spec));
    }
    args.set("children", Term::list(std::move(children)));
    return args;
  }
  std::optional<Term> found;
  for (const ReleaseProcess& p : release.processes) {
    if (p.module != supervision::kSupervisorModule) continue;
    if (p.name == name && p.count == 1) return p.args;
    EachSupervisorChild(p.args, [&](const Term& spec) {
      const Term* n = spec.find("name");
      if (n != nullptr && supervision::Text(*n) == name) {
        const Term* a = spec.find("args");
        found = a != nullptr ? *a : Term::map({});
        return false;
      }
      return true;
    });
    if (found) return found;
  }
  return std::nullopt;
}

std::vector<std::string> SupervisorNames(const Release& release) {
  std::vector<std::string> out;
  for (const ReleaseProcess& p : release.processes) {
    if (p.module != supervision::kSupervisorModule) continue;
    if (!p.name.empty() && p.count == 1) out.push_back(p.name);
    EachSupervisorChild(p.args, [&](const Term& spec) {
      const Term* n = spec.find("name");
      if (n != nullptr && !n->is_nil()) out.push_back(supervision::Text(*n));
      return true;
    });
  }
  return out;
}

const ReleaseModule* Release::find_module(std::string_view module) const {
  for (const auto& m : modules) {
    if (m.name == module) return &m;
  }
  return nullptr;
}

std::string ReleaseYamlPath(std::string_view vsn) {
  return "releases/" + std::string(vsn) + "/release.yaml";
}

std::string RelupYamlPath(std::string_view vsn) {
  return "releases/" + std::string(vsn) + "/relup.yaml";
}

std::string ModuleLibraryPath(std::string_view name, std::string_view vsn) {
  return "lib/" + std::string(name) + "-" + std::string(vsn) + "/" + std::string(name) + ".so";
}

Status ValidatePathName(std::string_view what, std::string_view value) {
  bool ok = !value.empty() && value.size() <= 64 && value.front() != '.';
  for (char c : value) ok = ok && IsNameChar(c);
  if (ok) return Status::Ok();
  return Status::InvalidArgument(std::string(what) + " '" + std::string(value) +
                                 "' is not valid: use 1 to 64 of A-Z a-z 0-9 . _ + -, not "
                                 "starting with '.'");
}

std::string ReleaseToYaml(const Release& release) {
  using format::Quote;
  std::string out;
  out += "format: " + std::to_string(kReleaseFormat) + "\n";
  out += "name: " + Quote(release.name) + "\n";
  out += "vsn: " + Quote(release.vsn) + "\n";
  out += release.modules.empty() ? "modules: []\n" : "modules:\n";
  for (const auto& m : release.modules) {
    out += "  - name: " + Quote(m.name) + "\n";
    out += "    vsn: " + Quote(m.vsn) + "\n";
    out += "    sha256: " + Quote(m.sha256) + "\n";
    out += "    build_id: " + Quote(m.build_id) + "\n";
    out += std::string("    has_code_change: ") + (m.has_code_change ? "true" : "false") + "\n";
    out += "    path: " + Quote(m.path) + "\n";
  }
  out += release.processes.empty() ? "processes: []\n" : "processes:\n";
  for (const auto& p : release.processes) {
    out += "  - module: " + Quote(p.module) + "\n";
    out += "    name: " + Quote(p.name) + "\n";
    out += "    args: " + p.args.to_yaml() + "\n";
    out += "    count: " + std::to_string(p.count) + "\n";
    if (!p.id.empty()) out += "    id: " + Quote(p.id) + "\n";
    if (!p.restart.is_nil()) out += "    restart: " + p.restart.to_yaml() + "\n";
    if (!p.shutdown.is_nil()) out += "    shutdown: " + p.shutdown.to_yaml() + "\n";
  }
  if (!release.root.is_nil()) out += "root: " + release.root.to_yaml() + "\n";
  if (!release.config.is_nil()) out += "config: " + release.config.to_yaml() + "\n";
  if (!release.config_schema.is_nil()) {
    out += "config_schema: " + release.config_schema.to_yaml() + "\n";
  }
  return out;
}

Result<Release> ParseReleaseYaml(std::string_view text, std::string_view source) {
  using namespace format;
  RELUP_ASSIGN_OR_RETURN(YAML::Node root, Load(text, source));
  RELUP_RETURN_IF_ERROR(ExpectMap(
      root, source, "release.yaml",
      {"format", "name", "vsn", "modules", "processes", "root", "config", "config_schema"}));
  RELUP_RETURN_IF_ERROR(CheckFormat(root, source, kReleaseFormat));
  Release release;
  RELUP_ASSIGN_OR_RETURN(release.name, String(root, "name", source));
  RELUP_ASSIGN_OR_RETURN(release.vsn, String(root, "vsn", source));
  for (auto [what, value] :
       {std::pair{"release name", &release.name}, {"release vsn", &release.vsn}}) {
    Status valid = ValidatePathName(what, *value);
    if (!valid.ok()) return ErrorAt(root, source, valid.message());
  }

  YAML::Node modules = root["modules"];
  if (!modules) return ErrorAt(root, source, "missing key 'modules'");
  RELUP_RETURN_IF_ERROR(ExpectSequence(modules, source, "modules"));
  std::set<std::string> names;
  for (const auto& node : modules) {
    RELUP_RETURN_IF_ERROR(
        ExpectMap(node, source, "module entry",
                  {"name", "vsn", "sha256", "build_id", "has_code_change", "path"}));
    ReleaseModule m;
    RELUP_ASSIGN_OR_RETURN(m.name, String(node, "name", source));
    RELUP_ASSIGN_OR_RETURN(m.vsn, String(node, "vsn", source));
    RELUP_ASSIGN_OR_RETURN(m.sha256, String(node, "sha256", source));
    RELUP_ASSIGN_OR_RETURN(m.build_id, String(node, "build_id", source, ""));
    RELUP_ASSIGN_OR_RETURN(m.has_code_change, Bool(node, "has_code_change", source, false));
    RELUP_ASSIGN_OR_RETURN(m.path, String(node, "path", source));
    for (auto [what, value] : {std::pair{"module name", &m.name}, {"module vsn", &m.vsn}}) {
      Status valid = ValidatePathName(what, *value);
      if (!valid.ok()) return ErrorAt(node, source, valid.message());
    }
    if (m.path != ModuleLibraryPath(m.name, m.vsn)) {
      return ErrorAt(node["path"], source,
                     "module " + m.name + " has path '" + m.path + "', expected '" +
                         ModuleLibraryPath(m.name, m.vsn) + "'");
    }
    if (!names.insert(m.name).second) {
      return ErrorAt(node, source, "module " + m.name + " is listed twice");
    }
    release.modules.push_back(std::move(m));
  }

  YAML::Node processes = root["processes"];
  if (processes) {
    RELUP_RETURN_IF_ERROR(ExpectSequence(processes, source, "processes"));
    for (const auto& node : processes) {
      RELUP_RETURN_IF_ERROR(
          ExpectMap(node, source, "process entry",
                    {"module", "name", "args", "count", "id", "restart", "shutdown"}));
      ReleaseProcess p;
      p.line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
      RELUP_ASSIGN_OR_RETURN(p.id, String(node, "id", source, ""));
      if (node["restart"]) {
        RELUP_ASSIGN_OR_RETURN(p.restart, TermField(node, "restart", source));
      }
      if (node["shutdown"]) {
        RELUP_ASSIGN_OR_RETURN(p.shutdown, TermField(node, "shutdown", source));
      }
      RELUP_ASSIGN_OR_RETURN(p.module, String(node, "module", source));
      RELUP_ASSIGN_OR_RETURN(p.name, String(node, "name", source, ""));
      RELUP_ASSIGN_OR_RETURN(p.args, TermField(node, "args", source));
      RELUP_ASSIGN_OR_RETURN(int64_t count, Int(node, "count", source, 1));
      if (count < 1 || count > 1000000) {
        return ErrorAt(node, source, "process count must be between 1 and 1000000");
      }
      p.count = static_cast<int>(count);
      if (std::string why = RegisteredNameProblem(p.name); !why.empty()) {
        return ErrorAt(node, source, "process name '" + p.name + "' " + why);
      }
      // The built-in supervisor is in every node, never in a release.
      if (!names.count(p.module) && p.module != supervision::kSupervisorModule) {
        return ErrorAt(
            node, source,
            "process " + p.name + " runs module " + p.module + ", which is not in the release");
      }
      for (const ReleaseProcess& earlier : release.processes) {
        std::string shared = SharedRegisteredName(earlier, p);
        if (!shared.empty()) {
          return ErrorAt(node, source, "registered name " + shared + " is used twice");
        }
        if (std::string id = SharedChildId(earlier, p); !id.empty()) {
          return ErrorAt(node, source, "child id " + id + " is used twice");
        }
      }
      // The root's child spec, checked as the root will.
      std::vector<Term> spec = ChildSpecs(p, 0, 1);
      if (Status s = supervision::CheckChild(spec[0], "process " + ChildIdBase(p), false);
          !s.ok()) {
        return ErrorAt(node, source, s.message());
      }
      release.processes.push_back(std::move(p));
    }
  }
  if (root["config"]) {
    RELUP_ASSIGN_OR_RETURN(release.config, TermField(root, "config", source));
  }
  if (root["config_schema"]) {
    RELUP_ASSIGN_OR_RETURN(release.config_schema, TermField(root, "config_schema", source));
  }
  if (root["config"] || root["config_schema"]) {
    std::vector<std::string> module_names(names.begin(), names.end());
    if (Status s = CheckReleaseConfig(release.config, release.config_schema, module_names);
        !s.ok()) {
      return ErrorAt(root["config"] ? root["config"] : root["config_schema"], source, s.message());
    }
  }
  if (YAML::Node root_node = root["root"]; root_node) {
    RELUP_ASSIGN_OR_RETURN(release.root, TermField(root, "root", source));
    if (Status s = supervision::CheckRootArgs(release.root); !s.ok()) {
      return ErrorAt(root_node, source, s.message());
    }
  }
  return release;
}

Result<Release> ReleaseFromFiles(const ReleaseFiles& files, std::string_view source_name) {
  const std::string* found = nullptr;
  for (const auto& [path, text] : files) {
    std::string_view p = path;
    constexpr std::string_view kPrefix = "releases/";
    constexpr std::string_view kSuffix = "/release.yaml";
    if (p.size() > kPrefix.size() + kSuffix.size() && p.starts_with(kPrefix) &&
        p.ends_with(kSuffix) &&
        p.substr(kPrefix.size(), p.size() - kPrefix.size() - kSuffix.size()).find('/') ==
            std::string_view::npos) {
      if (found) {
        return Status::Corruption(std::string(source_name) + ": holds more than one release (" +
                                  *found + " and " + path + ")");
      }
      found = &path;
    }
  }
  if (!found) {
    return Status::Corruption(std::string(source_name) +
                              ": not a release tarball (no releases/VSN/release.yaml)");
  }
  RELUP_ASSIGN_OR_RETURN(
      Release release, ParseReleaseYaml(files.at(*found), std::string(source_name) + ":" + *found));
  if (ReleaseYamlPath(release.vsn) != *found) {
    return Status::Corruption(std::string(source_name) + ": " + *found + " describes vsn " +
                              release.vsn + ", not the vsn in its path");
  }
  return release;
}

}  // namespace relup
