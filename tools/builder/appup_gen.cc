#include "builder/appup_gen.h"

#include <set>

namespace relup::build {
namespace {

// `to_is_newer`: an up entry. Either way the newer version's code_change
// decides between update and load_module: it is the one that runs.
std::vector<Instruction> Difference(const Release& from, const Release& to, bool start_by_name,
                                    bool to_is_newer) {
  std::vector<Instruction> adds, changes, stops, starts, deletes;
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
  // Release modules are sorted by name, so each group is too.
  std::vector<Instruction> out;
  for (auto* group : {&adds, &changes, &stops, &starts, &deletes}) {
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
