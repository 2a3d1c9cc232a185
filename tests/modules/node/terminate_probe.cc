// terminate_probe: proves that a node's shutdown runs terminate. Init args
// {file: PATH}; terminate writes the reason's YAML text to PATH. A call
// answers the state.
#include <fstream>

#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::Term;

class TerminateProbe : public relup::Server {
 public:
  Term init(const Term& args) { return args; }
  CallOutcome handle_call(const Term&, const From&, Term& state) { return reply(state); }
  void terminate(const Term& reason, const Term& state) {
    std::ofstream(state.at("file").as_string()) << reason.to_yaml() << "\n";
  }
};

RELUP_MODULE(terminate_probe, "1", TerminateProbe)
