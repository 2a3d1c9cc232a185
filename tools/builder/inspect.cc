#include "builder/inspect.h"

#include "release/signing.h"
#include "release/tarball.h"
#include "supervision/supervisor.h"
#include "supervision/supervisor_args.h"

namespace relup::build {
namespace {

std::string VsnList(const std::vector<UpgradePlan>& plans) {
  std::string out;
  for (const auto& p : plans) out += (out.empty() ? "" : ", ") + p.vsn;
  return out.empty() ? "none" : out;
}

std::string Origin(const UpgradePlan& plan) {
  return plan.generated ? "generated from the release difference" : "written in the spec";
}

Term PlansTerm(const std::vector<UpgradePlan>& plans, const char* vsn_key) {
  std::vector<Term> out;
  for (const auto& p : plans) {
    std::vector<Term> steps;
    for (const auto& s : p.steps) steps.push_back(Term(DescribeStep(s)));
    out.push_back(Term::map({{Term::atom(vsn_key), Term(p.vsn)},
                             {Term::atom("generated"), Term(p.generated)},
                             {Term::atom("steps"), Term::list(std::move(steps))}}));
  }
  return Term::list(std::move(out));
}

// The files MANIFEST lists (every one but MANIFEST and SIGNATURE).
size_t ListedFiles(const ReleaseFiles& files) {
  size_t n = 0;
  for (const auto& [path, bytes] : files) n += path != kManifestPath && path != kSignaturePath;
  return n;
}

}  // namespace

std::string SignatureText(const ReleaseFiles& files) {
  auto signature = ReadSignature(files, "");
  if (!signature.ok()) return "bad SIGNATURE entry (relup verify says why)";
  if (!signature->has_value()) return "unsigned";
  return "signed by key " + (*signature)->key_id;
}

Result<ReleaseTarball> OpenReleaseTarball(const std::string& path) {
  ReleaseTarball t;
  t.path = path;
  RELUP_ASSIGN_OR_RETURN(t.files, ReadTarball(path));
  RELUP_ASSIGN_OR_RETURN(t.release, ReleaseFromFiles(t.files, path));
  std::string relup_path = RelupYamlPath(t.release.vsn);
  auto relup = t.files.find(relup_path);
  if (relup == t.files.end()) {
    return Status::Corruption(path + ": " + relup_path + " is missing");
  }
  RELUP_ASSIGN_OR_RETURN(t.plans, ParsePlanSetYaml(relup->second, path + ":" + relup_path));
  return t;
}

std::vector<std::string> VerifyReleaseFiles(const ReleaseFiles& files, const std::string& source) {
  std::vector<std::string> problems = VerifyManifest(files);
  auto release = ReleaseFromFiles(files, source);
  if (!release.ok()) {
    problems.push_back(release.status().message());
    return problems;
  }
  std::string relup_path = RelupYamlPath(release->vsn);
  auto relup = files.find(relup_path);
  if (relup == files.end()) {
    problems.push_back(relup_path + ": missing");
  } else {
    auto plans = ParsePlanSetYaml(relup->second, relup_path);
    if (!plans.ok()) {
      problems.push_back(plans.status().message());
    } else if (plans->release != release->name || plans->vsn != release->vsn) {
      problems.push_back(relup_path + ": plans of release " + plans->release + " " + plans->vsn +
                         ", not " + release->name + " " + release->vsn);
    }
  }
  for (const auto& m : release->modules) {
    auto lib = files.find(m.path);
    if (lib == files.end()) {
      problems.push_back(m.path + ": library of module " + m.name + " is missing");
    } else if (Sha256Hex(lib->second) != m.sha256) {
      problems.push_back(m.path + ": sha256 differs from release.yaml's for module " + m.name);
    }
  }
  return problems;
}

std::string ExplainSteps(const UpgradePlan& plan, std::string_view indent) {
  std::string out;
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    std::string n = std::to_string(i + 1);
    out += std::string(indent) + std::string(n.size() < 2 ? 2 - n.size() : 0, ' ') + n + ". " +
           DescribeStep(plan.steps[i]) + "\n";
  }
  return out;
}

Result<std::string> ExplainRelease(const ReleaseTarball& t, const std::optional<std::string>& from,
                                   const std::optional<std::string>& to) {
  const PlanSet& plans = t.plans;
  std::string out = "release " + t.release.name + " " + t.release.vsn + "\n";
  auto one = [&](const UpgradePlan& plan, bool down, const std::string& asked) {
    std::string head = down ? "downgrade to " : "upgrade from ";
    head += asked;
    if (plan.vsn != asked) head += " (matches " + plan.vsn + ")";
    return head + ", " + Origin(plan) + ":\n" + ExplainSteps(plan, "  ");
  };
  if (from) {
    const UpgradePlan* plan = plans.find_up(*from);
    if (!plan) {
      return Status::NotFound("release " + t.release.name + " " + t.release.vsn +
                              " has no plan to upgrade from " + *from +
                              " (it upgrades from: " + VsnList(plans.up) + ")");
    }
    out += one(*plan, false, *from);
  }
  if (to) {
    const UpgradePlan* plan = plans.find_down(*to);
    if (!plan) {
      return Status::NotFound("release " + t.release.name + " " + t.release.vsn +
                              " has no plan to downgrade to " + *to +
                              " (it downgrades to: " + VsnList(plans.down) + ")");
    }
    out += one(*plan, true, *to);
  }
  if (from || to) return out;
  if (plans.up.empty() && plans.down.empty()) {
    out +=
        "no upgrade or downgrade plans (the spec has no appup; build with --from to generate "
        "one)\n";
  }
  for (const auto& p : plans.up) out += one(p, false, p.vsn);
  for (const auto& p : plans.down) out += one(p, true, p.vsn);
  return out;
}

namespace {

// "(one_for_all, at most 3 restarts in 5000 ms)", defaults filled in.
std::string SupervisorLine(const Term& args) {
  auto get = [&](const char* k, const char* fallback) {
    const Term* v = args.is_map() ? args.find(k) : nullptr;
    return v != nullptr && !v->is_nil() ? supervision::Text(*v) : std::string(fallback);
  };
  std::string out = "(";
  out.append(get("strategy", "one_for_one")).append(", at most ").append(get("intensity", "1"));
  return out.append(" restarts in ").append(get("period_ms", "5000")).append(" ms)");
}

// The children of a supervisor's args, one line each, subtrees indented.
void TreeLines(const Term& args, const std::string& indent, std::string* out) {
  const Term* children = args.is_map() ? args.find("children") : nullptr;
  if (children == nullptr || !children->is_list()) return;
  for (size_t i = 0; i < children->size(); ++i) {
    const Term& c = (*children)[i];
    if (!c.is_map()) continue;
    bool last = i + 1 == children->size();
    const Term* id = c.find("id");
    const Term* name = c.find("name");
    const Term* module = c.find("module");
    std::string label = id != nullptr ? supervision::Text(*id) : "(template)";
    if (name != nullptr && !name->is_nil() && supervision::Text(*name) != label) {
      label += " as " + supervision::Text(*name);
    }
    label += "  " + (module != nullptr ? supervision::Text(*module) : std::string("?"));
    for (const char* k : {"restart", "shutdown"}) {
      if (const Term* v = c.find(k)) label += std::string("  ") + k + " " + supervision::Text(*v);
    }
    const Term* sub = c.find("args");
    bool sup = module != nullptr && supervision::Text(*module) == supervision::kSupervisorModule;
    *out += indent + (last ? "└─ " : "├─ ") + label;
    if (sup) {
      *out += " " + SupervisorLine(sub != nullptr ? *sub : Term()) + "\n";
      if (sub != nullptr) TreeLines(*sub, indent + (last ? "   " : "│  "), out);
    } else {
      *out += "  args " + (sub != nullptr ? sub->to_yaml() : std::string("~")) + "\n";
    }
  }
}

}  // namespace

std::string InspectText(const ReleaseTarball& t, const std::vector<std::string>& problems) {
  const Release& r = t.release;
  std::string out = "release " + r.name + " " + r.vsn + "  (" + t.path + ", " +
                    std::to_string(t.files.size()) + " files)\n";
  out += "modules:\n";
  for (const auto& m : r.modules) {
    out += "  " + m.name + " " + m.vsn + "  code_change: " + (m.has_code_change ? "yes" : "no") +
           "  sha256: " + m.sha256.substr(0, 16) + "...  build_id: " + m.build_id + "\n";
  }
  out += "supervision tree:\n";
  Term root_args = RootArgs(r.root);
  out += std::string("  ") + kRootSupervisorName + "  " + SupervisorLine(root_args) + "\n";
  for (size_t i = 0; i < r.processes.size(); ++i) {
    const ReleaseProcess& p = r.processes[i];
    bool last = i + 1 == r.processes.size();
    std::string id = ChildIdBase(p);
    std::string label = p.count > 1 ? id + "_1 .. " + id + "_" + std::to_string(p.count) + "  " +
                                          std::to_string(p.count) + " x " + p.module
                                    : id + (p.name.empty() || p.name == id ? "" : " as " + p.name) +
                                          "  " + p.module;
    std::string extra;
    if (!p.restart.is_nil()) extra += "  restart " + supervision::Text(p.restart);
    if (!p.shutdown.is_nil()) extra += "  shutdown " + supervision::Text(p.shutdown);
    if (p.module == supervision::kSupervisorModule) {
      out += "  " + std::string(last ? "└─ " : "├─ ") + label + " " + SupervisorLine(p.args) +
             extra + "\n";
      TreeLines(p.args, std::string("  ") + (last ? "   " : "│  "), &out);
    } else {
      out += "  " + std::string(last ? "└─ " : "├─ ") + label + "  args " + p.args.to_yaml() +
             extra + "\n";
    }
  }
  if (r.config.is_map() && r.config.size() > 0) {
    out += "config:\n";
    for (const auto& [m, keys] : r.config.entries()) {
      out += "  " + supervision::Text(m) + ": " + keys.to_yaml() + "\n";
    }
  }
  out += "upgrades from: " + VsnList(t.plans.up) + "\n";
  out += "downgrades to: " + VsnList(t.plans.down) + "\n";
  if (problems.empty()) {
    out += "manifest: ok (" + std::to_string(ListedFiles(t.files)) + " files checked)\n";
  } else {
    out += "manifest: " + std::to_string(problems.size()) +
           " problem(s); run `relup verify` for details\n";
  }
  out += "signature: " + SignatureText(t.files) +
         (t.files.count(kSignaturePath) ? " (relup verify --trust KEY.pub checks it)" : "") + "\n";
  return out;
}

Term InspectTerm(const ReleaseTarball& t, const std::vector<std::string>& problems) {
  const Release& r = t.release;
  std::vector<Term> modules, processes, files, issues;
  for (const auto& m : r.modules) {
    modules.push_back(Term::map({{Term::atom("name"), Term(m.name)},
                                 {Term::atom("vsn"), Term(m.vsn)},
                                 {Term::atom("sha256"), Term(m.sha256)},
                                 {Term::atom("build_id"), Term(m.build_id)},
                                 {Term::atom("has_code_change"), Term(m.has_code_change)},
                                 {Term::atom("path"), Term(m.path)}}));
  }
  for (const auto& p : r.processes) {
    processes.push_back(Term::map({{Term::atom("module"), Term(p.module)},
                                   {Term::atom("name"), Term(p.name)},
                                   {Term::atom("id"), Term(ChildIdBase(p))},
                                   {Term::atom("args"), p.args},
                                   {Term::atom("count"), Term(p.count)},
                                   {Term::atom("restart"), p.restart},
                                   {Term::atom("shutdown"), p.shutdown}}));
  }
  for (const auto& [path, bytes] : t.files) {
    files.push_back(Term::map({{Term::atom("path"), Term(path)},
                               {Term::atom("size"), Term(static_cast<long long>(bytes.size()))}}));
  }
  for (const auto& p : problems) issues.push_back(Term(p));
  auto signature = ReadSignature(t.files, "");
  Term key_id = signature.ok() && signature->has_value() ? Term((*signature)->key_id) : Term();
  return Term::map({{Term::atom("name"), Term(r.name)},
                    {Term::atom("vsn"), Term(r.vsn)},
                    {Term::atom("modules"), Term::list(std::move(modules))},
                    {Term::atom("processes"), Term::list(std::move(processes))},
                    {Term::atom("root"), RootArgs(r.root)},
                    {Term::atom("config"), r.config.is_nil() ? Term::map({}) : r.config},
                    {Term::atom("up"), PlansTerm(t.plans.up, "from")},
                    {Term::atom("down"), PlansTerm(t.plans.down, "to")},
                    {Term::atom("files"), Term::list(std::move(files))},
                    {Term::atom("verified"), Term(problems.empty())},
                    {Term::atom("signed"), Term(t.files.count(kSignaturePath) == 1)},
                    {Term::atom("key_id"), key_id},
                    {Term::atom("problems"), Term::list(std::move(issues))}});
}

}  // namespace relup::build
