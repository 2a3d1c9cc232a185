// relup ps: every process of the node, one per line.
#include <algorithm>
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

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string root;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  AddRootOption(sub, args->root);
  sub.add_flag("--json", args->json, "print a JSON array");
  return [args] {
    return WithNode("ps", args->root, [&](ControlClient& client) {
      Answer a = Ask("ps", client, MakeRequest("ps"));
      if (!a) return a.exit;
      if (args->json) {
        PrintLine(ToJson(a.value));
        return int{kExitOk};
      }
      static const char* kColumns[] = {"pid", "name", "module", "vsn", "state", "queue"};
      std::vector<std::vector<std::string>> rows = {
          {"PID", "NAME", "MODULE", "VSN", "STATE", "QUEUE"}};
      if (a.value.is_list()) {
        for (const Term& p : a.value.elements()) {
          std::vector<std::string> row;
          for (const char* c : kColumns) row.push_back(Field(p, c));
          rows.push_back(std::move(row));
        }
      }
      std::vector<size_t> width(6, 0);
      for (const auto& row : rows) {
        for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
      }
      for (const auto& row : rows) {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i) {
          line += row[i];
          if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
        }
        PrintLine(line);
      }
      return int{kExitOk};
    });
  };
}

RELUP_COMMAND("ps", "list the node's processes (pid, name, module, vsn, state, queue)", Setup);

}  // namespace
}  // namespace relup::cli
