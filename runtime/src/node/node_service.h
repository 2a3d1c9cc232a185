// NodeService: what a node answers on its control socket. It turns each
// request (control_protocol.h) into calls on the Node, the ReleaseHandler and
// the ReleaseStore, and their results into reply frames.
//
// Requests ({cmd: NAME, ...}; TARGET is a registered name or "<0.N.0>"):
//   ping                                 {pid, root, release, vsn}
//   status                               release, permanent vsn, process
//                                        counts per module and vsn, suspended,
//                                        signatures {required, trusted: [{id, source}],
//                                        error when the keys cannot be read now}
//   ps                                   [{pid, name, module, vsn, state, queue}]
//   state        target                  the process's state
//   call         target request [timeout_ms]   the handle_call reply
//   cast         target message
//   spawn        module args [name]      {pid, name}
//   adopt        module state [name]     {pid, name}: a process with that
//                                        state, init not run (relup check --snapshot)
//   suspend      targets: [TARGET...] [timeout_ms]   / resume targets: [...]
//                (a single `target` is accepted for one process)
//   load         path                    {module, vsn, build_id, sha256}
//   change_code  target module old_vsn [extra] [to_vsn]
//   releases                             [{name, vsn, state, unpacked_at}]
//   make_permanent [vsn]                 / remove vsn -> {vsn, freed: [lib/NAME-VSN...]}
//   apply        tarball [permanent dry_run atomic]   progress frames
//                {done, total}, then the UpgradeReport as a Term; a failed
//                upgrade is an error reply with `outcome` and `report` keys
//   downgrade    vsn [dry_run atomic]    like apply
//   stop                                 replies, then the node stops
// Unknown commands and bad fields get an error reply naming them. Every
// request that changes something (all but ping, status, ps, state,
// releases) is written to the node log with its outcome.
//
// Thread-safe: handle() runs concurrently on connection threads.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "node/control_server.h"
#include "relup/node.h"
#include "relup/term.h"

namespace relup {

class ReleaseHandler;
class ReleaseStore;
struct UpgradeReport;

class NodeService {
 public:
  // request_stop: asks the host to stop the node once the reply is sent
  // (called from the connection thread; must not block).
  NodeService(Node& node, ReleaseStore& store, ReleaseHandler& handler,
              std::function<void()> request_stop, LogSink log = {});

  Term handle(const Term& request, const ControlServer::ProgressFn& progress);

 private:
  Term handle_request(const Term& request, const ControlServer::ProgressFn& progress);
  Result<Term> dispatch(std::string_view cmd, const Term& request,
                        const ControlServer::ProgressFn& progress);
  Result<Term> status();
  Result<Term> ps(const Term& request);
  Result<Term> tree(const Term& request);
  // The reply to apply/downgrade. The per-process list goes in only when the
  // request asked for it ({processes: true}); counts and pause stats always do.
  Term upgrade_reply(const UpgradeReport& report, bool with_processes);

  Node& node_;
  ReleaseStore& store_;
  ReleaseHandler& handler_;
  std::function<void()> request_stop_;
  LogSink log_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace relup
