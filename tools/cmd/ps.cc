// relup ps [--states] [--json | --yaml]: every process of the node, one per
// line; with --states, each one's server state too (one request for them
// all). --yaml is lossless (JSON has no atoms or tuples): `relup ps --states
// --yaml > live.yaml` is the snapshot `relup check --snapshot` reads.
#include <vector>

#include "cmd/node_client_util.h"
#include "command.h"

namespace relup::cli {
namespace {

std::string Field(const Term& row, const char* key) {
  const Term* v = row.find(key);
  if (!v) return "";
  if (v->is_string()) return v->as_string().empty() ? "-" : v->as_string();
  return v->to_yaml();
}

void PrintProcesses(const Term& list) {
  static const char* kColumns[] = {"pid", "name", "module", "vsn", "state", "queue"};
  std::vector<std::vector<std::string>> rows = {{"PID", "NAME", "MODULE", "VSN", "STATE", "QUEUE"}};
  if (list.is_list()) {
    for (const Term& p : list.elements()) {
      std::vector<std::string> row;
      for (const char* c : kColumns) row.push_back(Field(p, c));
      rows.push_back(std::move(row));
    }
  }
  PrintTable(rows);
}

// --states: one line per process, its server state as YAML text after it.
void PrintStates(const Term& list) {
  if (!list.is_list()) return;
  for (const Term& p : list.elements()) {
    std::string name = Field(p, "name");
    std::string head = Field(p, "pid") + (name == "-" ? "" : " " + name) + " (" +
                       Field(p, "module") + " " + Field(p, "vsn") + "): ";
    const Term* state = p.find("server_state");
    PrintLine(head + (state != nullptr ? state->to_yaml() : "? " + Field(p, "state_error")));
  }
}

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string root;
    bool json = false, states = false, yaml = false;
    int64_t timeout_ms = 5000;
  };
  auto args = std::make_shared<Args>();
  AddRootOption(sub, args->root);
  CLI::Option* json = sub.add_flag("--json", args->json, "print a JSON array");
  sub.add_flag("--yaml", args->yaml,
               "print the list as one relup Term (YAML flow), lossless: atoms, tuples and "
               "handles kept. With --states it is the snapshot `relup check --snapshot` reads")
      ->excludes(json);
  sub.add_flag("--states", args->states,
               "also each process's server state (as relup state shows it), in one request");
  sub.add_option("--timeout", args->timeout_ms,
                 "with --states: milliseconds to wait for each busy process (default 5000)");
  return [args] {
    Term request = args->states
                       ? MakeRequest("ps", {{Term::atom("states"), Term(true)},
                                            {Term::atom("timeout_ms"), Term(args->timeout_ms)}})
                       : MakeRequest("ps");
    return WithNode("ps", args->root, [&](ControlClient& client) {
      Answer a = Ask("ps", client, request);
      if (!a) return a.exit;
      if (args->yaml) {
        PrintLine(a.value.to_yaml());
      } else if (args->json) {
        PrintLine(ToJson(a.value));
      } else if (args->states) {
        PrintStates(a.value);
      } else {
        PrintProcesses(a.value);
      }
      return int{kExitOk};
    });
  };
}

RELUP_COMMAND("ps",
              "list the node's processes (pid, name, module, vsn, state, queue; --states: "
              "their server states)",
              Setup);

}  // namespace
}  // namespace relup::cli
