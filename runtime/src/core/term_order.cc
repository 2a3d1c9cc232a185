// Exact equality, the total order and hashing of Terms.
#include <cmath>
#include <functional>

#include "relup/term.h"

namespace relup {

namespace {

using Type = Term::Type;

// Rank of a type in the total order; int and float share "number".
int TypeRank(Type t) {
  switch (t) {
    case Type::kNil:
      return 0;
    case Type::kBool:
      return 1;
    case Type::kInt:
    case Type::kFloat:
      return 2;
    case Type::kAtom:
      return 3;
    case Type::kRef:
      return 4;
    case Type::kPid:
      return 5;
    case Type::kString:
      return 6;
    case Type::kBinary:
      return 7;
    case Type::kTuple:
      return 8;
    case Type::kList:
      return 9;
    case Type::kMap:
      return 10;
  }
  return 11;
}

// Floats order numerically with NaN above every number (and equal to itself),
// so that the order stays total.
std::strong_ordering CompareFloats(double a, double b) {
  bool an = std::isnan(a), bn = std::isnan(b);
  if (an || bn)
    return an == bn ? std::strong_ordering::equal
                    : (an ? std::strong_ordering::greater : std::strong_ordering::less);
  if (a < b) return std::strong_ordering::less;
  if (a > b) return std::strong_ordering::greater;
  return std::strong_ordering::equal;
}

// Exact comparison of an int with a float (long double holds every int64 and
// every double exactly); an int sorts before an equal float.
std::strong_ordering CompareIntFloat(int64_t i, double f) {
  if (std::isnan(f)) return std::strong_ordering::less;
  long double li = static_cast<long double>(i), lf = static_cast<long double>(f);
  if (li > lf) return std::strong_ordering::greater;
  return std::strong_ordering::less;
}

std::strong_ordering CompareNumbers(const Term& a, const Term& b) {
  if (a.is_int() && b.is_int()) return a.as_int() <=> b.as_int();
  if (a.is_float() && b.is_float()) return CompareFloats(a.as_float(), b.as_float());
  if (a.is_int()) return CompareIntFloat(a.as_int(), b.as_float());
  return 0 <=> CompareIntFloat(b.as_int(), a.as_float());
}

std::strong_ordering CompareBytes(const std::string& a, const std::string& b) {
  int c = a.compare(b);
  return c < 0 ? std::strong_ordering::less
               : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
}

size_t Mix(size_t seed, size_t v) {
  return seed ^ (v + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

}  // namespace

bool operator==(const Term& a, const Term& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Type::kNil:
      return true;
    case Type::kBool:
      return a.as_bool() == b.as_bool();
    case Type::kInt:
      return a.as_int() == b.as_int();
    case Type::kFloat:
      return CompareFloats(a.as_float(), b.as_float()) == 0;
    case Type::kAtom:
      return a.atom_ == b.atom_;  // interned
    case Type::kPid:
    case Type::kRef:
      return a.i_ == b.i_;
    case Type::kString:
    case Type::kBinary:
    case Type::kTuple:
    case Type::kList:
    case Type::kMap:
      if (a.body_ == b.body_) return true;  // shared body
      break;
  }
  switch (a.type()) {
    case Type::kString:
      return a.as_string() == b.as_string();
    case Type::kBinary:
      return a.as_binary() == b.as_binary();
    case Type::kTuple:
    case Type::kList:
      return a.elements() == b.elements();
    case Type::kMap:
      return a.entries() == b.entries();
    default:
      return false;
  }
}

std::strong_ordering operator<=>(const Term& a, const Term& b) {
  int ra = TypeRank(a.type()), rb = TypeRank(b.type());
  if (ra != rb) return ra <=> rb;
  switch (a.type()) {
    case Type::kNil:
      return std::strong_ordering::equal;
    case Type::kBool:
      return a.as_bool() <=> b.as_bool();
    case Type::kInt:
    case Type::kFloat:
      return CompareNumbers(a, b);
    case Type::kAtom:
      if (a.atom_ == b.atom_) return std::strong_ordering::equal;
      return a.as_atom() <=> b.as_atom();
    case Type::kPid:
    case Type::kRef:  // the kind is the top byte: kind first, then id
      return static_cast<uint64_t>(a.i_) <=> static_cast<uint64_t>(b.i_);
    case Type::kString:
      return CompareBytes(a.as_string(), b.as_string());
    case Type::kBinary:
      return CompareBytes(a.as_binary(), b.as_binary());
    case Type::kTuple:
    case Type::kList: {
      if (a.body_ == b.body_) return std::strong_ordering::equal;
      const auto &ea = a.elements(), &eb = b.elements();
      size_t n = std::min(ea.size(), eb.size());
      for (size_t i = 0; i < n; ++i) {
        if (auto c = ea[i] <=> eb[i]; c != 0) return c;
      }
      return ea.size() <=> eb.size();
    }
    case Type::kMap: {
      if (a.body_ == b.body_) return std::strong_ordering::equal;
      const auto &ea = a.entries(), &eb = b.entries();
      if (ea.size() != eb.size()) return ea.size() <=> eb.size();
      for (size_t i = 0; i < ea.size(); ++i) {
        if (auto c = ea[i].first <=> eb[i].first; c != 0) return c;
      }
      for (size_t i = 0; i < ea.size(); ++i) {
        if (auto c = ea[i].second <=> eb[i].second; c != 0) return c;
      }
      return std::strong_ordering::equal;
    }
  }
  return std::strong_ordering::equal;
}

size_t Term::hash() const {
  size_t h = static_cast<size_t>(type_) * 0x100000001b3ULL;
  switch (type_) {
    case Type::kNil:
      return h;
    case Type::kBool:
      return Mix(h, b_ ? 1 : 0);
    case Type::kInt:
    case Type::kPid:
    case Type::kRef:
      return Mix(h, std::hash<int64_t>{}(i_));
    case Type::kFloat: {
      double f = f_;
      if (f == 0) f = 0;           // -0.0 == 0.0
      if (std::isnan(f)) f = NAN;  // every NaN is equal
      return Mix(h, std::hash<double>{}(f));
    }
    case Type::kAtom:
      return Mix(h, std::hash<const void*>{}(atom_));
    case Type::kString:
      return Mix(h, std::hash<std::string>{}(as_string()));
    case Type::kBinary:
      return Mix(h, std::hash<std::string>{}(as_binary()));
    case Type::kTuple:
    case Type::kList:
      for (const Term& e : elements()) h = Mix(h, e.hash());
      return h;
    case Type::kMap:
      for (const auto& [k, v] : entries()) h = Mix(Mix(h, k.hash()), v.hash());
      return h;
  }
  return h;
}

}  // namespace relup
