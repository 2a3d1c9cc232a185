// relup.yaml: plan helpers, canonical writing and strict reading (relup/plan.h).
#include <type_traits>

#include "release/format_yaml.h"
#include "relup/plan.h"
#include "supervision/supervisor.h"

namespace relup {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::string_view PurgeModeName(PurgeMode mode) {
  return mode == PurgeMode::kBrutal ? "brutal" : "soft";
}

std::string VsnOrTarget(const std::string& vsn) {
  return vsn.empty() ? "(vsn of the target release)" : vsn;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string QuotedList(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + format::Quote(names[i]);
  return out + "]";
}

std::string StepToYaml(const PlanStep& step) {
  using format::Quote;
  std::string fields = std::visit(
      Overloaded{
          [](const LoadObjectCodeStep& s) {
            std::string mods = "[";
            for (size_t i = 0; i < s.modules.size(); ++i) {
              mods += (i ? ", " : "") + std::string("{module: ") + Quote(s.modules[i].module) +
                      ", vsn: " + Quote(s.modules[i].vsn) + "}";
            }
            return ", modules: " + mods + "]";
          },
          [](const PointOfNoReturnStep&) { return std::string(); },
          [](const SuspendStep& s) {
            return ", modules: " + QuotedList(s.modules) +
                   ", timeout: " + std::to_string(s.timeout.count());
          },
          [](const CodeChangeStep& s) {
            return ", module: " + Quote(s.module) + ", from_vsn: " + Quote(s.from_vsn) +
                   ", to_vsn: " + Quote(s.to_vsn) + ", down: " + (s.down ? "true" : "false") +
                   ", extra: " + s.extra.to_yaml();
          },
          [](const ResumeStep& s) { return ", modules: " + QuotedList(s.modules); },
          [](const LoadStep& s) {
            return ", module: " + Quote(s.module) + ", vsn: " + Quote(s.vsn);
          },
          [](const StartStep& s) {
            std::string out = ", module: " + Quote(s.process.module) +
                              ", name: " + Quote(s.process.name) +
                              ", args: " + s.process.args.to_yaml() +
                              ", count: " + std::to_string(s.process.count);
            if (!s.process.id.empty()) out += ", id: " + Quote(s.process.id);
            if (!s.process.restart.is_nil()) out += ", restart: " + s.process.restart.to_yaml();
            if (!s.process.shutdown.is_nil()) out += ", shutdown: " + s.process.shutdown.to_yaml();
            return out;
          },
          [](const StopStep& s) { return ", name: " + Quote(s.name); },
          [](const SupervisorStep& s) {
            return ", name: " + Quote(s.name) + ", args: " + s.args.to_yaml() +
                   ", start_stop: " + (s.start_stop ? "true" : "false");
          },
          [](const ApplyStep& s) {
            return ", module: " + Quote(s.module) + ", function: " + Quote(s.function) +
                   ", args: " + s.args.to_yaml() + ", init_args: " + s.init_args.to_yaml() +
                   ", timeout: " + std::to_string(s.timeout.count());
          },
          [](const PurgeStep& s) {
            return ", module: " + Quote(s.module) + ", mode: " + std::string(PurgeModeName(s.mode));
          },
          [](const DeleteModuleStep& s) { return ", module: " + Quote(s.module); },
      },
      step);
  return "{op: " + std::string(StepName(step)) + fields + "}";
}

void PlansToYaml(std::string& out, std::string_view key, std::string_view vsn_key,
                 const std::vector<UpgradePlan>& plans) {
  out += std::string(key) + (plans.empty() ? ": []\n" : ":\n");
  for (const auto& plan : plans) {
    out += "  - " + std::string(vsn_key) + ": " + format::Quote(plan.vsn) + "\n";
    out += std::string("    generated: ") + (plan.generated ? "true" : "false") + "\n";
    out += plan.steps.empty() ? "    steps: []\n" : "    steps:\n";
    for (const auto& step : plan.steps) {
      out += "      - " + StepToYaml(step);
      // Whose code_change runs, for the reader of a compiled plan: the newer
      // version's, both ways (plan.h). A comment: readers ignore it.
      if (const auto* cc = std::get_if<CodeChangeStep>(&step)) {
        std::string runs = cc->runs_vsn();
        out += "  # runs " + cc->module + " " +
               (runs.empty() ? std::string(cc->down ? "(the running vsn)" : "(the target vsn)")
                             : runs) +
               "'s code_change";
      }
      out += "\n";
    }
  }
}

Result<std::vector<std::string>> NameList(const YAML::Node& map, std::string_view key,
                                          std::string_view source) {
  YAML::Node list = map[std::string(key)];
  if (!list) return format::ErrorAt(map, source, "missing key '" + std::string(key) + "'");
  RELUP_RETURN_IF_ERROR(format::ExpectSequence(list, source, key));
  std::vector<std::string> names;
  for (const auto& item : list) {
    if (!item.IsScalar()) return format::ErrorAt(item, source, "expected a module name");
    names.push_back(item.Scalar());
  }
  return names;
}

Result<Millis> Timeout(const YAML::Node& map, std::string_view source) {
  RELUP_ASSIGN_OR_RETURN(int64_t ms, format::Int(map, "timeout", source, kDefaultTimeout.count()));
  if (ms <= 0) return format::ErrorAt(map["timeout"], source, "timeout must be positive");
  return Millis(ms);
}

Result<PlanStep> ParseStep(const YAML::Node& node, std::string_view source) {
  using namespace format;
  if (!node.IsMap()) return ErrorAt(node, source, "a step must be a map");
  RELUP_ASSIGN_OR_RETURN(std::string op, String(node, "op", source));
  if (op == "load_object_code") {
    RELUP_RETURN_IF_ERROR(ExpectMap(node, source, "load_object_code step", {"op", "modules"}));
    LoadObjectCodeStep s;
    YAML::Node modules = node["modules"];
    if (!modules) return ErrorAt(node, source, "missing key 'modules'");
    RELUP_RETURN_IF_ERROR(ExpectSequence(modules, source, "modules"));
    for (const auto& m : modules) {
      RELUP_RETURN_IF_ERROR(ExpectMap(m, source, "module reference", {"module", "vsn"}));
      ModuleRef ref;
      RELUP_ASSIGN_OR_RETURN(ref.module, String(m, "module", source));
      RELUP_ASSIGN_OR_RETURN(ref.vsn, String(m, "vsn", source, ""));
      s.modules.push_back(std::move(ref));
    }
    return PlanStep(std::move(s));
  }
  if (op == "point_of_no_return") {
    RELUP_RETURN_IF_ERROR(ExpectMap(node, source, "point_of_no_return step", {"op"}));
    return PlanStep(PointOfNoReturnStep{});
  }
  if (op == "suspend") {
    RELUP_RETURN_IF_ERROR(ExpectMap(node, source, "suspend step", {"op", "modules", "timeout"}));
    SuspendStep s;
    RELUP_ASSIGN_OR_RETURN(s.modules, NameList(node, "modules", source));
    RELUP_ASSIGN_OR_RETURN(s.timeout, Timeout(node, source));
    return PlanStep(std::move(s));
  }
  if (op == "code_change") {
    RELUP_RETURN_IF_ERROR(ExpectMap(node, source, "code_change step",
                                    {"op", "module", "from_vsn", "to_vsn", "down", "extra"}));
    CodeChangeStep s;
    RELUP_ASSIGN_OR_RETURN(s.module, String(node, "module", source));
    RELUP_ASSIGN_OR_RETURN(s.from_vsn, String(node, "from_vsn", source, ""));
    RELUP_ASSIGN_OR_RETURN(s.to_vsn, String(node, "to_vsn", source, ""));
    RELUP_ASSIGN_OR_RETURN(s.down, Bool(node, "down", source, false));
    RELUP_ASSIGN_OR_RETURN(s.extra, TermField(node, "extra", source));
    return PlanStep(std::move(s));
  }
  if (op == "resume") {
    RELUP_RETURN_IF_ERROR(ExpectMap(node, source, "resume step", {"op", "modules"}));
    ResumeStep s;
    RELUP_ASSIGN_OR_RETURN(s.modules, NameList(node, "modules", source));
    return PlanStep(std::move(s));
  }
  if (op == "load") {
    RELUP_RETURN_IF_ERROR(ExpectMap(node, source, "load step", {"op", "module", "vsn"}));
    LoadStep s;
    RELUP_ASSIGN_OR_RETURN(s.module, String(node, "module", source));
    RELUP_ASSIGN_OR_RETURN(s.vsn, String(node, "vsn", source, ""));
    return PlanStep(std::move(s));
  }
  if (op == "start") {
    RELUP_RETURN_IF_ERROR(
        ExpectMap(node, source, "start step",
                  {"op", "module", "name", "args", "count", "id", "restart", "shutdown"}));
    StartStep s;
    RELUP_ASSIGN_OR_RETURN(s.process.id, String(node, "id", source, ""));
    if (node["restart"]) {
      RELUP_ASSIGN_OR_RETURN(s.process.restart, TermField(node, "restart", source));
    }
    if (node["shutdown"]) {
      RELUP_ASSIGN_OR_RETURN(s.process.shutdown, TermField(node, "shutdown", source));
    }
    RELUP_ASSIGN_OR_RETURN(s.process.module, String(node, "module", source));
    RELUP_ASSIGN_OR_RETURN(s.process.name, String(node, "name", source, ""));
    RELUP_ASSIGN_OR_RETURN(s.process.args, TermField(node, "args", source));
    RELUP_ASSIGN_OR_RETURN(int64_t count, Int(node, "count", source, 1));
    if (count < 1 || count > 1000000) {
      return ErrorAt(node, source, "count must be between 1 and 1000000");
    }
    s.process.count = static_cast<int>(count);
    return PlanStep(std::move(s));
  }
  if (op == "stop") {
    RELUP_RETURN_IF_ERROR(ExpectMap(node, source, "stop step", {"op", "name"}));
    StopStep s;
    RELUP_ASSIGN_OR_RETURN(s.name, String(node, "name", source));
    return PlanStep(std::move(s));
  }
  if (op == "supervisor") {
    RELUP_RETURN_IF_ERROR(
        ExpectMap(node, source, "supervisor step", {"op", "name", "args", "start_stop"}));
    SupervisorStep s;
    RELUP_ASSIGN_OR_RETURN(s.name, String(node, "name", source));
    RELUP_ASSIGN_OR_RETURN(s.args, TermField(node, "args", source));
    RELUP_ASSIGN_OR_RETURN(s.start_stop, Bool(node, "start_stop", source, true));
    if (Status bad = supervision::CheckSupervisorArgs(s.args); !bad.ok()) {
      return ErrorAt(node, source, "supervisor step " + s.name + ": " + bad.message());
    }
    return PlanStep(std::move(s));
  }
  if (op == "apply") {
    RELUP_RETURN_IF_ERROR(ExpectMap(node, source, "apply step",
                                    {"op", "module", "function", "args", "init_args", "timeout"}));
    ApplyStep s;
    RELUP_ASSIGN_OR_RETURN(s.module, String(node, "module", source));
    RELUP_ASSIGN_OR_RETURN(s.function, String(node, "function", source));
    RELUP_ASSIGN_OR_RETURN(s.args, TermField(node, "args", source));
    RELUP_ASSIGN_OR_RETURN(s.init_args, TermField(node, "init_args", source));
    RELUP_ASSIGN_OR_RETURN(s.timeout, Timeout(node, source));
    return PlanStep(std::move(s));
  }
  if (op == "purge") {
    RELUP_RETURN_IF_ERROR(ExpectMap(node, source, "purge step", {"op", "module", "mode"}));
    PurgeStep s;
    RELUP_ASSIGN_OR_RETURN(s.module, String(node, "module", source));
    RELUP_ASSIGN_OR_RETURN(std::string mode, String(node, "mode", source, "soft"));
    if (mode != "soft" && mode != "brutal") {
      return ErrorAt(node["mode"], source, "purge mode must be soft or brutal, not '" + mode + "'");
    }
    s.mode = mode == "brutal" ? PurgeMode::kBrutal : PurgeMode::kSoft;
    return PlanStep(std::move(s));
  }
  if (op == "delete_module") {
    RELUP_RETURN_IF_ERROR(ExpectMap(node, source, "delete_module step", {"op", "module"}));
    DeleteModuleStep s;
    RELUP_ASSIGN_OR_RETURN(s.module, String(node, "module", source));
    return PlanStep(std::move(s));
  }
  return ErrorAt(node["op"], source, "unknown step '" + op + "'");
}

// Checks the step-order invariants plan.h promises, so that an executor never
// sees a plan that breaks them.
Status CheckPlanShape(const UpgradePlan& plan, const YAML::Node& node, std::string_view source) {
  int points = 0;
  const SuspendStep* open = nullptr;
  size_t changes = 0;
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const PlanStep& step = plan.steps[i];
    auto fail = [&](const std::string& why) {
      return format::ErrorAt(node, source, "step " + std::to_string(i + 1) + ": " + why);
    };
    if (std::holds_alternative<PointOfNoReturnStep>(step)) ++points;
    if (const auto* s = std::get_if<SuspendStep>(&step)) {
      if (open) return fail("suspend inside another suspend/resume segment");
      if (s->modules.empty()) return fail("suspend names no module");
      open = s;
      changes = 0;
    } else if (std::holds_alternative<CodeChangeStep>(step)) {
      if (!open) return fail("code_change outside a suspend/resume segment");
      ++changes;
    } else if (const auto* r = std::get_if<ResumeStep>(&step)) {
      if (!open || open->modules != r->modules) return fail("resume does not match a suspend");
      if (changes == 0) return fail("suspend/resume segment without a code_change");
      open = nullptr;
    } else if (open) {
      return fail(std::string(StepName(step)) + " inside a suspend/resume segment");
    }
  }
  if (open) return format::ErrorAt(node, source, "suspend without a resume");
  if (points != 1) {
    return format::ErrorAt(node, source, "a plan must have exactly one point_of_no_return");
  }
  return Status::Ok();
}

Status ParsePlans(const YAML::Node& root, std::string_view key, std::string_view vsn_key,
                  std::string_view source, std::vector<UpgradePlan>* out) {
  using namespace format;
  YAML::Node list = root[std::string(key)];
  if (!list) return Status::Ok();
  RELUP_RETURN_IF_ERROR(ExpectSequence(list, source, key));
  for (const auto& node : list) {
    RELUP_RETURN_IF_ERROR(
        ExpectMap(node, source, std::string(key) + " plan", {vsn_key, "generated", "steps"}));
    UpgradePlan plan;
    RELUP_ASSIGN_OR_RETURN(plan.vsn, String(node, vsn_key, source));
    RELUP_ASSIGN_OR_RETURN(plan.generated, Bool(node, "generated", source, false));
    YAML::Node steps = node["steps"];
    if (!steps) return ErrorAt(node, source, "missing key 'steps'");
    RELUP_RETURN_IF_ERROR(ExpectSequence(steps, source, "steps"));
    for (const auto& s : steps) {
      RELUP_ASSIGN_OR_RETURN(PlanStep step, ParseStep(s, source));
      plan.steps.push_back(std::move(step));
    }
    RELUP_RETURN_IF_ERROR(CheckPlanShape(plan, node, source));
    out->push_back(std::move(plan));
  }
  return Status::Ok();
}

const UpgradePlan* FindPlan(const std::vector<UpgradePlan>& plans, std::string_view vsn) {
  for (const auto& p : plans) {
    if (!IsVersionPattern(p.vsn) && p.vsn == vsn) return &p;
  }
  for (const auto& p : plans) {
    if (IsVersionPattern(p.vsn) && VersionMatches(p.vsn, vsn)) return &p;
  }
  return nullptr;
}

}  // namespace

Term CodeChangeStep::old_vsn(std::string_view running_vsn, std::string_view target_vsn) const {
  if (down) return DownVsn(to_vsn.empty() ? target_vsn : std::string_view(to_vsn));
  return Term(from_vsn.empty() ? std::string(running_vsn) : from_vsn);
}

Term ApplyStep::request() const {
  return Term::map({{Term::atom("apply"), Term::atom(function)}, {Term::atom("args"), args}});
}

std::string_view StepName(const PlanStep& step) {
  return std::visit(Overloaded{
                        [](const LoadObjectCodeStep&) { return "load_object_code"; },
                        [](const PointOfNoReturnStep&) { return "point_of_no_return"; },
                        [](const SuspendStep&) { return "suspend"; },
                        [](const CodeChangeStep&) { return "code_change"; },
                        [](const ResumeStep&) { return "resume"; },
                        [](const LoadStep&) { return "load"; },
                        [](const StartStep&) { return "start"; },
                        [](const StopStep&) { return "stop"; },
                        [](const SupervisorStep&) { return "supervisor"; },
                        [](const ApplyStep&) { return "apply"; },
                        [](const PurgeStep&) { return "purge"; },
                        [](const DeleteModuleStep&) { return "delete_module"; },
                    },
                    step);
}

std::string DescribeStep(const PlanStep& step) {
  std::string name(StepName(step));
  std::string rest = std::visit(
      Overloaded{
          [](const LoadObjectCodeStep& s) {
            std::string out;
            for (const auto& m : s.modules) {
              out += (out.empty() ? " " : ", ") + m.module + " " + VsnOrTarget(m.vsn);
            }
            return out.empty() ? std::string(" (nothing to load)") : out;
          },
          [](const PointOfNoReturnStep&) {
            return std::string("   -- processes are touched from here; a failure rolls back");
          },
          [](const SuspendStep& s) {
            return " [" + JoinNames(s.modules) + "] (timeout " + std::to_string(s.timeout.count()) +
                   " ms)";
          },
          [](const CodeChangeStep& s) {
            std::string from = s.from_vsn.empty() ? "(running vsn)" : s.from_vsn;
            std::string old_vsn;
            if (s.down) {
              old_vsn = s.old_vsn({}, "VSN").to_yaml();
              if (s.to_vsn.empty()) old_vsn += " (VSN: its vsn in the target release)";
            } else {
              old_vsn = s.from_vsn.empty() ? std::string("the running vsn") : s.old_vsn().to_yaml();
            }
            std::string runs = s.down ? (s.from_vsn.empty() ? "the running version" : s.from_vsn)
                                      : VsnOrTarget(s.to_vsn);
            return " " + s.module + " " + from + " -> " + VsnOrTarget(s.to_vsn) +
                   (s.down ? " (down)" : "") + ": " + s.module + " " + runs +
                   "'s code_change runs, old_vsn " + old_vsn + ", extra " + s.extra.to_yaml();
          },
          [](const ResumeStep& s) { return " [" + JoinNames(s.modules) + "]"; },
          [](const LoadStep& s) {
            return " " + s.module + " " + VsnOrTarget(s.vsn) + " (code switch, state kept)";
          },
          [](const StartStep& s) {
            const auto& p = s.process;
            std::string who = p.name.empty() ? "(unregistered)" : p.name;
            return " " + who + " (module " + p.module + ", args " + p.args.to_yaml() +
                   (p.count > 1 ? ", count " + std::to_string(p.count) : std::string()) + ")";
          },
          [](const StopStep& s) { return " " + s.name; },
          [](const SupervisorStep& s) {
            const Term* children = s.args.find("children");
            size_t n = children != nullptr && children->is_list() ? children->size() : 0;
            return " " + s.name + ": the target release's child specs (" + std::to_string(n) +
                   (n == 1 ? " child" : " children") +
                   (s.start_stop ? "; new ones start, removed ones stop)" : "; specs only)");
          },
          [](const ApplyStep& s) {
            return " " + s.module + ":" + s.function + "(" + s.args.to_yaml() + ")";
          },
          [](const PurgeStep& s) {
            return " " + s.module + " (" + std::string(PurgeModeName(s.mode)) +
                   ": old versions dropped)";
          },
          [](const DeleteModuleStep& s) { return " " + s.module; },
      },
      step);
  return name + rest;
}

const UpgradePlan* PlanSet::find_up(std::string_view running_vsn) const {
  return FindPlan(up, running_vsn);
}

const UpgradePlan* PlanSet::find_down(std::string_view target_vsn) const {
  return FindPlan(down, target_vsn);
}

bool IsVersionPattern(std::string_view vsn) {
  return vsn.find_first_of("*?") != std::string_view::npos;
}

bool VersionMatches(std::string_view pattern, std::string_view vsn) {
  // Iterative glob match with single-star backtracking: linear in practice.
  size_t p = 0, v = 0, star = std::string_view::npos, mark = 0;
  while (v < vsn.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == vsn[v])) {
      ++p;
      ++v;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = v;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      v = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string PlanSetToYaml(const PlanSet& plans) {
  std::string out;
  out += "format: " + std::to_string(kPlanFormat) + "\n";
  out += "release: " + format::Quote(plans.release) + "\n";
  out += "vsn: " + format::Quote(plans.vsn) + "\n";
  PlansToYaml(out, "up", "from", plans.up);
  PlansToYaml(out, "down", "to", plans.down);
  return out;
}

Result<PlanSet> ParsePlanSetYaml(std::string_view text, std::string_view source) {
  using namespace format;
  RELUP_ASSIGN_OR_RETURN(YAML::Node root, Load(text, source));
  RELUP_RETURN_IF_ERROR(
      ExpectMap(root, source, "relup.yaml", {"format", "release", "vsn", "up", "down"}));
  RELUP_RETURN_IF_ERROR(CheckFormat(root, source, kPlanFormat));
  PlanSet plans;
  RELUP_ASSIGN_OR_RETURN(plans.release, String(root, "release", source));
  RELUP_ASSIGN_OR_RETURN(plans.vsn, String(root, "vsn", source));
  RELUP_RETURN_IF_ERROR(ParsePlans(root, "up", "from", source, &plans.up));
  RELUP_RETURN_IF_ERROR(ParsePlans(root, "down", "to", source, &plans.down));
  return plans;
}

}  // namespace relup
