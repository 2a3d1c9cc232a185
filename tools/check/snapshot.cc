#include "check/snapshot.h"

#include <filesystem>

#include "core/term_handles.h"
#include "release/atomic_file.h"

namespace relup::check {
namespace {

std::string Text(const Term* t) {
  if (t == nullptr || t->is_nil()) return "";
  if (t->is_string()) return t->as_string();
  if (t->is_atom()) return std::string(t->as_atom());
  return t->to_yaml();
}

constexpr const char* kTakeIt =
    "take the snapshot with `relup ps --states --yaml > FILE` on a node that runs OLD";

}  // namespace

Result<LiveSnapshot> ReadSnapshot(const std::string& path, const Release& old_release) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("snapshot " + path + ": " + why);
  };
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return bad(std::filesystem::exists(path, ec) ? "is not a regular file" : "does not exist");
  }
  auto text = ReadWholeFile(path, kMaxSnapshotBytes);
  if (!text.ok()) return bad(text.status().message());
  auto parsed = Term::parse(*text, ParseHandles::kAllow);
  if (!parsed.ok()) {
    return bad(parsed.status().message() + " (" + kTakeIt +
               "; --json output cannot be read back: JSON has no atoms or tuples)");
  }
  if (!parsed->is_list()) return bad(std::string("expected a list of processes; ") + kTakeIt);

  LiveSnapshot out;
  bool any_state = false;  // a snapshot taken without --states has none
  size_t row = 0;
  for (const Term& p : parsed->elements()) {
    ++row;
    std::string where = "row " + std::to_string(row);
    if (!p.is_map()) return bad(where + " is not a map; " + kTakeIt);
    if (p.find(Term(std::string("module"))) != nullptr) {
      return bad(std::string("this is `relup ps --json` output, which cannot give the states "
                             "back (JSON has no atoms or tuples); ") +
                 kTakeIt);
    }
    std::string module = Text(p.find("module"));
    std::string vsn = Text(p.find("vsn"));
    std::string name = Text(p.find("name"));
    std::string pid = Text(p.find("pid"));
    if (module.empty() || pid.empty()) {
      return bad(where + " has no module or pid; " + kTakeIt);
    }
    std::string label = name.empty() ? pid : name;
    std::string who = label + " (" + module + ")";
    if (module == "supervisor") {
      out.skipped.push_back(who + ": a supervisor; the scratch node has OLD's tree");
      continue;
    }
    const ReleaseModule* m = old_release.find_module(module);
    if (m == nullptr) {
      return bad(where + " (" + who + ") runs module " + module + ", which OLD release " +
                 old_release.name + " " + old_release.vsn + " does not have; " + kTakeIt);
    }
    if (vsn != m->vsn) {
      return bad(where + " (" + who + ") runs " + module + " " + vsn + ", but OLD release " +
                 old_release.name + " " + old_release.vsn + " has " + module + " " + m->vsn + "; " +
                 kTakeIt);
    }
    const Term* state = p.find("server_state");
    any_state = any_state || state != nullptr;
    if (state == nullptr) {
      std::string why = Text(p.find("state_error"));
      out.skipped.push_back(who + ": no server state in the snapshot" +
                            (why.empty() ? std::string() : " (" + why + ")"));
      continue;
    }
    if (auto handle = FirstHandle(*state)) {
      out.skipped.push_back(who + ": its state holds " + handle->ToString() +
                            ", which means something only on the live node");
      continue;
    }
    out.processes.push_back({module, label, *state});
  }
  if (out.processes.empty()) {
    return bad(any_state ? "no process in it can be checked (" +
                               std::to_string(out.skipped.size()) + " left out: " +
                               (out.skipped.empty() ? std::string("none") : out.skipped.front()) +
                               (out.skipped.size() > 1 ? ", ..." : "") +
                               "); a snapshot that checks nothing would pass every upgrade"
                         : std::string("it holds no states: take it with `relup ps --states "
                                       "--yaml`, not without --states"));
  }
  return out;
}

}  // namespace relup::check
