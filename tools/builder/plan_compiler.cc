#include "builder/plan_compiler.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace relup::build {
namespace {

struct Context {
  const AppupEntry& entry;
  bool down;
  const LoadedRelease& self;
  const LoadedRelease* other;
  bool other_exact;
  Diagnostics* diags;

  // The release whose code the node runs after the plan (target) and before it.
  const LoadedRelease* target() const { return down ? other : &self; }
  const LoadedRelease* source() const { return down ? &self : other; }

  std::string describe(const LoadedRelease* r) const {
    return "release " + r->release.name + " " + r->release.vsn;
  }
  // This release's module names, for "did you mean".
  std::vector<std::string_view> module_names() const {
    std::vector<std::string_view> names;
    for (const ReleaseModule& m : self.release.modules) names.push_back(m.name);
    return names;
  }
  std::string target_words() const { return down ? "the release downgraded to" : "this release"; }
  std::string source_words() const { return down ? "this release" : "the release upgraded from"; }
  void error(const Instruction& in, std::string message, std::string fix) const {
    diags->error(in.loc, std::string(InstructionName(in.kind)) + " " + message, std::move(fix));
  }

  std::string target_vsn(const std::string& module) const {
    const LoadedRelease* t = target();
    if (!t || (down && !other_exact)) return "";
    const ReleaseModule* m = t->release.find_module(module);
    return m ? m->vsn : "";
  }
  std::string source_vsn(const std::string& module) const {
    const LoadedRelease* s = source();
    if (!s || (!down && !other_exact)) return "";
    const ReleaseModule* m = s->release.find_module(module);
    return m ? m->vsn : "";
  }
};

// Reports a module missing from `r` (when r is known). True if present or
// unknown; false, silently, if its library was already reported broken.
bool ExpectIn(const Context& c, const Instruction& in, const std::string& module,
              const LoadedRelease* r, const std::string& role, const std::string& fix) {
  if (!r || r->release.find_module(module)) return true;
  if (r->broken_modules.count(module)) return false;
  c.error(in, module + ": module " + module + " is not in " + c.describe(r) + " (" + role + ")",
          fix);
  return false;
}

void CheckInstruction(const Context& c, const Instruction& in) {
  const LoadedRelease* target = c.target();
  const LoadedRelease* source = c.source();
  const std::string& m = in.module;
  switch (in.kind) {
    case InstructionKind::kUpdate:
    case InstructionKind::kLoadModule: {
      // Missing from this release: a typo or a forgotten module, and that one
      // error. Missing from the older one (the source going up, the target
      // going down): the module is new in this release.
      const ReleaseModule* newer = c.self.release.find_module(m);  // this release's
      bool in_self = newer != nullptr;
      bool in_older = false;
      if (!in_self && c.self.broken_modules.count(m) == 0) {
        ExpectIn(c, in, m, &c.self, c.down ? c.source_words() : c.target_words(),
                 UnknownModuleFix(m, c.module_names(), "the release's modules"));
      } else {
        in_older = ExpectIn(c, in, m, c.other, c.down ? c.target_words() : c.source_words(),
                            c.down ? "use delete_module for a module the older release lacks"
                                   : "use add_module for a module new in this release");
      }
      if (in_self && in_older && target && source) {
        const ReleaseModule* t = target->release.find_module(m);
        const ReleaseModule* s = source->release.find_module(m);
        if (t->vsn == s->vsn && t->sha256 == s->sha256) {
          c.error(in, m + ": " + m + " is vsn " + t->vsn + " in both releases; nothing changes",
                  "drop the instruction, or bump " + m + "'s vsn if its code changed");
        }
      }
      // The newer version's code_change runs both ways (OTP's rule): this
      // release's, whether it is upgraded to or downgraded from.
      if (in.kind == InstructionKind::kUpdate && newer != nullptr && !newer->has_code_change) {
        c.error(in,
                m + ": " + m + " " + newer->vsn + " (in " + c.describe(&c.self) +
                    ") has no code_change, so its processes' state cannot be transformed " +
                    (c.down ? "on the way down (going down, the newer version's code_change "
                              "runs, with old_vsn !tuple [:down, OLD])"
                            : "on the way up"),
                "use `load_module: " + m + "` for a code-only change, or give " + m + " " +
                    newer->vsn + " a code_change" + (c.down ? " with a down clause" : ""));
      }
      // Whatever is wrong with the module itself, its depends_on is checked.
      for (const auto& dep : in.depends_on) {
        if (!c.self.release.find_module(dep) && !c.self.broken_modules.count(dep)) {
          c.diags->error(in.loc,
                         "update " + m + ": depends_on names module " + dep + ", which is not in " +
                             c.describe(&c.self),
                         "fix the module name, or remove it from depends_on");
        }
      }
      break;
    }
    case InstructionKind::kAddModule:
      ExpectIn(c, in, m, target, c.target_words(),
               UnknownModuleFix(m, c.module_names(), "the release's modules"));
      if (source && source->release.find_module(m)) {
        c.error(in, m + ": " + m + " is already in " + c.describe(source),
                "use update or load_module for a module both releases have");
      }
      break;
    case InstructionKind::kDeleteModule:
      ExpectIn(c, in, m, source, c.source_words(), "fix the module name");
      if (target && target->release.find_module(m)) {
        c.error(in, m + ": " + m + " is still in " + c.describe(target),
                c.down ? "drop the instruction, or remove the module from the older release"
                       : "remove " + m + " from the release's modules, or drop the instruction");
      }
      break;
    case InstructionKind::kStart:
      if (!in.start_by_name) {
        ExpectIn(c, in, in.process.module, target, c.target_words(),
                 "start a module of the release");
      }
      break;
    case InstructionKind::kApply:
      ExpectIn(c, in, m, target, c.target_words(), "apply a function of a module of the release");
      break;
    case InstructionKind::kStop:
      break;
    case InstructionKind::kUpdateSupervisor:
      if (target && !SupervisorArgsIn(target->release, in.name)) {
        c.error(in,
                "update supervisor " + in.name + ": " + c.describe(target) +
                    " has no supervisor named " + in.name,
                "name a supervisor of the release (relup_root for the root), or fix the name");
      }
      break;
  }
}

// A start in its short form takes the process entry of that name from the
// target release.
std::optional<ReleaseProcess> ResolveStart(const Context& c, const Instruction& in) {
  if (!in.start_by_name) return in.process;
  const LoadedRelease* target = c.target();
  if (!target) {
    c.error(in,
            in.process.name + ": the release downgraded to is unknown here, so process " +
                in.process.name + " cannot be looked up",
            "write the full form `start: {module: M, name: " + in.process.name +
                ", args: ...}`, or build with --from that release");
    return std::nullopt;
  }
  for (const auto& p : target->release.processes) {
    if (p.name == in.process.name) return p;
  }
  c.error(
      in, in.process.name + ": " + c.describe(target) + " has no process named " + in.process.name,
      "add it to the release's processes, or write `start: {module: M, name: " + in.process.name +
          ", args: ...}`");
  return std::nullopt;
}

// Reports every depends_on cycle among the entry's updates (once per cycle).
// Every update written counts, duplicates and those of broken modules too:
// a cycle is in the text, whatever else is wrong with its modules.
void CheckCycles(const Context& c) {
  std::map<std::string, std::vector<const Instruction*>> updates;
  for (const auto& in : c.entry.instructions) {
    if (in.kind == InstructionKind::kUpdate) updates[in.module].push_back(&in);
  }
  std::map<std::string, int> state;  // 0 new, 1 on stack, 2 done
  std::vector<std::string> stack;
  std::set<std::set<std::string>> reported;
  std::function<void(const std::string&)> visit = [&](const std::string& m) {
    state[m] = 1;
    stack.push_back(m);
    auto it = updates.find(m);
    if (it != updates.end()) {
      for (const Instruction* in : it->second) {
        for (const auto& dep : in->depends_on) {
          if (state[dep] == 1) {
            auto start = std::find(stack.begin(), stack.end(), dep);
            std::vector<std::string> cycle(start, stack.end());
            std::set<std::string> key(cycle.begin(), cycle.end());
            if (reported.insert(key).second) {
              std::string path;
              for (const auto& x : cycle) path += x + " -> ";
              path += dep;
              const Instruction* at = updates.count(dep) ? updates[dep].front() : in;
              c.diags->error(at->loc, "depends_on cycle: " + path,
                             "modules that must change together need depends_on in one "
                             "direction only: remove one of these depends_on entries");
            }
          } else if (state[dep] == 0) {
            visit(dep);
          }
        }
      }
    }
    stack.pop_back();
    state[m] = 2;
  };
  for (const auto& in : c.entry.instructions) {
    if (in.kind == InstructionKind::kUpdate && state[in.module] == 0) visit(in.module);
  }
}

// Update instructions joined by depends_on: modules whose processes must
// change together.
struct Group {
  std::set<std::string> suspend;            // updated modules and their depends_on
  std::vector<const Instruction*> updates;  // in instruction order
  size_t first = 0;                         // index of the first update
};

std::vector<Group> GroupUpdates(const std::vector<Instruction>& instructions) {
  std::map<std::string, std::string> parent;
  std::function<std::string(const std::string&)> find = [&](const std::string& x) {
    auto it = parent.find(x);
    if (it == parent.end() || it->second == x) return parent[x] = x;
    return it->second = find(it->second);
  };
  for (const auto& in : instructions) {
    if (in.kind != InstructionKind::kUpdate) continue;
    find(in.module);
    for (const auto& dep : in.depends_on) parent[find(dep)] = find(in.module);
  }
  std::map<std::string, size_t> index;  // root -> group
  std::vector<Group> groups;
  for (size_t i = 0; i < instructions.size(); ++i) {
    const Instruction& in = instructions[i];
    if (in.kind != InstructionKind::kUpdate) continue;
    std::string root = find(in.module);
    auto [it, fresh] = index.emplace(root, groups.size());
    if (fresh) groups.push_back(Group{{}, {}, i});
    Group& g = groups[it->second];
    g.updates.push_back(&in);
    g.suspend.insert(in.module);
    g.suspend.insert(in.depends_on.begin(), in.depends_on.end());
  }
  return groups;
}

// The group's updates with dependencies first (instruction order otherwise;
// a cycle, already reported, falls back to instruction order).
std::vector<const Instruction*> DependenciesFirst(const Group& g) {
  std::vector<const Instruction*> order;
  std::set<std::string> done;
  std::set<std::string> members;
  for (const auto* in : g.updates) members.insert(in->module);
  std::vector<const Instruction*> pending = g.updates;
  while (!pending.empty()) {
    auto ready = std::find_if(pending.begin(), pending.end(), [&](const Instruction* in) {
      return std::all_of(in->depends_on.begin(), in->depends_on.end(), [&](const std::string& d) {
        return !members.count(d) || done.count(d) || d == in->module;
      });
    });
    if (ready == pending.end()) ready = pending.begin();
    done.insert((*ready)->module);
    order.push_back(*ready);
    pending.erase(ready);
  }
  return order;
}

}  // namespace

UpgradePlan CompileAppupEntry(const AppupEntry& entry, bool down, const LoadedRelease& self,
                              const LoadedRelease* other, bool other_exact, Diagnostics* diags) {
  Context c{entry, down, self, other, other_exact, diags};
  UpgradePlan plan;
  plan.vsn = entry.vsn;
  plan.generated = entry.generated;
  for (const auto& in : entry.instructions) CheckInstruction(c, in);
  CheckCycles(c);

  std::vector<Instruction> instructions;
  for (const auto& in : entry.instructions) {
    if (!in.duplicate) instructions.push_back(in);
  }

  LoadObjectCodeStep load;
  std::set<std::string> loading;
  for (const auto& in : instructions) {
    bool needs_code = in.kind == InstructionKind::kUpdate ||
                      in.kind == InstructionKind::kLoadModule ||
                      in.kind == InstructionKind::kAddModule;
    if (needs_code && loading.insert(in.module).second) {
      load.modules.push_back({in.module, c.target_vsn(in.module)});
    }
  }
  plan.steps.push_back(std::move(load));
  plan.steps.push_back(PointOfNoReturnStep{});

  std::vector<Group> groups = GroupUpdates(instructions);
  std::map<size_t, const Group*> group_at;
  for (const auto& g : groups) group_at[g.first] = &g;
  for (size_t i = 0; i < instructions.size(); ++i) {
    const Instruction& in = instructions[i];
    switch (in.kind) {
      case InstructionKind::kUpdate: {
        auto it = group_at.find(i);
        if (it == group_at.end()) break;  // emitted with its group's first update
        const Group& g = *it->second;
        SuspendStep suspend;
        suspend.modules.assign(g.suspend.begin(), g.suspend.end());
        suspend.timeout = Millis(0);
        for (const auto* u : g.updates) suspend.timeout = std::max(suspend.timeout, u->timeout);
        ResumeStep resume{suspend.modules};
        plan.steps.push_back(std::move(suspend));
        for (const Instruction* u : DependenciesFirst(g)) {
          CodeChangeStep change;
          change.module = u->module;
          change.from_vsn = c.source_vsn(u->module);
          change.to_vsn = c.target_vsn(u->module);
          change.down = down;
          change.extra = u->extra;
          plan.steps.push_back(std::move(change));
        }
        plan.steps.push_back(std::move(resume));
        break;
      }
      case InstructionKind::kLoadModule:
      case InstructionKind::kAddModule:
        plan.steps.push_back(LoadStep{in.module, c.target_vsn(in.module)});
        break;
      case InstructionKind::kStart:
        if (auto process = ResolveStart(c, in)) plan.steps.push_back(StartStep{*process});
        break;
      case InstructionKind::kStop:
        plan.steps.push_back(StopStep{in.name});
        break;
      case InstructionKind::kUpdateSupervisor: {
        const LoadedRelease* target = c.target();
        if (target == nullptr) {
          c.error(in,
                  "update supervisor " + in.name +
                      ": the release downgraded to is unknown here, "
                      "so its child specs cannot be read",
                  "build with --from that release");
          break;
        }
        if (std::optional<Term> args = SupervisorArgsIn(target->release, in.name)) {
          plan.steps.push_back(SupervisorStep{in.name, *args, in.name != kRootSupervisorName});
        }
        break;
      }
      case InstructionKind::kApply: {
        ApplyStep apply;
        apply.module = in.module;
        apply.function = in.function;
        apply.args = in.args;
        apply.init_args = in.init_args;
        apply.timeout = in.timeout;
        plan.steps.push_back(std::move(apply));
        break;
      }
      case InstructionKind::kDeleteModule:
        break;  // at the end, below
    }
  }
  for (const auto& in : instructions) {
    if (in.kind == InstructionKind::kUpdate || in.kind == InstructionKind::kLoadModule) {
      plan.steps.push_back(PurgeStep{in.module, in.purge});
    }
  }
  for (const auto& in : instructions) {
    if (in.kind == InstructionKind::kDeleteModule)
      plan.steps.push_back(DeleteModuleStep{in.module});
  }
  return plan;
}

}  // namespace relup::build
