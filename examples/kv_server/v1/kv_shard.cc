// kv_shard, version 1: one slice of the keyspace (kv_server/common/shard.h).
// State {id: N, db: {KEY: VALUE}}, VALUE a binary or a list (common/list.h).
#include "kv_server/common/shard.h"

class KvShard : public relup::Server {
 public:
  relup::Term init(const relup::Term& args) {
    const relup::Term* id = args.is_map() ? args.find("id") : nullptr;
    return relup::Term::map(
        {{relup::Term::atom("id"), id ? *id : relup::Term(0)},
         {relup::Term::atom("db"), relup::Term::map({})}});
  }

  relup::CallOutcome handle_call(const relup::Term& request, const relup::From&,
                                 relup::Term& state) {
    const relup::Term* ops = request.find("ops");
    if (ops == nullptr || !ops->is_list()) {
      return reply(kv::Err("ERR a shard takes {ops: [...]}"));
    }
    relup::Term* db = state.find_mut("db");
    std::vector<relup::Term> results;
    results.reserve(ops->size());
    for (const relup::Term& op : ops->elements()) results.push_back(kv::Store1::Run(*db, op));
    return reply(relup::Term::list(std::move(results)));
  }
};

RELUP_MODULE(kv_shard, "1", KvShard)
