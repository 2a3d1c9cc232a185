#include "upgrade/upgrade_report.h"

#include <algorithm>
#include <cmath>

#include "node/control_protocol.h"

namespace relup {

namespace {

constexpr UpgradeOutcome kOutcomes[] = {UpgradeOutcome::kOk, UpgradeOutcome::kRefused,
                                        UpgradeOutcome::kRolledBack};

Term PidTerm(Pid pid) {
  return pid.valid() ? Term(pid.to_string()) : Term();
}

Term StatusTerm(const Status& s) {
  return Term::map({{Term::atom("code"), Term(std::string(StatusCodeName(s.code())))},
                    {Term::atom("message"), Term(s.message())}});
}

// Reads a report back: every accessor checks the type and says which key is wrong.
class Reader {
 public:
  explicit Reader(const Term& map, std::string where) : map_(map), where_(std::move(where)) {}

  const Term* get(std::string_view key, Term::Type type, bool optional = false) {
    const Term* v = map_.find(key);
    if (v == nullptr || (v->is_nil() && optional)) {
      if (!optional && error_.ok())
        error_ = Status::InvalidArgument(where_ + ": missing key " + std::string(key));
      return nullptr;
    }
    if (v->type() != type && !(type == Term::Type::kFloat && v->is_int())) {
      if (error_.ok()) {
        error_ = Status::InvalidArgument(where_ + "." + std::string(key) + ": expected " +
                                         std::string(Term::type_name(type)) + ", got " +
                                         std::string(Term::type_name(v->type())));
      }
      return nullptr;
    }
    return v;
  }
  std::string str(std::string_view key, bool optional = false) {
    const Term* v = get(key, Term::Type::kString, optional);
    return v ? v->as_string() : std::string();
  }
  int64_t num(std::string_view key) {
    const Term* v = get(key, Term::Type::kInt);
    return v ? v->as_int() : 0;
  }
  double real(std::string_view key) {
    const Term* v = get(key, Term::Type::kFloat);
    return v ? v->as_float() : 0.0;
  }
  bool flag(std::string_view key) {
    const Term* v = get(key, Term::Type::kBool);
    return v ? v->as_bool() : false;
  }
  Pid pid(std::string_view key) {
    const Term* v = get(key, Term::Type::kString, /*optional=*/true);
    if (v == nullptr) return Pid{};
    Result<Pid> p = Pid::parse(v->as_string());
    if (!p.ok() && error_.ok()) error_ = p.status().WithContext(where_ + "." + std::string(key));
    return p.ok() ? *p : Pid{};
  }
  const std::vector<Term>& list(std::string_view key) {
    static const std::vector<Term> kEmpty;
    const Term* v = get(key, Term::Type::kList);
    return v ? v->elements() : kEmpty;
  }
  void fail(Status s) {
    if (error_.ok()) error_ = std::move(s);
  }
  const Status& error() const { return error_; }

 private:
  const Term& map_;
  std::string where_;
  Status error_;
};

// Sets *out to the status `t` describes; returns an error if `t` is malformed.
Status StatusFromTerm(const Term& t, const std::string& where, Status* out) {
  if (!t.is_map()) return Status::InvalidArgument(where + ": expected a map");
  Reader r(t, where);
  std::string code = r.str("code");
  std::string message = r.str("message");
  if (!r.error().ok()) return r.error();
  for (int c = static_cast<int>(StatusCode::kOk); c <= static_cast<int>(StatusCode::kInternal);
       ++c) {
    auto sc = static_cast<StatusCode>(c);
    if (StatusCodeName(sc) != code) continue;
    *out = control::MakeStatus(sc, std::move(message));
    return Status::Ok();
  }
  return Status::InvalidArgument(where + ".code: unknown status code '" + code + "'");
}

}  // namespace

std::string_view UpgradeOutcomeName(UpgradeOutcome outcome) {
  switch (outcome) {
    case UpgradeOutcome::kOk:
      return "ok";
    case UpgradeOutcome::kRefused:
      return "refused";
    case UpgradeOutcome::kRolledBack:
      return "rolled_back";
  }
  return "unknown";
}

PauseStats PauseStats::Of(std::vector<int64_t>& pauses_us) {
  PauseStats stats;
  stats.count = pauses_us.size();
  if (pauses_us.empty()) return stats;
  // Nearest rank: the smallest value with at least p% of the values <= it.
  auto rank = [&](double p) {
    size_t k = static_cast<size_t>(std::ceil(p * static_cast<double>(pauses_us.size())));
    return std::max<size_t>(k, 1) - 1;
  };
  size_t r50 = rank(0.50), r99 = rank(0.99);
  std::nth_element(pauses_us.begin(), pauses_us.begin() + r50, pauses_us.end());
  stats.p50_us = pauses_us[r50];
  std::nth_element(pauses_us.begin(), pauses_us.begin() + r99, pauses_us.end());
  stats.p99_us = pauses_us[r99];
  stats.max_us = *std::max_element(pauses_us.begin(), pauses_us.end());
  return stats;
}

Status UpgradeReport::status() const {
  if (outcome == UpgradeOutcome::kOk) return Status::Ok();
  if (failures.empty())
    return Status::Internal("upgrade " + std::string(UpgradeOutcomeName(outcome)) +
                            " without a recorded failure");
  const UpgradeFailure& f = failures.front();
  std::string where;
  if (!f.process.empty()) where = f.process;
  if (!f.module.empty()) {
    if (!where.empty()) where += ' ';
    where.append("(").append(f.module).append(")");
  }
  if (!where.empty()) where += ", ";
  return f.reason.WithContext(where + f.step);
}

Term UpgradeReport::ToTerm(bool with_touched) const {
  std::vector<Term> mods;
  for (const auto& m : modules) {
    mods.push_back(Term::map({{Term::atom("module"), Term(m.module)},
                              {Term::atom("from"), Term(m.from_vsn)},
                              {Term::atom("to"), Term(m.to_vsn)},
                              {Term::atom("instruction"), Term(m.instruction)},
                              {Term::atom("processes"), Term(static_cast<int64_t>(m.processes))}}));
  }
  std::vector<Term> counts;
  for (const auto& c : processes) {
    counts.push_back(Term::map({{Term::atom("module"), Term(c.module)},
                                {Term::atom("vsn"), Term(c.vsn)},
                                {Term::atom("count"), Term(static_cast<int64_t>(c.count))}}));
  }
  std::vector<Term> touch;
  if (with_touched) touch.reserve(touched.size());
  for (size_t i = 0; with_touched && i < touched.size(); ++i) {
    const TouchedProcess& t = touched[i];
    touch.push_back(Term::map({{Term::atom("pid"), PidTerm(t.pid)},
                               {Term::atom("name"), Term(t.name)},
                               {Term::atom("module"), Term(t.module)},
                               {Term::atom("from"), Term(t.from_vsn)},
                               {Term::atom("to"), Term(t.to_vsn)},
                               {Term::atom("pause_us"), Term(t.pause_us)}}));
  }
  std::vector<Term> fails;
  for (const auto& f : failures) {
    fails.push_back(Term::map({{Term::atom("pid"), PidTerm(f.pid)},
                               {Term::atom("process"), Term(f.process)},
                               {Term::atom("module"), Term(f.module)},
                               {Term::atom("step"), Term(f.step)},
                               {Term::atom("reason"), StatusTerm(f.reason)}}));
  }
  std::vector<Term> warns;
  for (const auto& w : warnings) warns.emplace_back(w);
  Term pause_term = Term::map({{Term::atom("count"), Term(static_cast<int64_t>(pause.count))},
                               {Term::atom("p50_us"), Term(pause.p50_us)},
                               {Term::atom("p99_us"), Term(pause.p99_us)},
                               {Term::atom("max_us"), Term(pause.max_us)}});
  // Microseconds are all a reader of total_ms can use.
  double total = std::round(total_ms * 1000.0) / 1000.0;
  Term out = Term::map({
      {Term::atom("outcome"), Term::atom(UpgradeOutcomeName(outcome))},
      {Term::atom("from"), Term(from_release)},
      {Term::atom("to"), Term(to_release)},
      {Term::atom("permanent"), permanent_release.empty() ? Term() : Term(permanent_release)},
      {Term::atom("downgrade"), Term(downgrade)},
      {Term::atom("dry_run"), Term(dry_run)},
      {Term::atom("modules"), Term::list(std::move(mods))},
      {Term::atom("processes"), Term::list(std::move(counts))},
      {Term::atom("touched_count"), Term(static_cast<int64_t>(touched_total()))},
      {Term::atom("upgraded"), Term(static_cast<int64_t>(upgraded))},
      {Term::atom("pause"), pause_term},
      {Term::atom("total_ms"), Term(total)},
      {Term::atom("failures"), Term::list(std::move(fails))},
      {Term::atom("warnings"), Term::list(std::move(warns))},
      {Term::atom("config_changes"), config_changes},
      {Term::atom("tree_changes"), tree_changes},
  });
  // The per-process list only when asked for: an empty one beside
  // touched_count would read as "none".
  if (with_touched) out.set("touched", Term::list(std::move(touch)));
  return out;
}

Result<UpgradeReport> UpgradeReport::FromTerm(const Term& term) {
  if (!term.is_map()) {
    return Status::InvalidArgument("upgrade report: expected a map, got " +
                                   std::string(Term::type_name(term.type())));
  }
  UpgradeReport report;
  Reader r(term, "upgrade report");
  const Term* outcome = r.get("outcome", Term::Type::kAtom);
  if (outcome != nullptr) {
    bool known = false;
    for (UpgradeOutcome o : kOutcomes) {
      if (outcome->as_atom() == UpgradeOutcomeName(o)) {
        report.outcome = o;
        known = true;
      }
    }
    if (!known)
      r.fail(Status::InvalidArgument("upgrade report.outcome: unknown outcome :" +
                                     std::string(outcome->as_atom())));
  }
  report.from_release = r.str("from");
  report.to_release = r.str("to");
  report.permanent_release = r.str("permanent", /*optional=*/true);
  report.downgrade = r.flag("downgrade");
  report.dry_run = r.flag("dry_run");
  for (const Term& m : r.list("modules")) {
    if (!m.is_map()) {
      r.fail(Status::InvalidArgument("upgrade report.modules: expected maps"));
      break;
    }
    Reader mr(m, "upgrade report.modules[]");
    ModuleChangeReport mc{mr.str("module"), mr.str("from"), mr.str("to"), mr.str("instruction"),
                          static_cast<size_t>(mr.num("processes"))};
    r.fail(mr.error());
    report.modules.push_back(std::move(mc));
  }
  for (const Term& c : r.list("processes")) {
    if (!c.is_map()) {
      r.fail(Status::InvalidArgument("upgrade report.processes: expected maps"));
      break;
    }
    Reader cr(c, "upgrade report.processes[]");
    ProcessCount pc{cr.str("module"), cr.str("vsn"), static_cast<size_t>(cr.num("count"))};
    r.fail(cr.error());
    report.processes.push_back(std::move(pc));
  }
  static const std::vector<Term> kNone;
  for (const Term& t : term.find("touched") != nullptr ? r.list("touched") : kNone) {
    if (!t.is_map()) {
      r.fail(Status::InvalidArgument("upgrade report.touched: expected maps"));
      break;
    }
    Reader tr(t, "upgrade report.touched[]");
    TouchedProcess tp{tr.pid("pid"),  tr.str("name"), tr.str("module"),
                      tr.str("from"), tr.str("to"),   tr.num("pause_us")};
    r.fail(tr.error());
    report.touched.push_back(std::move(tp));
  }
  if (const Term* n = term.find("touched_count"); n && n->is_int() && n->as_int() >= 0) {
    report.touched_count = static_cast<size_t>(n->as_int());
  } else {
    report.touched_count = report.touched.size();
  }
  report.upgraded = static_cast<size_t>(r.num("upgraded"));
  if (const Term* p = r.get("pause", Term::Type::kMap)) {
    Reader pr(*p, "upgrade report.pause");
    report.pause.count = static_cast<size_t>(pr.num("count"));
    report.pause.p50_us = pr.num("p50_us");
    report.pause.p99_us = pr.num("p99_us");
    report.pause.max_us = pr.num("max_us");
    r.fail(pr.error());
  }
  report.total_ms = r.real("total_ms");
  for (const Term& f : r.list("failures")) {
    if (!f.is_map()) {
      r.fail(Status::InvalidArgument("upgrade report.failures: expected maps"));
      break;
    }
    Reader fr(f, "upgrade report.failures[]");
    UpgradeFailure uf;
    uf.pid = fr.pid("pid");
    uf.process = fr.str("process");
    uf.module = fr.str("module");
    uf.step = fr.str("step");
    if (const Term* reason = fr.get("reason", Term::Type::kMap)) {
      Status bad = StatusFromTerm(*reason, "upgrade report.failures[].reason", &uf.reason);
      if (!bad.ok()) fr.fail(bad);
    }
    r.fail(fr.error());
    report.failures.push_back(std::move(uf));
  }
  for (const Term& w : r.list("warnings")) {
    if (!w.is_string()) {
      r.fail(Status::InvalidArgument("upgrade report.warnings: expected strings"));
      break;
    }
    report.warnings.push_back(w.as_string());
  }
  if (const Term* tree = term.find("tree_changes"); tree != nullptr && tree->is_list()) {
    report.tree_changes = *tree;
  }
  if (const Term* config = term.find("config_changes"); config != nullptr) {
    if (!config->is_list()) {
      r.fail(Status::InvalidArgument("upgrade report.config_changes: expected a list"));
    } else {
      report.config_changes = *config;
    }
  }
  if (!r.error().ok()) return r.error();
  return report;
}

UpgradeReport RefusedReport(std::string from_release, std::string to_release, std::string step,
                            Status reason) {
  UpgradeReport report;
  report.from_release = std::move(from_release);
  report.to_release = std::move(to_release);
  report.outcome = UpgradeOutcome::kRefused;
  UpgradeFailure f;
  f.step = std::move(step);
  f.reason = std::move(reason);
  report.failures.push_back(std::move(f));
  return report;
}

}  // namespace relup
