// Release spec parsing: the document, its modules and processes. The appup
// section is in appup_parse.cc.
#include "builder/spec.h"

#include <set>

#include "builder/appup_parse.h"
#include "builder/yaml_reader.h"
#include "core/yaml_scalar.h"
#include "release/atomic_file.h"
#include "relup/node.h"
#include "supervision/supervisor.h"

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
          "add " + module + " to modules, or fix the module name");
    }
  }
}

void ParseProcesses(YamlReader& r, const YAML::Node& root, ReleaseSpec* spec) {
  std::set<std::string> modules;
  for (const auto& m : spec->modules) modules.insert(m.name);
  for (const auto& node : r.list(root, "processes", "processes")) {
    if (!r.expect_map(node, "process entry", {"module", "name", "args", "count"})) continue;
    SpecProcess p;
    p.loc = r.loc(node);
    auto module = r.required_string(node, "module", "process entry", "demo_server");
    if (!module) continue;
    p.process.module = *module;
    p.process.name = r.optional_string(node, "name").value_or("");
    // release.yaml is YAML text, which carries only UTF-8: other bytes would
    // come back from it as different characters.
    if (!detail::IsValidUtf8(p.process.name)) {
      r.error(node["name"], "process name is not valid UTF-8",
              "save the spec as UTF-8, or give the process an ASCII name");
    }
    if (std::string why = RegisteredNameProblem(p.process.name); !why.empty()) {
      r.error(node["name"], "process name '" + p.process.name + "' " + why,
              "choose a name such as " + p.process.module + "_main, or leave 'name' out");
    }
    p.process.args = r.term(node, "args");
    p.process.count = static_cast<int>(
        r.optional_int(node, "count", 1, 1000000, "4", "processes in the pool").value_or(1));
    if (p.process.module == supervision::kSupervisorModule) {
      CheckSupervisorTree(r, node, p.process.args, modules);
    } else if (!modules.count(p.process.module)) {
      r.error(node["module"],
              "process " + p.process.name + " runs module " + p.process.module +
                  ", which is not in the release",
              "add " + p.process.module + " to modules, or fix the module name");
    }
    for (const auto& earlier : spec->processes) {
      std::string shared = SharedRegisteredName(earlier.process, p.process);
      if (!shared.empty()) {
        r.error(node, "registered name " + shared + " is used by two processes",
                "give each process its own name");
      }
    }
    spec->processes.push_back(std::move(p));
  }
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
  r.expect_map(root, "the release spec", {"release", "vsn", "modules", "processes", "appup"});
  if (auto name = r.required_string(root, "release", "the release spec", "demo")) {
    if (r.check_name(root["release"], "release name", *name)) spec.name = *name;
  }
  if (auto vsn = r.required_string(root, "vsn", "the release spec", "\"2\"")) {
    if (r.check_name(root["vsn"], "release vsn", *vsn)) spec.vsn = *vsn;
    spec.vsn_loc = r.loc(root["vsn"]);
  }
  ParseModules(r, root, &spec);
  ParseProcesses(r, root, &spec);
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
