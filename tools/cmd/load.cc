// relup load LIBRARY: loads a module library into the node's code server
// (as the seed's `c "demo_server_v2.ex"`). Processes keep running their
// version until change-code moves them.
#include <filesystem>

#include "cmd/node_client_util.h"
#include "command.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string root, library;
  };
  auto args = std::make_shared<Args>();
  AddRootOption(sub, args->root);
  sub.add_option("library", args->library,
                 "module library (.so) on the node's machine, e.g. build/modules/demo_server-2.so")
      ->required();
  return [args] {
    // The node runs with / as its working directory: send an absolute path.
    std::error_code ec;
    std::string path = std::filesystem::absolute(args->library, ec).lexically_normal().string();
    return WithNode("load", args->root, [&](ControlClient& client) {
      Answer a = Ask("load", client, MakeRequest("load", {{Term::atom("path"), Term(path)}}));
      if (!a) return a.exit;
      auto field = [&](const char* key) {
        const Term* v = a.value.find(key);
        return v && v->is_string() ? v->as_string() : std::string("?");
      };
      PrintLine("loaded " + field("module") + " " + field("vsn") + " (build " + field("build_id") +
                ")");
      return int{kExitOk};
    });
  };
}

RELUP_COMMAND("load", "load a module library into the node's code server", Setup);

}  // namespace
}  // namespace relup::cli
