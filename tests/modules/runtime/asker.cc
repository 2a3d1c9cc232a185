// rt_asker: the client side of request/reply tests. It never blocks: it sends
// requests with ctx().send_request and collects the replies in handle_info.
//
//   cast {ask: TARGET, request: R}   TARGET a registered name (string) or a pid
//                                    number; sends R, records the request id
//   info {reply: ID, value: V}       appended to replies as {id: ID, value: V}
//   info {reply: ID, error: E}       appended to replies as {id: ID, error: E}
//   call :get                        -> {ids: [...], replies: [...]}
//   call :ping                       -> :pong
#include <vector>

#include "relup/server.h"

using relup::CallOutcome;
using relup::From;
using relup::Pid;
using relup::RequestId;
using relup::Result;
using relup::Term;

namespace {

Term Append(const Term& list, Term item) {
  std::vector<Term> items = list.elements();
  items.push_back(std::move(item));
  return Term::list(std::move(items));
}

}  // namespace

class Asker : public relup::Server {
 public:
  Term init(const Term&) {
    return Term::map(
        {{Term::atom("ids"), Term::list({})}, {Term::atom("replies"), Term::list({})}});
  }

  CallOutcome handle_call(const Term& request, const From&, Term& state) {
    if (request.is_atom("ping")) return reply(Term::atom("pong"));
    return reply(state);
  }

  void handle_cast(const Term& message, Term& state) {
    const Term& target = message.at("ask");
    Result<RequestId> id =
        target.is_int()
            ? ctx().send_request(Pid{static_cast<uint64_t>(target.as_int())}, message.at("request"))
            : ctx().send_request(target.as_string(), message.at("request"));
    if (!id.ok()) throw std::runtime_error(id.status().ToString());
    state = state.put("ids", Append(state.at("ids"), Term(static_cast<long long>(*id))));
  }

  void handle_info(const Term& message, Term& state) {
    Term entry = message.contains("value")
                     ? Term::map({{Term::atom("id"), message.at("reply")},
                                  {Term::atom("value"), message.at("value")}})
                     : Term::map({{Term::atom("id"), message.at("reply")},
                                  {Term::atom("error"), message.at("error")}});
    state = state.put("replies", Append(state.at("replies"), std::move(entry)));
  }
};

RELUP_MODULE(rt_asker, "1", Asker)
