#include "builder/appup_parse.h"

#include <map>
#include <set>

namespace relup::build {
namespace {

constexpr std::string_view kInstructionNames[] = {
    "update", "load_module", "add_module", "delete_module", "start", "stop", "apply"};

bool IsVersionPatternChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '+' || c == '-' || c == '*' || c == '?';
}

// The instruction's argument: its module (or process name) in the short form,
// or a map checked against `known`. False if unusable.
bool ReadModuleForm(YamlReader& r, const YAML::Node& value, std::string_view what,
                    const std::vector<std::string_view>& known, std::string* module) {
  if (value.IsScalar()) {
    *module = value.Scalar();
    return r.check_name(value, "module name", *module);
  }
  if (!r.expect_map(value, what, known)) return false;
  auto name = r.required_string(value, "module", what, "demo_server");
  if (!name) return false;
  *module = *name;
  return r.check_name(value["module"], "module name", *module);
}

std::optional<PurgeMode> ReadPurge(YamlReader& r, const YAML::Node& map) {
  auto purge = r.optional_string(map, "purge");
  if (!purge || *purge == "soft") return PurgeMode::kSoft;
  if (*purge == "brutal") return PurgeMode::kBrutal;
  r.error(map["purge"], "purge must be soft or brutal, not '" + *purge + "'",
          "soft keeps an old version some process still runs; brutal kills those processes");
  return std::nullopt;
}

std::optional<Millis> ReadTimeout(YamlReader& r, const YAML::Node& map) {
  auto t = r.optional_int(map, "timeout", 1, 3600 * 1000, "5000", "milliseconds");
  if (!t) return std::nullopt;
  return Millis(*t);
}

std::optional<Instruction> ParseInstruction(YamlReader& r, const YAML::Node& node) {
  if (!node.IsMap() || node.size() != 1) {
    std::string found;
    if (node.IsMap()) {
      for (const auto& e : node) found += (found.empty() ? "" : ", ") + e.first.Scalar();
    }
    r.error(node,
            node.IsMap() ? "an instruction is a map with one key (its name); this one has " +
                               std::to_string(node.size()) + ": " + found
                         : "an instruction must be a map such as `- update: demo_server`",
            "write options inside the instruction: `- update: {module: demo_server, extra: ...}`");
    return std::nullopt;
  }
  auto entry = *node.begin();
  std::string key = entry.first.Scalar();
  const YAML::Node& value = entry.second;
  Instruction in;
  in.loc = r.loc(entry.first);
  if (key == "update" && value.IsMap() && value["supervisor"]) {
    in.kind = InstructionKind::kUpdateSupervisor;
    if (!r.expect_map(value, "update supervisor instruction", {"supervisor"})) return std::nullopt;
    auto name = r.required_string(value, "supervisor", "update supervisor instruction", "root_sup");
    if (!name) return std::nullopt;
    in.name = *name;
    return in;
  }
  if (key == "update") {
    in.kind = InstructionKind::kUpdate;
    if (!ReadModuleForm(r, value, "update instruction",
                        {"module", "extra", "timeout", "purge", "depends_on"}, &in.module)) {
      return std::nullopt;
    }
    if (value.IsMap()) {
      in.extra = r.term(value, "extra");
      if (auto t = ReadTimeout(r, value)) in.timeout = *t;
      in.purge = ReadPurge(r, value).value_or(PurgeMode::kSoft);
      YAML::Node deps = value["depends_on"];
      std::vector<YAML::Node> dep_nodes;
      if (deps && deps.IsScalar()) {
        dep_nodes.push_back(deps);  // the short form of a one-module list
      } else {
        dep_nodes = r.list(value, "depends_on", "depends_on");
      }
      for (const auto& dep : dep_nodes) {
        if (!dep.IsScalar()) {
          r.error(dep, "depends_on lists module names", "write `depends_on: [a, b]`");
        } else if (r.check_name(dep, "module name", dep.Scalar())) {
          in.depends_on.push_back(dep.Scalar());
        }
      }
    }
    return in;
  }
  if (key == "load_module") {
    in.kind = InstructionKind::kLoadModule;
    if (!ReadModuleForm(r, value, "load_module instruction", {"module", "purge"}, &in.module)) {
      return std::nullopt;
    }
    if (value.IsMap()) in.purge = ReadPurge(r, value).value_or(PurgeMode::kSoft);
    return in;
  }
  if (key == "add_module" || key == "delete_module") {
    in.kind = key == "add_module" ? InstructionKind::kAddModule : InstructionKind::kDeleteModule;
    if (!ReadModuleForm(r, value, key + " instruction", {"module"}, &in.module))
      return std::nullopt;
    return in;
  }
  if (key == "start") {
    in.kind = InstructionKind::kStart;
    if (value.IsScalar()) {
      in.process.name = value.Scalar();
      in.start_by_name = true;
      return in;
    }
    if (!r.expect_map(value, "start instruction", {"module", "name", "args", "count"})) {
      return std::nullopt;
    }
    auto module = r.required_string(value, "module", "start instruction", "demo_server");
    if (!module || !r.check_name(value["module"], "module name", *module)) return std::nullopt;
    in.module = in.process.module = *module;
    in.process.name = r.optional_string(value, "name").value_or("");
    in.process.args = r.term(value, "args");
    in.process.count = static_cast<int>(
        r.optional_int(value, "count", 1, 1000000, "4", "processes in the pool").value_or(1));
    return in;
  }
  if (key == "stop") {
    in.kind = InstructionKind::kStop;
    if (value.IsScalar()) {
      in.name = value.Scalar();
    } else {
      if (!r.expect_map(value, "stop instruction", {"name"})) return std::nullopt;
      auto name = r.required_string(value, "name", "stop instruction", "blackode");
      if (!name) return std::nullopt;
      in.name = *name;
    }
    if (in.name.empty()) {
      r.error(value, "stop needs a registered name", "write `- stop: NAME`");
      return std::nullopt;
    }
    return in;
  }
  if (key == "apply") {
    in.kind = InstructionKind::kApply;
    if (!r.expect_map(value, "apply instruction",
                      {"module", "function", "args", "init_args", "timeout"})) {
      return std::nullopt;
    }
    auto module = r.required_string(value, "module", "apply instruction", "demo_server");
    auto function = r.required_string(value, "function", "apply instruction", "migrate");
    if (!module || !function || !r.check_name(value["module"], "module name", *module)) {
      return std::nullopt;
    }
    in.module = *module;
    in.function = *function;
    in.args = r.term(value, "args");
    in.init_args = r.term(value, "init_args");
    if (auto t = ReadTimeout(r, value)) in.timeout = *t;
    return in;
  }
  std::vector<std::string_view> names(std::begin(kInstructionNames), std::end(kInstructionNames));
  std::string near = ClosestWord(key, names);
  std::string all;
  for (auto n : names) all += (all.empty() ? "" : ", ") + std::string(n);
  r.error(entry.first, "unknown instruction '" + key + "'",
          near.empty() ? "use one of: " + all
                       : "did you mean '" + near + "'? (instructions: " + all + ")");
  return std::nullopt;
}

void ParseEntries(YamlReader& r, const YAML::Node& appup, std::string_view direction,
                  std::string_view vsn_key, const std::string& release_vsn,
                  std::vector<AppupEntry>* out) {
  std::map<std::string, SourceLoc> seen;
  for (const auto& node : r.list(appup, direction, "appup " + std::string(direction))) {
    std::string what = "appup " + std::string(direction) + " entry";
    if (!r.expect_map(node, what, {vsn_key, "instructions"})) continue;
    auto vsn = r.required_string(node, vsn_key, what, "\"1\"");
    AppupEntry entry;
    entry.vsn = vsn.value_or("");
    entry.loc = r.loc(node);
    // An entry refused for its version still has its instructions checked
    // (below): their problems do not depend on the version, and fixing the
    // version must not uncover them one run later.
    entry.refused = !vsn;
    bool valid = vsn && !vsn->empty() && vsn->size() <= 64 && vsn->front() != '.';
    if (vsn) {
      for (char c : *vsn) valid = valid && IsVersionPatternChar(c);
    }
    if (vsn && !valid) {
      r.error(node[std::string(vsn_key)], "'" + *vsn + "' is not a version or version pattern",
              "use a release vsn such as \"1.2\", or a glob such as \"1.*\"");
      entry.refused = true;
    } else if (vsn && *vsn == release_vsn) {
      r.error(node[std::string(vsn_key)],
              "appup " + std::string(direction) + " entry for version " + *vsn +
                  ", which is this release's own vsn",
              std::string(direction == "up" ? "an upgrade goes from an older release"
                                            : "a downgrade goes to an older release") +
                  ": use that release's vsn, or remove the entry");
      entry.refused = true;
    } else if (vsn) {
      auto [it, inserted] = seen.emplace(*vsn, entry.loc);
      if (!inserted) {
        r.error(node[std::string(vsn_key)],
                "version " + *vsn + " has two appup " + std::string(direction) +
                    " entries (the other at " + it->second.to_string() + ")",
                "merge their instructions into one entry");
        entry.refused = true;
      }
    }
    YAML::Node list = node["instructions"];
    if (!list || list.IsNull()) {
      r.error(node, what + (vsn ? " for " + *vsn : std::string()) + " has no 'instructions'",
              "add `instructions:` with e.g. `- update: MODULE`");
    }
    std::map<std::string, SourceLoc> module_instruction;
    for (const auto& item : r.list(node, "instructions", "instructions")) {
      auto in = ParseInstruction(r, item);
      if (!in) continue;
      bool module_level =
          in->kind == InstructionKind::kUpdate || in->kind == InstructionKind::kLoadModule ||
          in->kind == InstructionKind::kAddModule || in->kind == InstructionKind::kDeleteModule;
      if (module_level) {
        auto [prev, fresh] = module_instruction.emplace(in->module, in->loc);
        if (!fresh) {
          r.error(item,
                  "module " + in->module + " has two instructions" +
                      (entry.vsn.empty() ? " in one entry" : " for version " + entry.vsn) +
                      " (the other at " + prev->second.to_string() + ")",
                  "keep one of them");
          in->duplicate = true;
        }
      }
      entry.instructions.push_back(std::move(*in));
    }
    out->push_back(std::move(entry));
  }
}

}  // namespace

std::string_view InstructionName(InstructionKind kind) {
  switch (kind) {
    case InstructionKind::kUpdate:
    case InstructionKind::kUpdateSupervisor:
      return "update";
    case InstructionKind::kLoadModule:
      return "load_module";
    case InstructionKind::kAddModule:
      return "add_module";
    case InstructionKind::kDeleteModule:
      return "delete_module";
    case InstructionKind::kStart:
      return "start";
    case InstructionKind::kStop:
      return "stop";
    case InstructionKind::kApply:
      return "apply";
  }
  return "?";
}

void ParseAppup(YamlReader& r, const YAML::Node& node, const std::string& release_vsn,
                Appup* appup) {
  if (!r.expect_map(node, "appup", {"up", "down"})) return;
  ParseEntries(r, node, "up", "from", release_vsn, &appup->up);
  ParseEntries(r, node, "down", "to", release_vsn, &appup->down);
}

}  // namespace relup::build
