#include "term_binary.h"

#include <cstring>
#include <vector>

namespace relup::detail {

namespace {

enum Tag : uint8_t {
  kNil = 0,
  kFalse,
  kTrue,
  kInt,
  kFloat,
  kAtom,
  kPid,
  kRef,
  kString,
  kBinary,
  kTuple,
  kList,
  kMap,
};

Status Damaged(const char* what) {
  return Status::Corruption(std::string("binary term is damaged: ") + what);
}

class Decoder {
 public:
  explicit Decoder(std::string_view* in) : in_(in) {}

  Result<Term> Value(size_t depth) {
    if (depth > kMaxBinaryDepth) return Damaged("nested too deep");
    if (in_->empty()) return Damaged("truncated");
    uint8_t tag = static_cast<uint8_t>(in_->front());
    in_->remove_prefix(1);
    uint64_t n = 0;
    std::string_view bytes;
    switch (tag) {
      case kNil:
        return Term();
      case kFalse:
        return Term(false);
      case kTrue:
        return Term(true);
      case kInt:
        if (!GetVarint(in_, &n)) return Damaged("truncated int");
        return Term(static_cast<long long>((n >> 1) ^ (~(n & 1) + 1)));
      case kFloat: {
        if (in_->size() < 8) return Damaged("truncated float");
        uint64_t bits = 0;
        for (int i = 7; i >= 0; --i) bits = (bits << 8) | static_cast<uint8_t>((*in_)[i]);
        in_->remove_prefix(8);
        double d;
        std::memcpy(&d, &bits, sizeof d);
        return Term(d);
      }
      case kAtom:
        if (!GetBytes(in_, &bytes)) return Damaged("truncated atom");
        return Term::atom(bytes);
      case kPid:
        if (!GetVarint(in_, &n)) return Damaged("truncated pid");
        return Term(Pid{n});
      case kRef: {
        if (in_->empty()) return Damaged("truncated ref");
        uint8_t kind = static_cast<uint8_t>(in_->front());
        in_->remove_prefix(1);
        if (kind > static_cast<uint8_t>(RefKind::kSocket)) return Damaged("unknown ref kind");
        if (!GetVarint(in_, &n) || n > Term::kMaxRefId) return Damaged("bad ref id");
        return Term::ref(static_cast<RefKind>(kind), n);
      }
      case kString:
      case kBinary:
        if (!GetBytes(in_, &bytes)) return Damaged("truncated bytes");
        return tag == kString ? Term::string(std::string(bytes)) : Term::binary(std::string(bytes));
      case kTuple:
      case kList: {
        // Every element takes at least one byte: a count the buffer cannot
        // back is refused before anything is reserved.
        if (!GetVarint(in_, &n) || n > in_->size()) return Damaged("bad element count");
        std::vector<Term> elements;
        elements.reserve(n);
        for (uint64_t i = 0; i < n; ++i) {
          RELUP_ASSIGN_OR_RETURN(Term e, Value(depth + 1));
          elements.push_back(std::move(e));
        }
        return tag == kTuple ? Term::tuple(std::move(elements)) : Term::list(std::move(elements));
      }
      case kMap: {
        if (!GetVarint(in_, &n) || n > in_->size() / 2) return Damaged("bad entry count");
        std::vector<TermPair> entries;
        entries.reserve(n);
        for (uint64_t i = 0; i < n; ++i) {
          RELUP_ASSIGN_OR_RETURN(Term k, Value(depth + 1));
          RELUP_ASSIGN_OR_RETURN(Term v, Value(depth + 1));
          entries.emplace_back(std::move(k), std::move(v));
        }
        Term map = Term::map(std::move(entries));
        if (map.size() != n) return Damaged("a map key repeats");
        return map;
      }
      default:
        return Damaged("unknown tag");
    }
  }

 private:
  std::string_view* in_;
};

}  // namespace

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    uint8_t byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    if (shift == 63 && byte > 1) return false;  // more than 64 bits
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

void PutBytes(std::string_view bytes, std::string* out) {
  PutVarint(bytes.size(), out);
  out->append(bytes);
}

bool GetBytes(std::string_view* in, std::string_view* bytes) {
  uint64_t n = 0;
  if (!GetVarint(in, &n) || n > in->size()) return false;
  *bytes = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

void EncodeTerm(const Term& t, std::string* out) {
  switch (t.type()) {
    case Term::Type::kNil:
      out->push_back(kNil);
      return;
    case Term::Type::kBool:
      out->push_back(t.as_bool() ? kTrue : kFalse);
      return;
    case Term::Type::kInt: {
      out->push_back(kInt);
      int64_t v = t.as_int();
      PutVarint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63), out);
      return;
    }
    case Term::Type::kFloat: {
      out->push_back(kFloat);
      double d = t.as_float();
      uint64_t bits;
      std::memcpy(&bits, &d, sizeof bits);
      for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(bits >> (8 * i)));
      return;
    }
    case Term::Type::kAtom:
      out->push_back(kAtom);
      PutBytes(t.as_atom(), out);
      return;
    case Term::Type::kPid:
      out->push_back(kPid);
      PutVarint(t.as_pid().id, out);
      return;
    case Term::Type::kRef:
      out->push_back(kRef);
      out->push_back(static_cast<char>(t.ref_kind()));
      PutVarint(t.ref_id(), out);
      return;
    case Term::Type::kString:
      out->push_back(kString);
      PutBytes(t.as_string(), out);
      return;
    case Term::Type::kBinary:
      out->push_back(kBinary);
      PutBytes(t.as_binary(), out);
      return;
    case Term::Type::kTuple:
    case Term::Type::kList:
      out->push_back(t.is_tuple() ? kTuple : kList);
      PutVarint(t.size(), out);
      for (const Term& e : t.elements()) EncodeTerm(e, out);
      return;
    case Term::Type::kMap:
      out->push_back(kMap);
      PutVarint(t.size(), out);
      for (const auto& [k, v] : t.entries()) {
        EncodeTerm(k, out);
        EncodeTerm(v, out);
      }
      return;
  }
}

Result<Term> DecodeTerm(std::string_view* in) {
  Decoder decoder(in);
  return decoder.Value(0);
}

}  // namespace relup::detail
