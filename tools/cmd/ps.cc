// relup ps: every process of the node, one per line.
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

CommandRunner Setup(CLI::App& sub) {
  return QueryCommand(sub, "ps", "print a JSON array", PrintProcesses);
}

RELUP_COMMAND("ps", "list the node's processes (pid, name, module, vsn, state, queue)", Setup);

}  // namespace
}  // namespace relup::cli
