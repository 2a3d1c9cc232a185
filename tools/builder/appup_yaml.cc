// AppupToYaml: an appup as a spec's `appup:` section (relup gen-appup).
#include "builder/spec.h"

namespace relup::build {
namespace {

std::string QuoteVsn(const std::string& vsn) {
  return "\"" + vsn + "\"";
}

std::string PurgeName(PurgeMode mode) {
  return mode == PurgeMode::kBrutal ? "brutal" : "soft";
}

std::string InstructionToYaml(const Instruction& in) {
  std::string name(InstructionName(in.kind));
  switch (in.kind) {
    case InstructionKind::kUpdateSupervisor:
      return name + ": {supervisor: " + in.name + "}";
    case InstructionKind::kUpdate: {
      std::string opts;
      if (!in.extra.is_nil()) opts += ", extra: " + in.extra.to_yaml();
      if (in.timeout != kDefaultTimeout) opts += ", timeout: " + std::to_string(in.timeout.count());
      if (in.purge != PurgeMode::kSoft) opts += ", purge: " + PurgeName(in.purge);
      if (!in.depends_on.empty()) {
        std::string deps;
        for (const auto& d : in.depends_on) deps += (deps.empty() ? "" : ", ") + d;
        opts += ", depends_on: [" + deps + "]";
      }
      if (opts.empty()) return name + ": " + in.module;
      return name + ": {module: " + in.module + opts + "}";
    }
    case InstructionKind::kLoadModule:
      if (in.purge != PurgeMode::kSoft) {
        return name + ": {module: " + in.module + ", purge: " + PurgeName(in.purge) + "}";
      }
      return name + ": " + in.module;
    case InstructionKind::kAddModule:
    case InstructionKind::kDeleteModule:
      return name + ": " + in.module;
    case InstructionKind::kStart: {
      if (in.start_by_name) return name + ": " + in.process.name;
      std::string out = name + ": {module: " + in.process.module;
      if (!in.process.name.empty()) out += ", name: " + in.process.name;
      out += ", args: " + in.process.args.to_yaml();
      if (in.process.count != 1) out += ", count: " + std::to_string(in.process.count);
      return out + "}";
    }
    case InstructionKind::kStop:
      return name + ": " + in.name;
    case InstructionKind::kApply: {
      std::string out = name + ": {module: " + in.module + ", function: " + in.function +
                        ", args: " + in.args.to_yaml();
      if (!in.init_args.is_nil()) out += ", init_args: " + in.init_args.to_yaml();
      if (in.timeout != kDefaultTimeout) out += ", timeout: " + std::to_string(in.timeout.count());
      return out + "}";
    }
  }
  return name;
}

void EntriesToYaml(std::string& out, std::string_view key, std::string_view vsn_key,
                   const std::vector<AppupEntry>& entries) {
  if (entries.empty()) {
    out += "  " + std::string(key) + ": []\n";
    return;
  }
  out += "  " + std::string(key) + ":\n";
  for (const auto& e : entries) {
    out += "    - " + std::string(vsn_key) + ": " + QuoteVsn(e.vsn) + "\n";
    if (e.instructions.empty()) {
      out += "      instructions: []\n";
      continue;
    }
    out += "      instructions:\n";
    for (const auto& in : e.instructions) out += "        - " + InstructionToYaml(in) + "\n";
  }
}

}  // namespace

std::string AppupToYaml(const Appup& appup) {
  std::string out = "appup:\n";
  EntriesToYaml(out, "up", "from", appup.up);
  EntriesToYaml(out, "down", "to", appup.down);
  return out;
}

}  // namespace relup::build
