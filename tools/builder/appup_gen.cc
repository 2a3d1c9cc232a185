#include "builder/appup_gen.h"

#include <set>

namespace relup::build {
namespace {

// `to_is_newer`: an up entry. Either way the newer version's code_change
// decides between update and load_module: it is the one that runs.
std::vector<Instruction> Difference(const Release& from, const Release& to, bool start_by_name,
                                    bool to_is_newer) {
  std::vector<Instruction> adds, changes, supervisors, stops, starts, deletes;
  auto module_instruction = [](InstructionKind kind, const std::string& module) {
    Instruction in;
    in.kind = kind;
    in.module = module;
    return in;
  };
  for (const auto& m : to.modules) {
    const ReleaseModule* old = from.find_module(m.name);
    if (!old) {
      adds.push_back(module_instruction(InstructionKind::kAddModule, m.name));
    } else if (old->vsn != m.vsn || old->sha256 != m.sha256) {
      const ReleaseModule& newer = to_is_newer ? m : *old;
      changes.push_back(module_instruction(
          newer.has_code_change ? InstructionKind::kUpdate : InstructionKind::kLoadModule, m.name));
    }
  }
  for (const auto& m : from.modules) {
    if (!to.find_module(m.name)) {
      deletes.push_back(module_instruction(InstructionKind::kDeleteModule, m.name));
    }
  }
  std::set<std::string> from_names, to_names;
  for (const auto& p : from.processes) from_names.insert(p.name);
  for (const auto& p : to.processes) to_names.insert(p.name);
  for (const auto& p : from.processes) {
    if (p.name.empty() || to_names.count(p.name)) continue;
    Instruction in;
    in.kind = InstructionKind::kStop;
    in.name = p.name;
    stops.push_back(std::move(in));
  }
  for (const auto& p : to.processes) {
    if (p.name.empty() || from_names.count(p.name)) continue;
    Instruction in;
    in.kind = InstructionKind::kStart;
    in.module = p.module;
    in.process = p;
    in.start_by_name = start_by_name;
    starts.push_back(std::move(in));
  }
  // Trees: each supervisor both releases have whose specs differ gets them
  // (parents first); the root, when its settings or the spec of a process
  // both have changed (its children come and go by the stops and starts).
  auto supervisor_instruction = [](const std::string& name) {
    Instruction in;
    in.kind = InstructionKind::kUpdateSupervisor;
    in.name = name;
    return in;
  };
  bool root_changed = !(from.root == to.root);
  for (const auto& p : to.processes) {
    for (const auto& q : from.processes) {
      if (ChildIdBase(p) != ChildIdBase(q)) continue;
      if (!(ChildSpecs(p, 0, 1) == ChildSpecs(q, 0, 1))) root_changed = true;
    }
  }
  if (root_changed) supervisors.push_back(supervisor_instruction(kRootSupervisorName));
  for (const std::string& name : SupervisorNames(to)) {
    std::optional<Term> before = SupervisorArgsIn(from, name);
    if (before && !(*before == *SupervisorArgsIn(to, name))) {
      supervisors.push_back(supervisor_instruction(name));
    }
  }
  // Release modules are sorted by name, so each group is too.
  std::vector<Instruction> out;
  for (auto* group : {&adds, &changes, &supervisors, &stops, &starts, &deletes}) {
    for (auto& in : *group) out.push_back(std::move(in));
  }
  return out;
}

}  // namespace

AppupEntry GenerateUpEntry(const Release& older, const Release& newer) {
  AppupEntry entry;
  entry.vsn = older.vsn;
  entry.generated = true;
  entry.instructions = Difference(older, newer, /*start_by_name=*/true, /*to_is_newer=*/true);
  return entry;
}

AppupEntry GenerateDownEntry(const Release& older, const Release& newer) {
  AppupEntry entry;
  entry.vsn = older.vsn;
  entry.generated = true;
  entry.instructions = Difference(newer, older, /*start_by_name=*/false, /*to_is_newer=*/false);
  return entry;
}

}  // namespace relup::build
