// Private representation of relup::Term: interned atoms and the shared,
// immutable, reference-counted bodies of compound terms. Only relup_core's
// own sources include this header.
//
// A body is created with a reference count of 1 and never changes after its
// Term is handed out, so readers on many threads need no lock; the count is
// atomic. Which derived body a TermBody* points to follows from the owning
// Term's type tag, so bodies carry no type or vtable of their own (this keeps
// a small map state, a few dozen bytes per body, cheap).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relup/term.h"

namespace relup::detail {

struct AtomEntry {
  std::string name;
  size_t hash;
};

// Returns the interned entry for `name`, creating it on first use.
// Thread-safe; entries live until the program ends.
const AtomEntry* InternAtom(std::string_view name);
// The entry for `name` if it was ever interned, else nullptr (no insertion).
const AtomEntry* FindAtom(std::string_view name);
// How many atoms the program has.
size_t AtomCount();

// Atoms are never freed, so text from outside (a control frame, a command
// line, a file) must not grow the table without bound, as Erlang's atom
// table exhaustion does. While a TextAtoms scope is alive on a thread, an
// InternAtom that would add a new atom to a table already holding
// the limit (kMaxAtomsForText) throws AtomLimitReached (a BadTermAccess); existing atoms,
// and atoms the program itself makes outside such a scope, are unaffected.
inline constexpr size_t kMaxAtomsForText = 100'000;
// And a new atom's name from text may be at most this long (Erlang's limit):
// the count alone would let each atom hold megabytes for good.
inline constexpr size_t kMaxAtomBytesForText = 255;
// The limit in force (kMaxAtomsForText unless a test changed it); returns
// the previous one.
size_t SetAtomLimitForText(size_t limit);
class AtomLimitReached : public BadTermAccess {
 public:
  using BadTermAccess::BadTermAccess;
};
class TextAtoms {
 public:
  TextAtoms();
  ~TextAtoms();
  TextAtoms(const TextAtoms&) = delete;
  TextAtoms& operator=(const TextAtoms&) = delete;

 private:
  bool prev_;
};

struct TermBody {
  std::atomic<uint32_t> refs{1};
};

struct BytesBody : TermBody {  // string or binary
  explicit BytesBody(std::string v) : value(std::move(v)) {}
  std::string value;
};

struct SeqBody : TermBody {  // tuple or list
  explicit SeqBody(std::vector<Term> v) : value(std::move(v)) {}
  std::vector<Term> value;
};

struct MapBody : TermBody {  // entries sorted by key, keys unique
  explicit MapBody(std::vector<TermPair> v) : value(std::move(v)) {}
  std::vector<TermPair> value;
};

}  // namespace relup::detail
