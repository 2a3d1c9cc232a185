// relup::Term: the value type of every process state and every message.
//
// A Term is one of nil, bool, int (64-bit), float (double), atom, pid, ref,
// string, binary, tuple, list or map. Pids and refs are *handles*: a pid
// names a process, a ref a timer, a monitor, a socket or a plain unique
// reference, all made by the node (see "Handles" below). Terms are immutable values: copying one is
// cheap (scalars are inline, compound values share an immutable, atomically
// reference-counted body), and "modifying" operations such as put() return a
// new Term. A Term may be read from many threads at once.
//
// Atoms are interned for the life of the program: comparing two atoms is a
// pointer comparison. There is one atom table per program because Term lives
// in librelup_core.so, which the node and every module share.
//
// Equality is exact (Int(1) != Float(1.0)). The total order sorts first by
// type, in this order: nil < bool < number < atom < ref < pid < string
// < binary < tuple < list < map (Erlang's order for the first ones); refs sort
// by kind (ref, timer, monitor, socket), then by id; pids by id; ints and floats are compared numerically with each other
// (an int sorts before an equal float); tuples and lists compare element by
// element, then by length; maps compare by size, then key by key, then value
// by value, in key order. Map entries are kept sorted by key in this order.
//
// Accessors (as_int, at, elements, ...) throw relup::BadTermAccess on a type
// mismatch or a missing key. That exception never leaves a module: the
// RELUP_MODULE macro turns it into an error result. Runtime code uses the
// is_*() and find() forms instead.
//
// The YAML text form (see to_yaml / parse) is one line of flow-style YAML:
//   nil      ~              (parse also accepts null, nil, empty)
//   bool     true, false
//   int      30000, -5      float  1.5, -0.25, 1.0e9, .inf, .nan
//   atom     :ok, :'with space'   and every plain (unquoted) map KEY: {add: 1}
//   string   blackode, "30000 added to blackode "   (plain value, or quoted)
//   binary   !!binary aGVsbG8=   (base64)
//   tuple    !tuple [:reply, 1]
//   list     [1, 2, 3]
//   map      {money: 60000, name: blackode}   (printed with keys sorted)
//   pid      !pid <0.42.0>
//   ref      !ref 7, !timer 12, !monitor 3, !socket 5
// So `{name: blackode, money: 30000}` is a map from the atoms name and money
// to the string "blackode" and the int 30000. A quoted key is a string key.
// Strings are printed plain when that reads back as the same string, and
// double-quoted otherwise. parse(to_yaml(t), kAllowHandles) == t for every
// Term t, and parse(to_yaml(t)) == t for every t without handles.
//
// Handles. Only the node makes pids and refs (spawn, send_after, monitor,
// tcp_listen, ...), and they mean something only on the node that made them.
// They print as above, so `relup state` shows them, but Term::parse refuses
// them by default: a handle cannot be forged from text on the command line
// or in a control frame. Only a client reading what the node sent parses with
// kAllowHandles. Inside a node, a ref used by a process that does not own
// what it names (a timer or socket of another process) is refused by the
// runtime, so Term::ref is no way around that either.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "relup/status.h"

namespace relup {

class Term;
using TermPair = std::pair<Term, Term>;

// A process identifier, unique for the life of a node. Printed "<0.42.0>".
struct Pid {
  uint64_t id = 0;
  bool valid() const { return id != 0; }
  std::string to_string() const;
  // Accepts "<0.42.0>" or "42".
  static Result<Pid> parse(std::string_view text);
  friend auto operator<=>(const Pid&, const Pid&) = default;
};

// What a ref names. The kind is part of the ref (a timer ref is never equal
// to a monitor ref with the same id).
enum class RefKind : uint8_t { kRef = 0, kTimer = 1, kMonitor = 2, kSocket = 3 };

// Whether Term::parse accepts handles (!pid, !ref, !timer, ...): only for
// text the node itself printed.
enum class ParseHandles : uint8_t { kRefuse, kAllow };

// Thrown by Term accessors on a type mismatch or a missing key.
class BadTermAccess : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {
struct AtomEntry;  // interned atom: name and hash, never freed
struct TermBody;   // shared immutable body of a string/binary/tuple/list/map
}  // namespace detail

class Term {
 public:
  enum class Type : uint8_t {
    kNil, kBool, kInt, kFloat, kAtom, kPid, kRef, kString, kBinary, kTuple, kList, kMap
  };
  // Ids of refs are below 2^56 (the kind takes the top byte of the payload).
  static constexpr uint64_t kMaxRefId = (uint64_t{1} << 56) - 1;

  Term() noexcept : type_(Type::kNil), i_(0) {}  // nil
  Term(bool b) noexcept : type_(Type::kBool), b_(b) {}
  Term(int v) noexcept : type_(Type::kInt), i_(v) {}
  Term(long v) noexcept : type_(Type::kInt), i_(v) {}
  Term(long long v) noexcept : type_(Type::kInt), i_(v) {}
  Term(double v) noexcept : type_(Type::kFloat), f_(v) {}
  Term(const char* s);         // string
  Term(std::string_view s);    // string
  Term(std::string s);         // string
  Term(Pid pid) noexcept : type_(Type::kPid), i_(static_cast<int64_t>(pid.id)) {}  // pid

  Term(const Term& other) noexcept;
  Term(Term&& other) noexcept;
  Term& operator=(const Term& other) noexcept;
  Term& operator=(Term&& other) noexcept;
  ~Term();

  static Term nil() { return Term(); }
  // A ref of `kind` with `id` (at most kMaxRefId). For the runtime: a module
  // gets refs from ctx(), and a made-up one names nothing it owns.
  static Term ref(RefKind kind, uint64_t id);
  static Term atom(std::string_view name);
  static Term string(std::string s);
  static Term binary(std::string bytes);
  static Term tuple(std::vector<Term> elements);
  static Term tuple(std::initializer_list<Term> elements);
  static Term list(std::vector<Term> elements);
  static Term list(std::initializer_list<Term> elements);
  // Duplicate keys: the last one wins.
  static Term map(std::vector<TermPair> entries);
  static Term map(std::initializer_list<TermPair> entries);

  Type type() const { return type_; }
  bool is_nil() const { return type_ == Type::kNil; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_int() const { return type_ == Type::kInt; }
  bool is_float() const { return type_ == Type::kFloat; }
  bool is_number() const { return is_int() || is_float(); }
  bool is_atom() const { return type_ == Type::kAtom; }
  bool is_atom(std::string_view name) const;  // this atom?
  bool is_pid() const { return type_ == Type::kPid; }
  bool is_ref() const { return type_ == Type::kRef; }
  bool is_ref(RefKind kind) const { return is_ref() && ref_kind() == kind; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_binary() const { return type_ == Type::kBinary; }
  bool is_tuple() const { return type_ == Type::kTuple; }
  bool is_list() const { return type_ == Type::kList; }
  bool is_map() const { return type_ == Type::kMap; }

  // Accessors: throw BadTermAccess naming the expected and actual types.
  bool as_bool() const;
  int64_t as_int() const;
  double as_float() const;  // int or float
  std::string_view as_atom() const;
  Pid as_pid() const;
  RefKind ref_kind() const;  // of a ref
  uint64_t ref_id() const;   // of a ref
  const std::string& as_string() const;
  const std::string& as_binary() const;
  const std::vector<Term>& elements() const;  // tuple or list
  const std::vector<TermPair>& entries() const;  // map, sorted by key
  size_t size() const;  // elements of tuple/list, entries of map, bytes of string/binary
  const Term& operator[](size_t i) const;  // tuple/list element, bounds-checked

  // Map lookup. The string_view forms look up the ATOM key of that name.
  const Term* find(const Term& key) const;  // nullptr if absent or not a map
  const Term* find(std::string_view atom_key) const;
  const Term& at(const Term& key) const;  // throws if absent
  const Term& at(std::string_view atom_key) const;
  bool contains(std::string_view atom_key) const { return find(atom_key) != nullptr; }
  // A string literal names an ATOM key too; without these overloads
  // t.at("money") would be ambiguous between the Term and string_view forms.
  const Term* find(const char* atom_key) const { return find(std::string_view(atom_key)); }
  const Term& at(const char* atom_key) const { return at(std::string_view(atom_key)); }

  // New map with key set to value (this must be a map).
  Term put(const Term& key, Term value) const;
  Term put(std::string_view atom_key, Term value) const;
  Term put(const char* atom_key, Term value) const {
    return put(std::string_view(atom_key), std::move(value));
  }
  // New map without key (unchanged if absent).
  Term erase(const Term& key) const;
  Term erase(std::string_view atom_key) const;
  Term erase(const char* atom_key) const { return erase(std::string_view(atom_key)); }

  // In-place updates, for a state too big for put() to copy on every change
  // (a keyspace of a million entries, a long list). They change this Term
  // only, copy-on-write: a body shared with another Term (a snapshot a
  // rollback holds, a state being read elsewhere) is copied first, so every
  // other holder keeps the value it had. So `t.set(k, v)` means exactly
  // `t = t.put(k, v)`, in O(log n) for a key that exists (O(n) moves of
  // entries for a new one) instead of a copy of the map. Like any change of
  // a Term object, not while another thread reads that same object (a
  // process's state is its own callback's).
  void set(const Term& key, Term value);          // map
  void set(std::string_view atom_key, Term value);
  void set(const char* atom_key, Term value) { set(std::string_view(atom_key), std::move(value)); }
  bool remove(const Term& key);                   // map; true if the key was there
  // The value under key, unshared so that it may be changed in place in turn
  // (state.find_mut("db")->set(k, v)); nullptr if absent. Map only.
  Term* find_mut(const Term& key);
  Term* find_mut(std::string_view atom_key);
  Term* find_mut(const char* atom_key) { return find_mut(std::string_view(atom_key)); }
  // The elements of a tuple or list, unshared, to change in place (push,
  // erase, assign). Tuple or list only.
  std::vector<Term>& mutable_elements();

  // Total order and exact equality, as described above.
  friend bool operator==(const Term& a, const Term& b);
  friend std::strong_ordering operator<=>(const Term& a, const Term& b);
  size_t hash() const;

  // One line of flow-style YAML; parse(to_yaml()) gives back an equal Term.
  std::string to_yaml() const;
  // Parses the YAML text form. The error says where (line:column) and why.
  // Handles are refused unless `handles` is kAllow (see "Handles" above).
  static Result<Term> parse(std::string_view text, ParseHandles handles = ParseHandles::kRefuse);

  // Name of a type, e.g. "map".
  static std::string_view type_name(Type t);
  // Name of a ref kind, as its text tag: "ref", "timer", "monitor", "socket".
  static std::string_view ref_kind_name(RefKind k);

 private:
  void release() noexcept;
  void unshare();  // gives this Term a body of its own, copying it if shared

  Type type_;
  union {
    bool b_;
    int64_t i_;
    double f_;
    const detail::AtomEntry* atom_;
    detail::TermBody* body_;
  };
};

std::ostream& operator<<(std::ostream& os, const Term& t);  // to_yaml()

}  // namespace relup

template <>
struct std::hash<relup::Term> {
  size_t operator()(const relup::Term& t) const { return t.hash(); }
};
