// relup status: the node's release, its processes per module and version,
// the supervisors' restarts (the last ones, so a crash loop shows), whether
// it requires signed tarballs (and the key ids it trusts), and the suspended
// processes.
#include <chrono>

#include "cmd/node_client_util.h"
#include "command.h"

namespace relup::cli {
namespace {

std::string Str(const Term& t, const char* key) {
  const Term* v = t.find(key);
  if (!v) return "";
  return v->is_string() ? v->as_string() : v->to_yaml();
}

int64_t Int(const Term& t, const char* key) {
  const Term* v = t.find(key);
  return v && v->is_int() ? v->as_int() : 0;
}

void PrintStatus(const Term& s) {
  std::string release = "none";
  if (const Term* r = s.find("release"); r && r->is_map()) {
    release = Str(*r, "name") + " " + Str(*r, "vsn") + " (" + Str(*r, "state") + ")";
  }
  PrintLine("node:      pid " + std::to_string(Int(s, "node_pid")) + " at " + Str(s, "root") +
            ", up " + std::to_string(Int(s, "uptime_s")) + " s");
  PrintLine("release:   " + release);
  std::string permanent = Str(s, "permanent");
  PrintLine("permanent: " + (permanent.empty() ? std::string("none") : permanent));
  int64_t n = Int(s, "processes");
  PrintLine("processes: " + std::to_string(n));
  if (const Term* mods = s.find("modules"); mods && mods->is_list()) {
    for (const Term& m : mods->elements()) {
      int64_t count = Int(m, "processes");
      const Term* cur = m.find("current");
      bool current = cur && cur->is_bool() && cur->as_bool();
      PrintLine("  " + Str(m, "module") + " " + Str(m, "vsn") + ": " + std::to_string(count) +
                (count == 1 ? " process" : " processes") + (current ? "" : "  (old version)"));
    }
  }
  if (const Term* io = s.find("io"); io && io->is_map()) {
    PrintLine("runtime:   " + std::to_string(Int(*io, "sockets")) + " sockets, " +
              std::to_string(Int(*io, "timers")) + " timers, " +
              std::to_string(Int(*io, "link_entries")) + " processes with links or monitors");
  }
  if (const Term* sup = s.find("supervision"); sup && sup->is_map()) {
    int64_t restarts = Int(*sup, "restarts");
    PrintLine("restarts:  " + std::to_string(restarts) + " by " +
              std::to_string(Int(*sup, "supervisors")) + " supervisors" +
              (restarts > 0 ? " (relup tree shows where); the last:" : ""));
    if (const Term* recent = sup->find("recent"); recent && recent->is_list()) {
      auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
      for (const Term& r : recent->elements()) {
        int64_t ago = (now - Int(r, "at_ms")) / 1000;
        PrintLine("  " + std::to_string(ago < 0 ? 0 : ago) + " s ago: " + Str(r, "id") + " under " +
                  Str(r, "supervisor") + ", after it ended with " +
                  (r.find("reason") ? r.at("reason").to_yaml() : std::string("?")));
      }
    }
  }
  if (const Term* sig = s.find("signatures"); sig && sig->is_map()) {
    const Term* keys = sig->find("trusted");
    std::string ids;
    if (keys && keys->is_list()) {
      for (const Term& k : keys->elements()) {
        ids += (ids.empty() ? "" : ", ") + Str(k, "id") + " (" + Str(k, "source") + ")";
      }
    }
    if (std::string error = Str(*sig, "error"); !error.empty()) {
      PrintLine("signatures: required, but every tarball is refused now: " + error);
    } else {
      PrintLine(ids.empty() ? "signatures: not required (no trusted keys: unsigned tarballs are "
                              "accepted)"
                            : "signatures: required, by one of " + ids);
    }
  }
  if (std::string overdue = Str(s, "overdue"); !overdue.empty()) {
    PrintLine("overdue:   " + overdue);
  }
  const Term* suspended = s.find("suspended");
  if (!suspended || !suspended->is_list() || suspended->size() == 0) {
    PrintLine("suspended: none");
    return;
  }
  PrintLine("suspended: " + std::to_string(suspended->size()));
  for (const Term& p : suspended->elements()) {
    std::string name = Str(p, "name");
    PrintLine("  " + Str(p, "pid") + (name.empty() ? "" : " " + name) + " (" + Str(p, "module") +
              " " + Str(p, "vsn") + ", " + std::to_string(Int(p, "queue")) + " queued)");
  }
}

CommandRunner Setup(CLI::App& sub) {
  return QueryCommand(sub, "status", "print a JSON object", PrintStatus);
}

RELUP_COMMAND("status", "show the node's release, processes per module version, suspended ones",
              Setup);

}  // namespace
}  // namespace relup::cli
