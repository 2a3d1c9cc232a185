// A compact binary form of relup::Term, for copies of terms between a node
// and the processes it starts itself (the trial helper, see src/trial/). It
// is not a wire format for the outside world: it carries handles (pids,
// refs) as they are, and a node never decodes it from a client.
//
// Encoding: one tag byte per value, then
//   nil, false, true    nothing
//   int                 zigzag varint
//   float               8 bytes, little-endian IEEE 754
//   atom, string, binary  varint length, then the bytes
//   pid                 varint id
//   ref                 kind byte, varint id
//   tuple, list         varint count, then the elements
//   map                 varint count, then key, value, key, value... (sorted)
//
// DecodeTerm still checks every byte (a truncated or damaged buffer is an
// error, never a crash or an allocation the buffer cannot back), nests at
// most kMaxBinaryDepth deep, and refuses a map whose keys repeat.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "relup/status.h"
#include "relup/term.h"

namespace relup::detail {

// The decoder recurses once per level. 4,096 overflowed an 8 MiB stack under
// AddressSanitizer (its frames are several times larger); 1,024 levels is
// four times what a term in text may have, and still far deeper than any
// state a server module keeps.
inline constexpr size_t kMaxBinaryDepth = 1024;

// Appends t's encoding to *out.
void EncodeTerm(const Term& t, std::string* out);

// Decodes one term from the front of *in and advances *in past it.
Result<Term> DecodeTerm(std::string_view* in);

// Varints, for the frames that carry terms.
void PutVarint(uint64_t v, std::string* out);
bool GetVarint(std::string_view* in, uint64_t* v);
void PutBytes(std::string_view bytes, std::string* out);  // varint length + bytes
bool GetBytes(std::string_view* in, std::string_view* bytes);

}  // namespace relup::detail
