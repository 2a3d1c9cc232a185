// kv_shard, version 2: values carry metadata, !tuple [VALUE, EXPIRES_AT, TYPE]
// (kv_server/common/shard_v2.h), for EXPIRE, TTL and SET's EX/PX.
//
// State {id: N, db: {KEY: ENTRY}, ttl: {KEY: EXPIRES_AT}, sweeping: BOOL}.
// The sweep timer is the runtime's: started by the first request after
// init or an upgrade (code_change runs without a process, so it cannot start
// one), and re-armed by each sweep.
//
// code_change, the newer version's, both ways:
//   up from "1":         each VALUE becomes !tuple [VALUE, 0, TYPE] (a plain
//                        list from an older build of 1 becomes two-sided);
//   down to {down, "1"}: each entry becomes its VALUE again; a key past its
//                        time is dropped, a key with a time to go keeps its
//                        value (version 1 has no expiry: it stays for good).
#include "kv_server/common/shard_v2.h"

using relup::CallOutcome;
using relup::From;
using relup::MessageOutcome;
using relup::Result;
using relup::Term;

class KvShard : public relup::Server {
 public:
  Term init(const Term& args) {
    const Term* id = args.is_map() ? args.find("id") : nullptr;
    return Term::map({{Term::atom("id"), id ? *id : Term(0)},
                      {Term::atom("db"), Term::map({})},
                      {Term::atom("ttl"), Term::map({})},
                      {Term::atom("sweeping"), Term(false)}});
  }

  CallOutcome handle_call(const Term& request, const From&, Term& state) {
    const Term* ops = request.find("ops");
    if (ops == nullptr || !ops->is_list()) return reply(kv::Err("ERR a shard takes {ops: [...]}"));
    if (!state.at("sweeping").as_bool() && ctx().send_after(kv::kSweepMs, Term::atom("sweep")).ok()) {
      state.set("sweeping", Term(true));
    }
    kv::Store2::Space space{*state.find_mut("db"), *state.find_mut("ttl")};
    int64_t now = kv::NowMs();
    std::vector<Term> results;
    results.reserve(ops->size());
    for (const Term& op : ops->elements()) results.push_back(kv::Store2::Run(space, op, now));
    return reply(Term::list(std::move(results)));
  }

  MessageOutcome handle_info(const Term& message, Term& state) {
    if (message.is_atom("sweep")) {
      kv::Store2::Space space{*state.find_mut("db"), *state.find_mut("ttl")};
      kv::Store2::Sweep(space, kv::NowMs());
      bool armed = ctx().send_after(kv::kSweepMs, Term::atom("sweep")).ok();
      state.set("sweeping", Term(armed));
    }
    return cont();
  }

  Result<Term> code_change(const Term& old_vsn, const Term& state, const Term&) {
    if (old_vsn == Term("1")) {
      Term db = Term::map({});
      for (const auto& [key, value] : state.at("db").entries()) {
        // A list of a kv_shard 1 built before lists became two-sided
        // (common/list.h) is a plain list: take it as the BACK side.
        Term v = value.is_list() ? Term::tuple({Term::list({}), value}) : value;
        db.set(key, kv::Store2::Entry(std::move(v), 0));
      }
      return Term::map({{Term::atom("id"), state.at("id")},
                        {Term::atom("db"), std::move(db)},
                        {Term::atom("ttl"), Term::map({})},
                        {Term::atom("sweeping"), Term(false)}});
    }
    if (old_vsn == relup::DownVsn("1")) {
      int64_t now = kv::NowMs();
      Term db = Term::map({});
      for (const auto& [key, entry] : state.at("db").entries()) {
        int64_t at = entry[1].as_int();
        if (at != 0 && at <= now) continue;  // already gone
        db.set(key, entry[0]);
      }
      return Term::map({{Term::atom("id"), state.at("id")}, {Term::atom("db"), std::move(db)}});
    }
    return error("kv_shard 2 changes up from \"1\" or down to it, not " + old_vsn.to_yaml());
  }
};

RELUP_MODULE(kv_shard, "2", KvShard)
