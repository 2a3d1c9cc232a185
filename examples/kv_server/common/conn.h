// One client connection of the kv_server: RESP in, RESP out, with the keys
// kept by the kv_shard processes. Shared by kv_conn's versions (each
// compiles its own copy, with its own command table).
//
// State:
//   {socket: S, shards: N,
//    pending: BINARY           bytes read and not yet parsed (a half-read
//                              pipelined command waits here, so it lives
//                              through a code change as it is),
//    plan: [STEP...]           the commands of the batch in flight, in order,
//    waiting: {REQ: SHARD}     the shard requests not answered yet,
//    results: {SHARD: [R...]}  the answers that came, closing: BOOL}
//
// A batch is what one read brought, up to kMaxBatch commands: every keyed
// command becomes ops on the shard its key hashes to, one request per shard
// for the whole batch (send_request: nothing blocks), and the replies are
// written in command order once every shard has answered. Only then is the
// socket read again, so a client that pipelines without reading is held to
// one batch and one read of buffered input at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kv_server/common/resp.h"
#include "relup/server.h"

namespace kv {

using relup::MessageOutcome;
using relup::Result;
using relup::Status;
using relup::Term;

inline constexpr size_t kMaxBatch = 1024;

// How a command is run.
enum class Kind {
  kKey,      // one key (args[1]) on its shard; the shard's result is the reply
  kKeys,     // one op per key (MGET, DEL, EXISTS)
  kPairs,    // one SET per key/value pair (MSET)
  kAll,      // one op on every shard (DBSIZE, FLUSHALL)
  kLocal,    // answered by the connection (PING, ECHO, SELECT, CONFIG, INFO, ...)
};
// How the results of a command's ops make its reply.
enum class Join { kOne, kArray, kSum, kOk };

struct CommandSpec {
  std::string_view name;  // upper case
  int arity;              // Redis's: N exactly, -N at least N (the name counts)
  Kind kind;
  Join join = Join::kOne;
};

// FNV-1a: the shard of a key, the same in every version.
inline size_t ShardOf(std::string_view key, size_t shards) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  return static_cast<size_t>(h % shards);
}

inline std::string ShardName(size_t i) { return "kv_shard_" + std::to_string(i + 1); }

using resp::Lower;
using resp::Upper;

// The atoms of the state and the messages, interned once: a key given as
// text is looked up in the atom table on every use.
struct Keys {
  Term socket = Term::atom("socket"), shards = Term::atom("shards"),
       pending = Term::atom("pending"), plan = Term::atom("plan"),
       waiting = Term::atom("waiting"), results = Term::atom("results"),
       closing = Term::atom("closing"), ops = Term::atom("ops"), serve = Term::atom("serve"),
       data = Term::atom("data"), reply = Term::atom("reply"), value = Term::atom("value"),
       error = Term::atom("error"), ready = Term::atom("ready");
};
inline const Keys& K() {
  static const Keys keys;
  return keys;
}

// A shard's result as RESP.
inline void Encode(std::string& out, const Term& r) {
  switch (r.type()) {
    case Term::Type::kNil:
      resp::Null(out);
      return;
    case Term::Type::kBinary:
      resp::Bulk(out, r.as_binary());
      return;
    case Term::Type::kString:
      resp::Bulk(out, r.as_string());
      return;
    case Term::Type::kInt:
      resp::Integer(out, r.as_int());
      return;
    case Term::Type::kAtom:
      resp::Simple(out, r.as_atom());
      return;
    case Term::Type::kList:
      resp::ArrayHeader(out, r.size());
      for (const Term& e : r.elements()) Encode(out, e);
      return;
    case Term::Type::kTuple:
      if (r.size() == 2 && r[0].is_atom("error")) {
        resp::Error(out, r[1].as_string());
        return;
      }
      [[fallthrough]];
    default:
      resp::Error(out, "ERR internal: cannot encode " + r.to_yaml());
  }
}

template <const CommandSpec* Table, size_t N>
class Conn {
 public:
  static Term Init(const Term& args) {
    const Term* shards = args.is_map() ? args.find("shards") : nullptr;
    return Term::map({{Term::atom("socket"), Term()},
                      {Term::atom("shards"), shards ? *shards : Term(8)},
                      {Term::atom("pending"), Term::binary("")},
                      {Term::atom("plan"), Term::list({})},
                      {Term::atom("waiting"), Term::map({})},
                      {Term::atom("results"), Term::map({})},
                      {Term::atom("closing"), Term(false)}});
  }

  template <class Self>
  static Result<MessageOutcome> Info(Self& self, const Term& msg, Term& state) {
    if (const Term* sock = msg.find(K().serve)) {
      state.set(K().socket, *sock);
      if (Status s = self.ctx().tcp_activate(*sock); !s.ok()) return s;
      return self.cont();
    }
    if (const Term* data = msg.find(K().data)) {
      Term* pending = state.find_mut(K().pending);
      *pending = Term::binary(pending->as_binary() + data->as_binary());
      return Run(self, state);
    }
    if (const Term* id = msg.find(K().reply)) return Answered(self, *id, msg, state);
    if (msg.contains("tcp_closed") || msg.contains("tcp_error")) {
      return self.stop(Term::atom("normal"));
    }
    return self.cont();
  }

 private:
  static const CommandSpec* Find(const std::string& upper) {
    for (size_t i = 0; i < N; ++i) {
      if (Table[i].name == upper) return &Table[i];
    }
    return nullptr;
  }

  // Parses and starts the next batch, or writes its replies at once if no
  // shard is involved, then reads on.
  template <class Self>
  static Result<MessageOutcome> Run(Self& self, Term& state) {
    for (;;) {
      std::vector<std::vector<Term>> ops(static_cast<size_t>(state.at(K().shards).as_int()));
      std::vector<Term> plan;
      bool close = false;
      size_t used = 0;
      {
        const std::string& buf = state.at(K().pending).as_binary();
        std::string_view rest(buf);
        while (plan.size() < kMaxBatch && !close) {
          resp::Command c = resp::ParseCommand(rest);
          if (c.status == resp::Parse::kIncomplete) break;
          if (c.status == resp::Parse::kError) {
            plan.push_back(Ready([&](std::string& o) { resp::Error(o, c.error); }));
            close = true;
            break;
          }
          rest.remove_prefix(c.consumed);
          used += c.consumed;
          if (c.args.empty()) continue;
          plan.push_back(Plan(c.args, ops, &close));
        }
      }
      if (used > 0) {
        const std::string& buf = state.at(K().pending).as_binary();
        state.set(K().pending, Term::binary(buf.substr(used)));
      }
      if (close) state.set(K().closing, Term(true));
      if (plan.empty()) {
        if (close) return Finish(self, state);
        if (Status s = self.ctx().tcp_activate(state.at(K().socket)); !s.ok()) return s;
        return self.cont();
      }
      Term waiting = Term::map({});
      for (size_t shard = 0; shard < ops.size(); ++shard) {
        if (ops[shard].empty()) continue;
        auto id = self.ctx().send_request(
            ShardName(shard), Term::map({{K().ops, Term::list(std::move(ops[shard]))}}));
        if (!id.ok()) return id.status();
        waiting.set(Term(*id), Term(static_cast<long long>(shard)));
      }
      state.set(K().plan, Term::list(std::move(plan)));
      if (waiting.size() > 0) {
        state.set(K().waiting, std::move(waiting));
        state.set(K().results, Term::map({}));
        return self.cont();
      }
      // Nothing went to a shard: answer now and go on with what is buffered.
      if (Status written = Write(self, state); !written.ok()) return written;
      if (state.at(K().closing).as_bool()) return Finish(self, state);
    }
  }

  template <class F>
  static Term Ready(F&& encode) {
    std::string o;
    encode(o);
    return Term::tuple({K().ready, Term::binary(std::move(o))});
  }

  // A step of the plan: !tuple [:ready, RESP] or !tuple [JOIN, [[SHARD, INDEX]...]].
  static Term Plan(std::vector<std::string>& args, std::vector<std::vector<Term>>& ops,
                   bool* close) {
    std::string name = Upper(args[0]);
    const CommandSpec* spec = Find(name);
    if (spec == nullptr) {
      std::string msg = "ERR unknown command '" + args[0] + "', with args beginning with: ";
      for (size_t i = 1; i < args.size() && i < 4; ++i) msg += "'" + args[i] + "' ";
      return Ready([&](std::string& o) { resp::Error(o, msg); });
    }
    auto n = static_cast<int>(args.size());
    if ((spec->arity > 0 && n != spec->arity) || (spec->arity < 0 && n < -spec->arity) ||
        (spec->kind == Kind::kPairs && n % 2 == 0)) {
      return Ready([&](std::string& o) {
        resp::Error(o, "ERR wrong number of arguments for '" + Lower(name) + "' command");
      });
    }
    if (spec->kind == Kind::kLocal) return Ready([&](std::string& o) { Local(name, args, o, close); });
    std::vector<Term> refs;
    auto add = [&](size_t shard, std::vector<Term> op) {
      refs.push_back(Term::list({Term(static_cast<long long>(shard)),
                                 Term(static_cast<long long>(ops[shard].size()))}));
      ops[shard].push_back(Term::list(std::move(op)));
    };
    auto bin = [](std::string s) { return Term::binary(std::move(s)); };
    size_t shards = ops.size();
    switch (spec->kind) {
      case Kind::kKey: {
        std::vector<Term> op{bin(name)};
        for (size_t i = 1; i < args.size(); ++i) op.push_back(bin(std::move(args[i])));
        size_t shard = ShardOf(op[1].as_binary(), shards);  // before op is moved
        add(shard, std::move(op));
        break;
      }
      case Kind::kKeys: {
        std::string single = name == "MGET" ? "GET" : name;
        for (size_t i = 1; i < args.size(); ++i) {
          size_t shard = ShardOf(args[i], shards);
          add(shard, {bin(single), bin(std::move(args[i]))});
        }
        break;
      }
      case Kind::kPairs:
        for (size_t i = 1; i + 1 < args.size(); i += 2) {
          size_t shard = ShardOf(args[i], shards);
          add(shard, {bin("SET"), bin(std::move(args[i])), bin(std::move(args[i + 1]))});
        }
        break;
      case Kind::kAll:
        for (size_t shard = 0; shard < shards; ++shard) add(shard, {bin(name)});
        break;
      case Kind::kLocal:
        break;
    }
    return Term::tuple({Term(static_cast<long long>(spec->join)), Term::list(std::move(refs))});
  }

  static void Local(const std::string& name, const std::vector<std::string>& args,
                    std::string& o, bool* close) {
    if (name == "PING") {
      if (args.size() > 1) {
        resp::Bulk(o, args[1]);
      } else {
        resp::Simple(o, "PONG");
      }
    } else if (name == "ECHO") {
      resp::Bulk(o, args[1]);
    } else if (name == "SELECT") {
      if (args[1] == "0") {
        resp::Simple(o, "OK");
      } else {
        resp::Error(o, "ERR DB index is out of range");
      }
    } else if (name == "QUIT") {
      resp::Simple(o, "OK");
      *close = true;
    } else if (name == "CONFIG") {
      // Enough for redis-benchmark's start-up (CONFIG GET save / appendonly).
      if (Lower(args[1]) != "get" || args.size() != 3) {
        resp::Error(o, "ERR only CONFIG GET PARAMETER is supported");
        return;
      }
      std::string p = Lower(args[2]);
      if (p == "save" || p == "appendonly") {
        resp::ArrayHeader(o, 2);
        resp::Bulk(o, p);
        resp::Bulk(o, p == "save" ? "" : "no");
      } else {
        resp::ArrayHeader(o, 0);
      }
    } else if (name == "INFO") {
      resp::Bulk(o,
                 "# Server\r\nredis_version:7.0.0\r\nrelup_kv_server:1\r\nredis_mode:standalone\r\n"
                 "# Keyspace\r\n");
    } else if (name == "COMMAND") {
      resp::ArrayHeader(o, 0);
    }
  }

  template <class Self>
  static Result<MessageOutcome> Answered(Self& self, const Term& id, const Term& msg,
                                         Term& state) {
    Term* waiting = state.find_mut(K().waiting);
    const Term* shard = waiting->find(id);
    if (shard == nullptr) return self.cont();  // not ours (a batch of a closed socket)
    const Term* answer = msg.find(K().value);
    Term value = answer != nullptr ? *answer : Term();
    if (msg.find(K().error) != nullptr) value = Term();  // the shard failed: every op of it errors
    state.find_mut(K().results)->set(*shard, std::move(value));
    waiting->remove(id);
    if (waiting->size() > 0) return self.cont();
    if (Status written = Write(self, state); !written.ok()) return written;
    if (state.at(K().closing).as_bool()) return Finish(self, state);
    return Run(self, state);  // what is buffered, then read on
  }

  // Encodes the batch's replies in order and sends them.
  template <class Self>
  static Status Write(Self& self, Term& state) {
    std::string out;
    const Term& results = state.at(K().results);
    auto result = [&](const Term& ref) -> Term {
      const Term* list = results.find(ref[0]);
      if (list == nullptr || !list->is_list() || static_cast<size_t>(ref[1].as_int()) >= list->size()) {
        return Term::tuple({Term::atom("error"), Term("ERR shard " + ShardName(static_cast<size_t>(ref[0].as_int())) +
                   " did not answer")});
      }
      return (*list)[static_cast<size_t>(ref[1].as_int())];
    };
    for (const Term& step : state.at(K().plan).elements()) {
      if (step[0].is_atom("ready")) {
        out += step[1].as_binary();
        continue;
      }
      auto join = static_cast<Join>(step[0].as_int());
      const Term& refs = step[1];
      switch (join) {
        case Join::kOne:
          Encode(out, result(refs[0]));
          break;
        case Join::kArray:
          resp::ArrayHeader(out, refs.size());
          for (const Term& r : refs.elements()) {
            Term v = result(r);
            Encode(out, v.is_tuple() ? Term() : v);  // MGET: a list under a key reads as nil
          }
          break;
        case Join::kSum: {
          int64_t sum = 0;
          Term error;
          for (const Term& r : refs.elements()) {
            Term v = result(r);
            if (v.is_int()) {
              sum += v.as_int();
            } else {
              error = v;
            }
          }
          Encode(out, error.is_tuple() ? error : Term(sum));
          break;
        }
        case Join::kOk: {
          Term reply = Term::atom("OK");
          for (const Term& r : refs.elements()) {
            Term v = result(r);
            if (v.is_tuple()) reply = v;
          }
          Encode(out, reply);
          break;
        }
      }
    }
    state.set(K().plan, Term::list({}));
    state.set(K().results, Term::map({}));
    if (out.empty()) return Status::Ok();
    return self.ctx().tcp_send(state.at(K().socket), out);
  }

  template <class Self>
  static Result<MessageOutcome> Finish(Self& self, Term& state) {
    (void)self.ctx().tcp_close(state.at(K().socket));
    return self.stop(Term::atom("normal"));
  }
};

}  // namespace kv
