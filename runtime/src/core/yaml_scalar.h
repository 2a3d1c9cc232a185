// The scalar rules of Term's YAML text form, shared by the printer
// (term_yaml.cc) and the parser (term_parse.cc) so that they cannot drift:
// a string is printed plain only if ResolvePlain() of that text gives back
// the same string.
#pragma once

#include <string>
#include <string_view>

#include "relup/status.h"
#include "relup/term.h"

namespace relup::detail {

// Local tags of the text form.
inline constexpr std::string_view kTupleTag = "!tuple";
inline constexpr std::string_view kAtomTag = "!atom";
inline constexpr std::string_view kPidTag = "!pid";  // refs: "!" + Term::ref_kind_name
// A string that is not valid UTF-8 (YAML text cannot carry it): base64.
inline constexpr std::string_view kStringBase64Tag = "!string-base64";
// The same for an atom's name.
inline constexpr std::string_view kAtomBase64Tag = "!atom-base64";

// What a plain (unquoted) scalar in value position means: nil, bool, int,
// float, :atom, or else a string. The error (no location) is for text that
// looks like a number or an atom but is not a valid one.
Result<Term> ResolvePlain(std::string_view text);

// The atom named by plain text starting with ':' (":ok", ":'with space'",
// ":\"esc\\n\"").
Result<Term> ResolveAtomLiteral(std::string_view text);

// Whether `s` survives as a plain flow scalar character by character (the
// caller still checks what it resolves to).
bool IsPlainSyntax(std::string_view s);

bool IsValidUtf8(std::string_view s);

// Whether `s` is well-formed UTF-8 with no code point YAML would treat as a
// line break or byte order mark.
bool IsYamlSafeUtf8(std::string_view s);

// `s` in double quotes with YAML escapes.
std::string DoubleQuote(std::string_view s);

std::string FormatFloat(double d);

std::string Base64Encode(std::string_view bytes);
// False if `text` is not valid base64 (whitespace is ignored).
bool Base64Decode(std::string_view text, std::string* out);

}  // namespace relup::detail
