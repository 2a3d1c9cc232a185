// The keyspace of one kv_shard process, and the commands that touch it.
// Shared by kv_shard's versions (each compiles its own copy).
//
// State: {id: N, db: {KEY: VALUE}}. Version 1's VALUE is a binary (a string)
// or a list (kv_server/common/list.h: !tuple [FRONT, BACK], two lists of
// binaries, for O(1) pushes and pops at both ends). The db map is changed in place
// (Term::set/remove: copy-on-write), so a SET costs O(log n), not a copy of
// the keyspace.
//
// A shard is called with {ops: [OP...]} and replies a list with one result
// per op, in order. An op is the list of a command's arguments as the
// client sent them, the command name first, uppercased, for ONE key (the
// connection splits MGET, MSET, DEL and EXISTS into one op per key). Results
// are terms the connection encodes as RESP (Encode in kv_server/common/conn.h):
//   nil -> null bulk, binary -> bulk, int -> integer, atom -> simple string,
//   list -> array, !tuple [:error, TEXT] -> error.
#pragma once

#include <charconv>
#include <string>
#include <string_view>

#include "kv_server/common/list.h"
#include "kv_server/common/resp.h"
#include "relup/server.h"

namespace kv {

using relup::Term;

inline Term Err(std::string text) { return Term::tuple({Term::atom("error"), Term(std::move(text))}); }
inline Term WrongType() {
  return Err("WRONGTYPE Operation against a key holding the wrong kind of value");
}
inline Term NotInteger() { return Err("ERR value is not an integer or out of range"); }
inline Term Syntax() { return Err("ERR syntax error"); }

inline bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

inline const std::string& Arg(const Term& op, size_t i) { return op[i].as_binary(); }

// The version-1 commands on one key. `db` is the shard's map, changed in place.
class Store1 {
 public:
  static Term Get(Term& db, const Term& op) {
    const Term* v = db.find(op[1]);
    if (v == nullptr) return Term();
    if (!v->is_binary()) return WrongType();
    return *v;
  }

  // SET key value [NX|XX]
  static Term Set(Term& db, const Term& op) {
    bool nx = false, xx = false;
    for (size_t i = 3; i < op.size(); ++i) {
      std::string flag = resp::Upper(Arg(op, i));
      if (flag == "NX") {
        nx = true;
      } else if (flag == "XX") {
        xx = true;
      } else {
        return Syntax();
      }
    }
    if (nx && xx) return Syntax();
    if (nx || xx) {  // one lookup of the keyspace for a plain SET, not two
      bool exists = db.find(op[1]) != nullptr;
      if ((nx && exists) || (xx && !exists)) return Term();
    }
    db.set(op[1], op[2]);
    return Term::atom("OK");
  }

  static Term Del(Term& db, const Term& op) { return Term(db.remove(op[1]) ? 1 : 0); }
  static Term Exists(Term& db, const Term& op) { return Term(db.find(op[1]) ? 1 : 0); }

  static Term IncrBy(Term& db, const Term& op, int64_t by) {
    int64_t n = 0;
    if (const Term* v = db.find(op[1])) {
      if (!v->is_binary()) return WrongType();
      if (!ParseInt(v->as_binary(), &n)) return NotInteger();
    }
    if ((by > 0 && n > INT64_MAX - by) || (by < 0 && n < INT64_MIN - by)) {
      return Err("ERR increment or decrement would overflow");
    }
    n += by;
    db.set(op[1], Term::binary(std::to_string(n)));
    return Term(n);
  }

  // LPUSH / RPUSH key value...
  static Term Push(Term& db, const Term& op, bool left) {
    Term* v = db.find_mut(op[1]);
    if (v == nullptr) {
      db.set(op[1], list::Make());
      v = db.find_mut(op[1]);
    } else if (!list::Is(*v)) {
      return WrongType();
    }
    for (size_t i = 2; i < op.size(); ++i) {
      if (left) {
        list::PushFront(*v, op[i]);
      } else {
        list::PushBack(*v, op[i]);
      }
    }
    return Term(static_cast<long long>(list::Size(*v)));
  }

  // LPOP / RPOP key
  static Term Pop(Term& db, const Term& op, bool left) {
    Term* v = db.find_mut(op[1]);
    if (v == nullptr) return Term();
    if (!list::Is(*v)) return WrongType();
    Term out = list::Pop(*v, left);
    if (list::Size(*v) == 0) db.remove(op[1]);
    return out;
  }

  static Term Len(Term& db, const Term& op) {
    const Term* v = db.find(op[1]);
    if (v == nullptr) return Term(0);
    if (!list::Is(*v)) return WrongType();
    return Term(static_cast<long long>(list::Size(*v)));
  }

  // LRANGE key start stop (negative indices count from the end)
  static Term Range(Term& db, const Term& op) {
    int64_t start = 0, stop = 0;
    if (!ParseInt(Arg(op, 2), &start) || !ParseInt(Arg(op, 3), &stop)) return NotInteger();
    const Term* v = db.find(op[1]);
    if (v == nullptr) return Term::list({});
    if (!list::Is(*v)) return WrongType();
    auto n = static_cast<int64_t>(list::Size(*v));
    if (start < 0) start = std::max<int64_t>(n + start, 0);
    if (stop < 0) stop = n + stop;
    stop = std::min(stop, n - 1);
    std::vector<Term> out;
    for (int64_t i = start; i <= stop; ++i) out.push_back(list::At(*v, static_cast<size_t>(i)));
    return Term::list(std::move(out));
  }

  // One op of version 1; nullopt-like nil tuple when the name is unknown.
  static Term Run(Term& db, const Term& op) {
    const std::string& cmd = Arg(op, 0);
    if (cmd == "GET") return Get(db, op);
    if (cmd == "SET") return Set(db, op);
    if (cmd == "DEL") return Del(db, op);
    if (cmd == "EXISTS") return Exists(db, op);
    if (cmd == "INCR") return IncrBy(db, op, 1);
    if (cmd == "DECR") return IncrBy(db, op, -1);
    if (cmd == "INCRBY" || cmd == "DECRBY") {
      int64_t by = 0;
      if (!ParseInt(Arg(op, 2), &by) || (cmd == "DECRBY" && by == INT64_MIN)) return NotInteger();
      return IncrBy(db, op, cmd == "INCRBY" ? by : -by);
    }
    if (cmd == "LPUSH" || cmd == "RPUSH") return Push(db, op, cmd == "LPUSH");
    if (cmd == "LPOP" || cmd == "RPOP") return Pop(db, op, cmd == "LPOP");
    if (cmd == "LLEN") return Len(db, op);
    if (cmd == "LRANGE") return Range(db, op);
    if (cmd == "DBSIZE") return Term(static_cast<long long>(db.size()));
    if (cmd == "FLUSHALL") {
      db = Term::map({});
      return Term::atom("OK");
    }
    return Err("ERR unknown command '" + cmd + "' at the shard");
  }
};

}  // namespace kv
