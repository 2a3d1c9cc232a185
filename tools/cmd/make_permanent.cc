// relup make-permanent [VSN]: the release a restart boots (OTP
// make_permanent). Without VSN: the running release.
#include "cmd/node_client_util.h"
#include "command.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string root, vsn;
  };
  auto args = std::make_shared<Args>();
  AddRootOption(sub, args->root);
  sub.add_option("vsn", args->vsn, "release version (default: the running release)");
  return [args] {
    return WithNode("make-permanent", args->root, [&](ControlClient& client) {
      Answer a = Ask("make-permanent", client,
                     MakeRequest("make_permanent", {{Term::atom("vsn"), Term(args->vsn)}}));
      if (!a) return a.exit;
      const Term* name = a.value.find("name");
      const Term* vsn = a.value.find("vsn");
      PrintLine("release " + (name ? name->as_string() + " " : std::string()) +
                (vsn ? vsn->as_string() : args->vsn) + " is permanent");
      return int{kExitOk};
    });
  };
}

RELUP_COMMAND("make-permanent", "make the running release the one a restart boots", Setup);

}  // namespace
}  // namespace relup::cli
