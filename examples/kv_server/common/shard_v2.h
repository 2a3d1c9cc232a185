// kv_shard version 2's keyspace: every value carries metadata.
//
//   db: {KEY: !tuple [VALUE, EXPIRES_AT, TYPE]}
//     VALUE       a binary (TYPE :string) or a list (TYPE :list, kv_server/common/list.h)
//     EXPIRES_AT  Unix time in ms when the key expires, 0 for never
//
// A key past its time is gone: every read checks (lazy expiry), and a timer
// of the shard's own sweeps the keyspace every kSweepMs (active expiry, as
// Redis samples; here the keys with a time are few next to the rest, so the
// sweep only walks those, kept in `ttl: {KEY: EXPIRES_AT}`).
#pragma once

#include <chrono>

#include "kv_server/common/shard.h"

namespace kv {

inline constexpr int64_t kSweepMs = 100;

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class Store2 {
 public:
  // The state's db and ttl maps.
  struct Space {
    Term& db;
    Term& ttl;
  };

  static Term Entry(Term value, int64_t expires_at) {
    Term type = Term::atom(list::Is(value) ? "list" : "string");
    return Term::tuple({std::move(value), Term(static_cast<long long>(expires_at)), std::move(type)});
  }

  // The live entry under key, or nullptr (a key past its time is removed).
  static const Term* Live(Space s, const Term& key, int64_t now) {
    const Term* e = s.db.find(key);
    if (e == nullptr) return nullptr;
    int64_t at = (*e)[1].as_int();
    if (at != 0 && at <= now) {
      s.db.remove(key);
      s.ttl.remove(key);
      return nullptr;
    }
    return e;
  }

  static void Put(Space s, const Term& key, Term value, int64_t expires_at) {
    s.db.set(key, Entry(std::move(value), expires_at));
    if (expires_at != 0) {
      s.ttl.set(key, Term(static_cast<long long>(expires_at)));
    } else {
      s.ttl.remove(key);
    }
  }

  static Term Get(Space s, const Term& op, int64_t now) {
    const Term* e = Live(s, op[1], now);
    if (e == nullptr) return Term();
    if (!(*e)[2].is_atom("string")) return WrongType();
    return (*e)[0];
  }

  // SET key value [NX|XX] [EX seconds|PX ms|KEEPTTL]
  static Term Set(Space s, const Term& op, int64_t now) {
    bool nx = false, xx = false, keep = false;
    int64_t at = 0;
    for (size_t i = 3; i < op.size(); ++i) {
      std::string flag = resp::Upper(Arg(op, i));
      if (flag == "NX") {
        nx = true;
      } else if (flag == "XX") {
        xx = true;
      } else if (flag == "KEEPTTL") {
        keep = true;
      } else if ((flag == "EX" || flag == "PX") && i + 1 < op.size() && at == 0) {
        int64_t n = 0;
        if (!ParseInt(Arg(op, ++i), &n)) return NotInteger();
        if (n <= 0 || n > (int64_t{1} << 46)) return Err("ERR invalid expire time in 'set' command");
        at = now + (flag == "EX" ? n * 1000 : n);
      } else {
        return Syntax();
      }
    }
    if ((nx && xx) || (keep && at != 0)) return Syntax();
    const Term* e = Live(s, op[1], now);
    if ((nx && e != nullptr) || (xx && e == nullptr)) return Term();
    if (keep && e != nullptr) at = (*e)[1].as_int();
    Put(s, op[1], op[2], at);
    return Term::atom("OK");
  }

  // EXPIRE / PEXPIRE key n: 1 if the key exists (a time <= now deletes it).
  static Term Expire(Space s, const Term& op, int64_t now, int64_t unit_ms) {
    int64_t n = 0;
    if (!ParseInt(Arg(op, 2), &n) || n > (int64_t{1} << 46) || n < -(int64_t{1} << 46)) {
      return NotInteger();
    }
    const Term* e = Live(s, op[1], now);
    if (e == nullptr) return Term(0);
    int64_t at = now + n * unit_ms;
    if (at <= now) {
      s.db.remove(op[1]);
      s.ttl.remove(op[1]);
      return Term(1);
    }
    Put(s, op[1], (*e)[0], at);
    return Term(1);
  }

  // TTL / PTTL: -2 no key, -1 no time, else what is left.
  static Term Ttl(Space s, const Term& op, int64_t now, int64_t unit_ms) {
    const Term* e = Live(s, op[1], now);
    if (e == nullptr) return Term(-2);
    int64_t at = (*e)[1].as_int();
    if (at == 0) return Term(-1);
    int64_t left = at - now;
    return Term(static_cast<long long>(unit_ms == 1 ? left : (left + 500) / 1000));
  }

  static Term Persist(Space s, const Term& op, int64_t now) {
    const Term* e = Live(s, op[1], now);
    if (e == nullptr || (*e)[1].as_int() == 0) return Term(0);
    Put(s, op[1], (*e)[0], 0);
    return Term(1);
  }

  // Everything else: version 1's command on a plain view of the entry, and
  // the result written back with the entry's time kept. The value is moved
  // out of its entry, not copied: a list op then changes it in place.
  static Term Plain(Space s, const Term& op, int64_t now) {
    const Term* e = Live(s, op[1], now);
    int64_t at = e != nullptr ? (*e)[1].as_int() : 0;
    Term one = Term::map({});
    if (e != nullptr) one.set(op[1], std::move(s.db.find_mut(op[1])->mutable_elements()[0]));
    Term result = Store1::Run(one, op);
    if (const Term* v = one.find(op[1])) {
      Put(s, op[1], *v, at);
    } else if (e != nullptr) {
      s.db.remove(op[1]);
      s.ttl.remove(op[1]);
    }
    return result;
  }

  static Term Run(Space s, const Term& op, int64_t now) {
    const std::string& cmd = Arg(op, 0);
    if (cmd == "GET") return Get(s, op, now);
    if (cmd == "SET") return Set(s, op, now);
    if (cmd == "EXPIRE") return Expire(s, op, now, 1000);
    if (cmd == "PEXPIRE") return Expire(s, op, now, 1);
    if (cmd == "TTL") return Ttl(s, op, now, 1000);
    if (cmd == "PTTL") return Ttl(s, op, now, 1);
    if (cmd == "PERSIST") return Persist(s, op, now);
    if (cmd == "DEL") {
      bool live = Live(s, op[1], now) != nullptr;
      s.db.remove(op[1]);
      s.ttl.remove(op[1]);
      return Term(live ? 1 : 0);
    }
    if (cmd == "EXISTS") return Term(Live(s, op[1], now) != nullptr ? 1 : 0);
    if (cmd == "DBSIZE") {
      Sweep(s, now);
      return Term(static_cast<long long>(s.db.size()));
    }
    if (cmd == "FLUSHALL") {
      s.db = Term::map({});
      s.ttl = Term::map({});
      return Term::atom("OK");
    }
    return Plain(s, op, now);
  }

  // Removes every key past its time.
  static void Sweep(Space s, int64_t now) {
    std::vector<Term> gone;
    for (const auto& [key, at] : s.ttl.entries()) {
      if (at.as_int() <= now) gone.push_back(key);
    }
    for (const Term& key : gone) {
      s.db.remove(key);
      s.ttl.remove(key);
    }
  }
};

}  // namespace kv
