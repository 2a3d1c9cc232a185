// relup change-code NAME|PID MODULE OLD_VSN [EXTRA]: moves a SUSPENDED
// process to the module's current version through its code_change (as the
// seed's :sys.change_code). On error the process keeps its code and state.
#include "cmd/node_client_util.h"
#include "command.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string root, target, module, old_vsn, extra = "~", to_vsn;
  };
  auto args = std::make_shared<Args>();
  AddRootOption(sub, args->root);
  sub.add_option("target", args->target, "registered name or pid (<0.42.0>)")->required();
  sub.add_option("module", args->module, "module name, e.g. demo_server")->required();
  sub.add_option("old_vsn", args->old_vsn,
                 "the version the process runs now, passed to code_change, e.g. 1")
      ->required();
  sub.add_option("extra", args->extra, "code_change's extra term (default ~)");
  sub.add_option("--to", args->to_vsn, "target version (default: the newest loaded)");
  return [args] {
    auto extra = ParseTermArgument(args->extra, "extra");
    if (!extra.ok()) return UsageError("change-code", extra.status());
    return WithNode("change-code", args->root, [&](ControlClient& client) {
      Answer a = Ask("change-code", client,
                     MakeRequest("change_code", {{Term::atom("target"), Term(args->target)},
                                                 {Term::atom("module"), Term(args->module)},
                                                 {Term::atom("old_vsn"), Term(args->old_vsn)},
                                                 {Term::atom("extra"), *extra},
                                                 {Term::atom("to_vsn"), Term(args->to_vsn)}}));
      if (!a) return a.exit;
      const Term* vsn = a.value.find("vsn");
      PrintLine(args->target + ": " + args->module + " " + args->old_vsn + " -> " +
                (vsn && vsn->is_string() ? vsn->as_string() : std::string("?")));
      return int{kExitOk};
    });
  };
}

RELUP_COMMAND("change-code", "change a suspended process's code through code_change", Setup);

}  // namespace
}  // namespace relup::cli
