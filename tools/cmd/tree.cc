// relup tree [SUP]: the live supervision tree, from relup_root (or SUP), as
// the supervisors themselves report it: each child's id, pid, module and
// version and its restarts; a supervisor's strategy and intensity. Long runs
// of like siblings (a pool) are summarized unless --all. The processes no
// supervisor holds are counted after it.
#include <string>
#include <vector>

#include "cmd/node_client_util.h"
#include "command.h"
#include "supervision/supervisor_args.h"

namespace relup::cli {
namespace {

std::string Str(const Term& t, const char* key) {
  const Term* v = t.find(key);
  return v == nullptr || v->is_nil() ? "" : supervision::Text(*v);
}

int64_t Int(const Term& t, const char* key) {
  const Term* v = t.find(key);
  return v != nullptr && v->is_int() ? v->as_int() : 0;
}

std::string Label(const Term& n, bool top) {
  std::string id = top ? Str(n, "name") : Str(n, "id");
  if (id.empty()) id = Str(n, "pid");
  std::string pid = Str(n, "pid");
  std::string out = id == pid ? id : id + "  " + (pid.empty() ? "(not running)" : pid);
  std::string name = Str(n, "name");
  if (!name.empty() && name != id) out += " as " + name;
  out += "  " + Str(n, "module") + (Str(n, "vsn").empty() ? "" : " " + Str(n, "vsn"));
  if (Str(n, "type") == "supervisor" && n.find("strategy") != nullptr) {
    out += " (" + Str(n, "strategy") + ", at most " + Str(n, "intensity") + " restarts in " +
           Str(n, "period_ms") + " ms)";
  }
  if (int64_t r = Int(n, "restarts"); r > 0) out += "  restarted " + std::to_string(r) + "x";
  if (std::string e = Str(n, "error"); !e.empty()) out += "  (" + e + ")";
  return out;
}

// Siblings alike enough to summarize: workers of the same module and vsn.
bool Alike(const Term& a, const Term& b) {
  return Str(a, "type") != "supervisor" && Str(b, "type") != "supervisor" &&
         Str(a, "module") == Str(b, "module") && Str(a, "vsn") == Str(b, "vsn");
}

void Print(const Term& n, const std::string& indent, bool last, bool top, bool all) {
  std::string branch = top ? "" : (last ? "└─ " : "├─ ");
  PrintLine(indent + branch + Label(n, top));
  const Term* children = n.find("children");
  if (children == nullptr || !children->is_list()) return;
  std::string inner = top ? "" : indent + (last ? "   " : "│  ");
  const auto& cs = children->elements();
  constexpr size_t kRun = 8, kShow = 3;
  for (size_t i = 0; i < cs.size();) {
    size_t j = i + 1;
    while (j < cs.size() && Alike(cs[i], cs[j])) ++j;
    if (all || j - i <= kRun) {
      for (; i < j; ++i) Print(cs[i], inner, i + 1 == cs.size(), false, all);
      continue;
    }
    for (size_t k = i; k < i + kShow; ++k) Print(cs[k], inner, false, false, all);
    int64_t restarts = 0, stopped = 0;
    for (size_t k = i + kShow; k < j; ++k) {
      restarts += Int(cs[k], "restarts");
      stopped += Str(cs[k], "pid").empty() ? 1 : 0;
    }
    std::string more = "... " + std::to_string(j - i - kShow) + " more " + Str(cs[i], "module") +
                       " " + Str(cs[i], "vsn") + " (" + Str(cs[i + kShow], "id") + " to " +
                       Str(cs[j - 1], "id") + ")";
    if (restarts > 0) more += ", restarted " + std::to_string(restarts) + "x in all";
    if (stopped > 0) more += ", " + std::to_string(stopped) + " not running";
    PrintLine(inner + (j == cs.size() ? "└─ " : "├─ ") + more + "  (--all lists them)");
    i = j;
  }
}

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string root, sup;
    bool json = false, all = false;
  };
  auto args = std::make_shared<Args>();
  AddRootOption(sub, args->root);
  sub.add_option("supervisor", args->sup, "the supervisor to start from (default relup_root)");
  sub.add_flag("--all", args->all, "list every child of a pool instead of summarizing it");
  sub.add_flag("--json", args->json, "print the tree as a JSON object");
  return [args] {
    return WithNode("tree", args->root, [&](ControlClient& client) {
      Term request = args->sup.empty()
                         ? MakeRequest("tree")
                         : MakeRequest("tree", {{Term::atom("target"), Term(args->sup)}});
      Answer a = Ask("tree", client, request);
      if (!a) return a.exit;
      if (args->json) {
        PrintLine(ToJson(a.value));
        return int{kExitOk};
      }
      Print(a.value.at("tree"), "", true, true, args->all);
      if (const Term* n = a.value.find("unsupervised"); n != nullptr && n->is_int()) {
        std::string line = std::to_string(n->as_int()) +
                           (n->as_int() == 1 ? " process" : " processes") + " outside the tree";
        if (n->as_int() > 0) {
          line += " (started by a process, or by relup spawn):";
          std::string sep = " ";
          for (const Term& p : a.value.at("outside").elements()) {
            std::string name = Str(p, "name");
            line += sep + Str(p, "pid") + (name.empty() ? "" : " " + name) + " " + Str(p, "module");
            sep = ", ";
          }
          if (n->as_int() > static_cast<int64_t>(a.value.at("outside").size())) line += ", ...";
        }
        PrintLine(line);
      }
      return int{kExitOk};
    });
  };
}

RELUP_COMMAND("tree", "show the live supervision tree, with each child's restarts", Setup);

}  // namespace
}  // namespace relup::cli
