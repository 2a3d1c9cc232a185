// The release configuration in an upgrade (upgrade_execution.h): the diff
// shown by every report (a dry run's too), the switch to the target's
// config in the commit with one config_change per changed module, and its
// undoing on a rollback.
#include <set>
#include <string>

#include "config/release_config.h"
#include "relup/release.h"
#include "supervision/supervisor_args.h"
#include "upgrade/upgrade_execution.h"

namespace relup::upgrade {
namespace {

// Module names of both configs, sorted (as their terms sort).
std::set<Term> Modules(const Term& a, const Term& b) {
  std::set<Term> out;
  for (const Term* c : {&a, &b}) {
    if (!c->is_map()) continue;
    for (const auto& [k, v] : c->entries()) out.insert(k);
  }
  return out;
}

const Term& Of(const Term& config, const Term& module) {
  static const Term kNone;
  const Term* m = config.is_map() ? config.find(module) : nullptr;
  return m != nullptr ? *m : kNone;
}

}  // namespace

Term Execution::TargetConfig() const {
  if (ctx_.target == nullptr || ctx_.target->config.is_nil()) return Term::map({});
  return ctx_.target->config;
}

void Execution::DiffConfig() {
  Term before = node_.config(), after = TargetConfig();
  std::vector<Term> out;
  for (const Term& m : Modules(before, after)) {
    ConfigDelta d = DiffModuleConfig(Of(before, m), Of(after, m));
    if (d.empty()) continue;
    out.push_back(Term::map({{Term::atom("module"), Term(supervision::Text(m))},
                             {Term::atom("changed"), d.changed},
                             {Term::atom("added"), d.added},
                             {Term::atom("removed"), d.removed}}));
  }
  report_.config_changes = Term::list(std::move(out));
}

bool Execution::ChangeConfig() {
  if (report_.config_changes.size() == 0) return true;
  previous_config_ = node_.config();
  config_switched_ = true;
  node_.set_config(TargetConfig());
  CodeServer& code = node_.code_server();
  for (const Term& change : report_.config_changes.elements()) {
    std::string module = change.at("module").as_string();
    ModuleVersionPtr v = code.current(module);
    if (v == nullptr || v->callbacks().config_change == nullptr) continue;
    Status s = v->callbacks().config_change(change.at("changed"), change.at("added"),
                                            change.at("removed"));
    if (!s.ok()) {
      Fail(nullptr, module, "config_change", s.WithContext(module + " " + v->vsn()));
      return false;
    }
    config_told_.push_back(module);
  }
  return true;
}

void Execution::UndoConfig() {
  if (!config_switched_) return;
  Term undone = node_.config();
  node_.set_config(previous_config_);
  // The modules told of the new config hear of the old one again, on the
  // code they are back on, last told first.
  CodeServer& code = node_.code_server();
  for (auto it = config_told_.rbegin(); it != config_told_.rend(); ++it) {
    Term m = Term::atom(*it);
    ConfigDelta back = DiffModuleConfig(Of(undone, m), Of(previous_config_, m));
    ModuleVersionPtr v = code.current(*it);
    if (back.empty() || v == nullptr || v->callbacks().config_change == nullptr) continue;
    Status s = v->callbacks().config_change(back.changed, back.added, back.removed);
    if (!s.ok()) {
      report_.warnings.push_back(*it + " config_change back to the old config: " + s.message());
    }
  }
}

}  // namespace relup::upgrade
