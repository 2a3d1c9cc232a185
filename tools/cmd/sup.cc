// relup sup ACTION SUP [ARG]: OTP's supervisor API from the command line.
//   which-children SUP         its children: id, pid, module, type, restarts
//   count-children SUP         {specs, active, workers, supervisors}
//   start-child SUP SPEC       a new child ({id, module, args, ...}); for a
//                              simple_one_for_one supervisor, the args merged
//                              over its template's
//   terminate-child SUP ID     stops it (its spec stays; a simple_one_for_one
//                              child, named by its pid, is forgotten)
//   restart-child SUP ID       starts a stopped child again
//   delete-child SUP ID        forgets a stopped child's spec
// ID is the child's id as `which-children` shows it (a bare word, or :atom),
// or its pid. A refusal ({error: TEXT} from the supervisor) exits 1 with it.
#include <map>
#include <string>
#include <vector>

#include "cmd/node_client_util.h"
#include "command.h"
#include "supervision/supervisor_args.h"

namespace relup::cli {
namespace {

struct Action {
  const char* verb;      // the CLI word
  const char* request;   // the supervisor's request
  const char* arg_help;  // empty: no argument
  const char* help;
};

constexpr Action kActions[] = {
    {"which-children", "which_children", "", "list the supervisor's children"},
    {"count-children", "count_children", "", "count its children by kind"},
    {"start-child", "start_child", "child spec, e.g. '{id: w3, module: worker, args: {n: 3}}'",
     "start a new child"},
    {"terminate-child", "terminate_child", "the child's id or pid", "stop a child (spec kept)"},
    {"restart-child", "restart_child", "the child's id", "start a stopped child again"},
    {"delete-child", "delete_child", "the child's id", "forget a stopped child's spec"},
};

std::string Text(const Term& t) {
  return t.is_nil() ? "-" : supervision::Text(t);
}

void PrintChildren(const Term& list) {
  std::vector<std::vector<std::string>> rows = {{"ID", "PID", "MODULE", "TYPE", "RESTARTS"}};
  for (const Term& c : list.elements()) {
    std::string pid = c.at("pid").is_pid() ? c.at("pid").as_pid().to_string() : "-";
    rows.push_back(
        {Text(c.at("id")), pid, Text(c.at("module")), Text(c.at("type")), Text(c.at("restarts"))});
  }
  PrintTable(rows);
}

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string root, sup, arg;
    bool json = false;
    std::map<std::string, CLI::App*> subs;
  };
  auto args = std::make_shared<Args>();
  AddRootOption(sub, args->root);
  sub.require_subcommand(1);
  for (const Action& a : kActions) {
    CLI::App* s = sub.add_subcommand(a.verb, a.help);
    s->add_option("supervisor", args->sup, "the supervisor's registered name or pid")->required();
    if (*a.arg_help) s->add_option("arg", args->arg, a.arg_help)->required();
    s->add_flag("--json", args->json, "print the reply as JSON");
    AddRootOption(*s, args->root);
    args->subs[a.verb] = s;
  }
  return [args] {
    const Action* action = nullptr;
    for (const Action& a : kActions) {
      if (args->subs[a.verb]->parsed()) action = &a;
    }
    if (action == nullptr) return UsageError("sup", Status::InvalidArgument("no action given"));
    std::string cmd = std::string("sup ") + action->verb;
    Term request = Term::atom(action->request);
    if (*action->arg_help) {
      auto arg = ParseTermArgument(args->arg, action->arg_help);
      if (!arg.ok()) return UsageError(cmd, arg.status());
      request = Term::map({{Term::atom(action->request), *arg}});
    }
    return WithNode(cmd, args->root, [&](ControlClient& client) {
      Answer a = Ask(cmd, client,
                     MakeRequest("sup", {{Term::atom("target"), Term(args->sup)},
                                         {Term::atom("request"), request}}));
      if (!a) return a.exit;
      const Term* ok = a.value.is_map() ? a.value.find("ok") : nullptr;
      const Term* error = a.value.is_map() ? a.value.find("error") : nullptr;
      if (error != nullptr) {
        return ReportError(cmd, Status::FailedPrecondition(args->sup + ": " + Text(*error)));
      }
      if (ok == nullptr) {
        return ReportError(cmd, Status::Internal(args->sup + " replied " + a.value.to_yaml()));
      }
      if (args->json) {
        PrintLine(ToJson(*ok));
      } else if (std::string(action->request) == "which_children") {
        PrintChildren(*ok);
      } else if (ok->is_pid()) {
        PrintLine(std::string(action->verb) + ": " + args->sup + " started " +
                  ok->as_pid().to_string());
      } else {
        PrintLine(ok->is_atom("ok") ? std::string(action->verb) + ": done" : ok->to_yaml());
      }
      return int{kExitOk};
    });
  };
}

RELUP_COMMAND("sup", "the supervisor API: which-children, start-child, terminate-child, ...",
              Setup);

}  // namespace
}  // namespace relup::cli
