// Term construction, reference counting, accessors and map operations.
#include "relup/term.h"

#include <algorithm>
#include <ostream>

#include "term_body.h"

namespace relup {

using detail::BytesBody;
using detail::MapBody;
using detail::SeqBody;

namespace {

bool HasBody(Term::Type t) {
  return t >= Term::Type::kString;
}

// A short printed form of a term for error messages.
std::string Preview(const Term& t) {
  std::string s = t.to_yaml();
  constexpr size_t kMax = 80;
  if (s.size() > kMax) {
    s.resize(kMax);
    s += "...";
  }
  return s;
}

[[noreturn]] void ThrowTypeMismatch(std::string_view expected, const Term& got) {
  std::string msg = "expected ";
  msg += expected;
  msg += ", got ";
  msg += Term::type_name(got.type());
  msg += " ";
  msg += Preview(got);
  throw BadTermAccess(msg);
}

// Sorts entries by key; of equal keys the last one wins. In place: building
// a process state should not allocate twice.
std::vector<TermPair> NormalizeEntries(std::vector<TermPair> entries) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const TermPair& a, const TermPair& b) { return a.first < b.first; });
  size_t out = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (out > 0 && entries[out - 1].first == entries[i].first) {
      entries[out - 1].second = std::move(entries[i].second);
    } else if (out != i) {
      entries[out++] = std::move(entries[i]);
    } else {
      ++out;
    }
  }
  entries.resize(out);
  return entries;
}

// Index of `key` in sorted entries, or of where it would be inserted.
// Small maps (the common process state) are scanned linearly: atom keys then
// compare by pointer, which beats a binary search's ordered comparisons.
std::pair<size_t, bool> Locate(const std::vector<TermPair>& entries, const Term& key) {
  constexpr size_t kLinearMax = 8;
  if (entries.size() <= kLinearMax) {
    for (size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].first == key) return {i, true};
    }
    // Absent: find the insertion point by order.
    size_t i = 0;
    while (i < entries.size() && entries[i].first < key) ++i;
    return {i, false};
  }
  auto it = std::lower_bound(entries.begin(), entries.end(), key,
                             [](const TermPair& e, const Term& k) { return e.first < k; });
  size_t i = static_cast<size_t>(it - entries.begin());
  return {i, it != entries.end() && it->first == key};
}

}  // namespace

Term::Term(const char* s) : Term(std::string(s)) {}
Term::Term(std::string_view s) : Term(std::string(s)) {}
Term::Term(std::string s) : type_(Type::kString), body_(new BytesBody(std::move(s))) {}

Term::Term(const Term& other) noexcept : type_(other.type_), i_(other.i_) {
  if (HasBody(type_)) body_->refs.fetch_add(1, std::memory_order_relaxed);
}

Term::Term(Term&& other) noexcept : type_(other.type_), i_(other.i_) {
  other.type_ = Type::kNil;
  other.i_ = 0;
}

Term& Term::operator=(const Term& other) noexcept {
  if (this != &other) {
    if (HasBody(other.type_)) other.body_->refs.fetch_add(1, std::memory_order_relaxed);
    release();
    type_ = other.type_;
    i_ = other.i_;
  }
  return *this;
}

Term& Term::operator=(Term&& other) noexcept {
  if (this != &other) {
    release();
    type_ = other.type_;
    i_ = other.i_;
    other.type_ = Type::kNil;
    other.i_ = 0;
  }
  return *this;
}

Term::~Term() {
  release();
}

void Term::release() noexcept {
  if (!HasBody(type_)) return;
  if (body_->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  switch (type_) {
    case Type::kString:
    case Type::kBinary:
      delete static_cast<BytesBody*>(body_);
      break;
    case Type::kTuple:
    case Type::kList:
      delete static_cast<SeqBody*>(body_);
      break;
    case Type::kMap:
      delete static_cast<MapBody*>(body_);
      break;
    default:
      break;
  }
}

Term Term::atom(std::string_view name) {
  Term t;
  t.type_ = Type::kAtom;
  t.atom_ = detail::InternAtom(name);
  return t;
}

Term Term::string(std::string s) {
  return Term(std::move(s));
}

Term Term::binary(std::string bytes) {
  Term t;
  t.type_ = Type::kBinary;
  t.body_ = new BytesBody(std::move(bytes));
  return t;
}

Term Term::tuple(std::vector<Term> elements) {
  Term t;
  elements.shrink_to_fit();
  t.type_ = Type::kTuple;
  t.body_ = new SeqBody(std::move(elements));
  return t;
}

Term Term::tuple(std::initializer_list<Term> elements) {
  return tuple(std::vector<Term>(elements));
}

Term Term::list(std::vector<Term> elements) {
  Term t;
  elements.shrink_to_fit();
  t.type_ = Type::kList;
  t.body_ = new SeqBody(std::move(elements));
  return t;
}

Term Term::list(std::initializer_list<Term> elements) {
  return list(std::vector<Term>(elements));
}

Term Term::map(std::vector<TermPair> entries) {
  Term t;
  t.type_ = Type::kMap;
  t.body_ = new MapBody(NormalizeEntries(std::move(entries)));
  return t;
}

Term Term::map(std::initializer_list<TermPair> entries) {
  return map(std::vector<TermPair>(entries));
}

bool Term::is_atom(std::string_view name) const {
  return type_ == Type::kAtom && atom_->name == name;
}

Term Term::ref(RefKind kind, uint64_t id) {
  if (id > kMaxRefId) throw BadTermAccess("ref id " + std::to_string(id) + " is out of range");
  Term t;
  t.type_ = Type::kRef;
  t.i_ = static_cast<int64_t>((static_cast<uint64_t>(kind) << 56) | id);
  return t;
}

Pid Term::as_pid() const {
  if (type_ != Type::kPid) ThrowTypeMismatch("pid", *this);
  return Pid{static_cast<uint64_t>(i_)};
}

RefKind Term::ref_kind() const {
  if (type_ != Type::kRef) ThrowTypeMismatch("ref", *this);
  return static_cast<RefKind>(static_cast<uint64_t>(i_) >> 56);
}

uint64_t Term::ref_id() const {
  if (type_ != Type::kRef) ThrowTypeMismatch("ref", *this);
  return static_cast<uint64_t>(i_) & kMaxRefId;
}

bool Term::as_bool() const {
  if (type_ != Type::kBool) ThrowTypeMismatch("bool", *this);
  return b_;
}

int64_t Term::as_int() const {
  if (type_ != Type::kInt) ThrowTypeMismatch("int", *this);
  return i_;
}

double Term::as_float() const {
  if (type_ == Type::kFloat) return f_;
  if (type_ == Type::kInt) return static_cast<double>(i_);
  ThrowTypeMismatch("float or int", *this);
}

std::string_view Term::as_atom() const {
  if (type_ != Type::kAtom) ThrowTypeMismatch("atom", *this);
  return atom_->name;
}

const std::string& Term::as_string() const {
  if (type_ != Type::kString) ThrowTypeMismatch("string", *this);
  return static_cast<const BytesBody*>(body_)->value;
}

const std::string& Term::as_binary() const {
  if (type_ != Type::kBinary) ThrowTypeMismatch("binary", *this);
  return static_cast<const BytesBody*>(body_)->value;
}

const std::vector<Term>& Term::elements() const {
  if (type_ != Type::kTuple && type_ != Type::kList) ThrowTypeMismatch("tuple or list", *this);
  return static_cast<const SeqBody*>(body_)->value;
}

const std::vector<TermPair>& Term::entries() const {
  if (type_ != Type::kMap) ThrowTypeMismatch("map", *this);
  return static_cast<const MapBody*>(body_)->value;
}

size_t Term::size() const {
  switch (type_) {
    case Type::kString:
    case Type::kBinary:
      return static_cast<const BytesBody*>(body_)->value.size();
    case Type::kTuple:
    case Type::kList:
      return static_cast<const SeqBody*>(body_)->value.size();
    case Type::kMap:
      return static_cast<const MapBody*>(body_)->value.size();
    default:
      ThrowTypeMismatch("string, binary, tuple, list or map", *this);
  }
}

const Term& Term::operator[](size_t i) const {
  const std::vector<Term>& els = elements();
  if (i >= els.size()) {
    throw BadTermAccess("index " + std::to_string(i) + " out of range for " +
                        std::string(type_name(type_)) + " of size " + std::to_string(els.size()));
  }
  return els[i];
}

const Term* Term::find(const Term& key) const {
  if (type_ != Type::kMap) return nullptr;
  const auto& es = static_cast<const MapBody*>(body_)->value;
  if (key.type_ == Type::kAtom && es.size() <= 8) {
    // The hot path of every callback reading its state: interned atoms
    // compare by pointer, inline.
    for (const TermPair& e : es) {
      if (e.first.type_ == Type::kAtom && e.first.atom_ == key.atom_) return &e.second;
    }
    return nullptr;
  }
  auto [i, found] = Locate(es, key);
  return found ? &es[i].second : nullptr;
}

const Term* Term::find(std::string_view atom_key) const {
  if (type_ != Type::kMap) return nullptr;
  const detail::AtomEntry* entry = detail::FindAtom(atom_key);
  if (entry == nullptr) return nullptr;  // never interned, so no map has it
  Term key;
  key.type_ = Type::kAtom;
  key.atom_ = entry;
  return find(key);
}

const Term& Term::at(const Term& key) const {
  if (type_ != Type::kMap) ThrowTypeMismatch("map", *this);
  if (const Term* v = find(key)) return *v;
  throw BadTermAccess("key " + Preview(key) + " not found in map " + Preview(*this));
}

const Term& Term::at(std::string_view atom_key) const {
  if (type_ != Type::kMap) ThrowTypeMismatch("map", *this);
  if (const Term* v = find(atom_key)) return *v;
  throw BadTermAccess("key " + Preview(atom(atom_key)) + " not found in map " + Preview(*this));
}

Term Term::put(const Term& key, Term value) const {
  const std::vector<TermPair>& es = entries();
  auto [i, found] = Locate(es, key);
  std::vector<TermPair> out;
  out.reserve(es.size() + (found ? 0 : 1));
  out.insert(out.end(), es.begin(), es.begin() + static_cast<ptrdiff_t>(i));
  out.emplace_back(key, std::move(value));
  out.insert(out.end(), es.begin() + static_cast<ptrdiff_t>(i + (found ? 1 : 0)), es.end());
  Term t;
  t.type_ = Type::kMap;
  t.body_ = new MapBody(std::move(out));
  return t;
}

void Term::unshare() {
  if (!HasBody(type_) || body_->refs.load(std::memory_order_acquire) == 1) return;
  detail::TermBody* own = nullptr;
  switch (type_) {
    case Type::kString:
    case Type::kBinary:
      own = new BytesBody(static_cast<const BytesBody*>(body_)->value);
      break;
    case Type::kTuple:
    case Type::kList:
      own = new SeqBody(static_cast<const SeqBody*>(body_)->value);
      break;
    case Type::kMap:
      own = new MapBody(static_cast<const MapBody*>(body_)->value);
      break;
    default:
      return;
  }
  release();  // another holder keeps the old body
  body_ = own;
}

void Term::set(const Term& key, Term value) {
  if (type_ != Type::kMap) ThrowTypeMismatch("map", *this);
  Term k = key;  // it may be an entry of this very map
  unshare();
  std::vector<TermPair>& es = static_cast<MapBody*>(body_)->value;
  auto [i, found] = Locate(es, k);
  if (found) {
    es[i].second = std::move(value);
  } else {
    es.emplace(es.begin() + static_cast<ptrdiff_t>(i), std::move(k), std::move(value));
  }
}

void Term::set(std::string_view atom_key, Term value) { set(atom(atom_key), std::move(value)); }

bool Term::remove(const Term& key) {
  if (type_ != Type::kMap) ThrowTypeMismatch("map", *this);
  auto [i, found] = Locate(entries(), key);
  if (!found) return false;
  unshare();
  std::vector<TermPair>& es = static_cast<MapBody*>(body_)->value;
  es.erase(es.begin() + static_cast<ptrdiff_t>(i));
  return true;
}

Term* Term::find_mut(const Term& key) {
  if (type_ != Type::kMap) return nullptr;
  auto [i, found] = Locate(entries(), key);
  if (!found) return nullptr;
  unshare();
  return &static_cast<MapBody*>(body_)->value[i].second;
}

Term* Term::find_mut(std::string_view atom_key) {
  if (type_ != Type::kMap) return nullptr;
  const detail::AtomEntry* entry = detail::FindAtom(atom_key);
  if (entry == nullptr) return nullptr;  // no such atom: no such key
  Term key;
  key.type_ = Type::kAtom;
  key.atom_ = entry;
  return find_mut(key);
}

std::vector<Term>& Term::mutable_elements() {
  if (type_ != Type::kTuple && type_ != Type::kList) ThrowTypeMismatch("tuple or list", *this);
  unshare();
  return static_cast<SeqBody*>(body_)->value;
}

Term Term::put(std::string_view atom_key, Term value) const {
  return put(atom(atom_key), std::move(value));
}

Term Term::erase(const Term& key) const {
  const std::vector<TermPair>& es = entries();
  auto [i, found] = Locate(es, key);
  if (!found) return *this;
  std::vector<TermPair> out;
  out.reserve(es.size() - 1);
  out.insert(out.end(), es.begin(), es.begin() + static_cast<ptrdiff_t>(i));
  out.insert(out.end(), es.begin() + static_cast<ptrdiff_t>(i + 1), es.end());
  Term t;
  t.type_ = Type::kMap;
  t.body_ = new MapBody(std::move(out));
  return t;
}

Term Term::erase(std::string_view atom_key) const {
  if (type_ != Type::kMap) ThrowTypeMismatch("map", *this);
  const detail::AtomEntry* entry = detail::FindAtom(atom_key);
  if (entry == nullptr) return *this;
  Term key;
  key.type_ = Type::kAtom;
  key.atom_ = entry;
  return erase(key);
}

std::string_view Term::type_name(Type t) {
  switch (t) {
    case Type::kNil:
      return "nil";
    case Type::kBool:
      return "bool";
    case Type::kInt:
      return "int";
    case Type::kFloat:
      return "float";
    case Type::kAtom:
      return "atom";
    case Type::kPid:
      return "pid";
    case Type::kRef:
      return "ref";
    case Type::kString:
      return "string";
    case Type::kBinary:
      return "binary";
    case Type::kTuple:
      return "tuple";
    case Type::kList:
      return "list";
    case Type::kMap:
      return "map";
  }
  return "unknown";
}

std::string_view Term::ref_kind_name(RefKind k) {
  switch (k) {
    case RefKind::kRef:
      return "ref";
    case RefKind::kTimer:
      return "timer";
    case RefKind::kMonitor:
      return "monitor";
    case RefKind::kSocket:
      return "socket";
  }
  return "ref";
}

std::ostream& operator<<(std::ostream& os, const Term& t) {
  return os << t.to_yaml();
}

}  // namespace relup
