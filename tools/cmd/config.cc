// relup config [MODULE[.KEY]]: the release configuration the node runs
// (the release spec's config:, as the last upgrade or downgrade left it),
// as YAML text or --json; a module's map or one key's value.
#include <string>

#include "cmd/node_client_util.h"
#include "command.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string root, key;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  AddRootOption(sub, args->root);
  sub.add_option("key", args->key, "MODULE or MODULE.KEY (default: the whole configuration)");
  sub.add_flag("--json", args->json, "print it as JSON");
  return [args] {
    return WithNode("config", args->root, [&](ControlClient& client) {
      Answer a = Ask("config", client, MakeRequest("config"));
      if (!a) return a.exit;
      Term value = a.value;
      if (!args->key.empty()) {
        std::string path;
        size_t start = 0;
        for (;;) {
          size_t dot = args->key.find('.', start);
          std::string part = args->key.substr(start, dot == std::string::npos ? dot : dot - start);
          path += (path.empty() ? "" : ".") + part;
          const Term* next = value.is_map() ? value.find(std::string_view(part)) : nullptr;
          if (next == nullptr) {
            return ReportError(
                "config", Status::NotFound(path + " is not in the running configuration (relup "
                                                  "config shows all of it)"));
          }
          value = *next;
          if (dot == std::string::npos) break;
          start = dot + 1;
        }
      }
      PrintLine(args->json ? ToJson(value) : value.to_yaml());
      return int{kExitOk};
    });
  };
}

RELUP_COMMAND("config", "show the release configuration the node runs (or one module or key)",
              Setup);

}  // namespace
}  // namespace relup::cli
