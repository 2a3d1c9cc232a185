// relup remove VSN: forgets a release and deletes its files, and the module
// libraries no other release uses (OTP remove_release). The running and the
// permanent release are refused.
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
  sub.add_option("vsn", args->vsn, "release version")->required();
  return [args] {
    return WithNode("remove", args->root, [&](ControlClient& client) {
      Answer a =
          Ask("remove", client, MakeRequest("remove", {{Term::atom("vsn"), Term(args->vsn)}}));
      if (!a) return a.exit;
      std::string freed;
      if (const Term* dirs = a.value.find("freed"); dirs != nullptr && dirs->is_list()) {
        for (const Term& d : dirs->elements()) {
          freed += (freed.empty() ? "" : ", ") + (d.is_string() ? d.as_string() : d.to_yaml());
        }
      }
      PrintLine(
          "release " + args->vsn + " removed" +
          (freed.empty() ? std::string() : "; deleted " + freed + " (used by no other release)"));
      return int{kExitOk};
    });
  };
}

RELUP_COMMAND("remove", "remove a release that is neither running nor permanent", Setup);

}  // namespace
}  // namespace relup::cli
