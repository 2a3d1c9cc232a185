// kv_shard 2 whose upgrade fails on one shard, in the node only: the shard
// that holds the key "kv:fail" refuses code_change from "1" unless it runs in
// relup-trial, so the precheck passes and the rollout fails part-way, with
// other shards and connections already changed (the kv rollback test).
// It is examples/kv_server/v2/kv_shard.cc itself, with that one refusal in
// front of its code_change.
#include <cerrno>
#include <string_view>

#include "relup/server.h"

#pragma push_macro("RELUP_MODULE")
#undef RELUP_MODULE
#define RELUP_MODULE(name, vsn, cls)
#include "kv_server/v2/kv_shard.cc"
#pragma pop_macro("RELUP_MODULE")

class FailingShard : public KvShard {
 public:
  Result<Term> code_change(const Term& old_vsn, const Term& state, const Term& extra) {
    bool in_trial = std::string_view(program_invocation_short_name) == "relup-trial";
    if (old_vsn == Term("1") && !in_trial && state.at("db").find(Term::binary("kv:fail"))) {
      return error("this shard holds kv:fail and refuses the upgrade (a test)");
    }
    return KvShard::code_change(old_vsn, state, extra);
  }
};

RELUP_MODULE(kv_shard, "2", FailingShard)
