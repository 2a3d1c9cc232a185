// Scalar rules of the Term YAML text form; see yaml_scalar.h.
#include "yaml_scalar.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

namespace relup::detail {

namespace {

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsHexDigit(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsAlnum(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsHigh(char c) {
  return static_cast<unsigned char>(c) >= 0x80;
}
bool OneOf(char c, std::string_view set) {
  return set.find(c) != std::string_view::npos;
}

// Decodes one UTF-8 code point at s[*i]; false on a malformed sequence.
bool NextCodePoint(std::string_view s, size_t* i, uint32_t* cp) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(*i);
  size_t len;
  uint32_t v;
  if (b0 < 0x80) {
    *cp = b0;
    *i += 1;
    return true;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, v = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, v = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, v = b0 & 0x07;
  } else {
    return false;
  }
  if (*i + len > s.size()) return false;
  for (size_t k = 1; k < len; ++k) {
    unsigned char b = byte(*i + k);
    if ((b & 0xC0) != 0x80) return false;
    v = (v << 6) | (b & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMin[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
  *cp = v;
  *i += len;
  return true;
}

// Code points that YAML treats as line breaks or a byte order mark.
bool IsYamlSpecial(uint32_t cp) {
  return cp == 0x85 || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF;
}

// Matches [-+]?[0-9]+ or [-+]?0x[0-9a-fA-F]+.
bool LooksLikeInt(std::string_view t, bool* hex) {
  size_t i = (!t.empty() && (t[0] == '-' || t[0] == '+')) ? 1 : 0;
  *hex = t.size() > i + 2 && t[i] == '0' && (t[i + 1] == 'x' || t[i + 1] == 'X');
  if (*hex) i += 2;
  if (i >= t.size()) return false;
  for (; i < t.size(); ++i) {
    if (!(*hex ? IsHexDigit(t[i]) : IsDigit(t[i]))) return false;
  }
  return true;
}

// Matches [-+]?(D+(.D*)?|.D+)([eE][-+]?D+)? with a '.' or an exponent.
bool LooksLikeFloat(std::string_view t) {
  size_t i = (!t.empty() && (t[0] == '-' || t[0] == '+')) ? 1 : 0;
  size_t int_digits = 0, frac_digits = 0;
  bool dot = false, exp = false;
  while (i < t.size() && IsDigit(t[i])) ++i, ++int_digits;
  if (i < t.size() && t[i] == '.') {
    dot = true;
    ++i;
    while (i < t.size() && IsDigit(t[i])) ++i, ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return false;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    exp = true;
    ++i;
    if (i < t.size() && (t[i] == '-' || t[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < t.size() && IsDigit(t[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == t.size() && (dot || exp);
}

Result<Term> ParseInt(std::string_view text, bool hex) {
  std::string_view t = text;
  bool negative = false;
  if (t[0] == '-' || t[0] == '+') {
    negative = t[0] == '-';
    t.remove_prefix(1);
  }
  if (hex) t.remove_prefix(2);
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), magnitude, hex ? 16 : 10);
  constexpr uint64_t kMaxPositive = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (ec != std::errc() || end != t.data() + t.size() ||
      magnitude > kMaxPositive + (negative ? 1 : 0)) {
    return Status::InvalidArgument("integer " + std::string(text) +
                                   " is out of the 64-bit range (-9223372036854775808 to "
                                   "9223372036854775807); quote it to make it a string");
  }
  if (negative) return Term(static_cast<long long>(0 - magnitude));
  return Term(static_cast<long long>(magnitude));
}

Result<Term> ParseFloat(std::string_view text) {
  std::string_view t = text;
  if (t[0] == '+') t.remove_prefix(1);
  double d = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
  if (ec != std::errc() || end != t.data() + t.size()) {
    return Status::InvalidArgument("float " + std::string(text) +
                                   " is out of the double range; quote it to make it a string");
  }
  return Term(d);
}

std::string UnescapeSingle(std::string_view inner, bool* ok) {
  std::string out;
  *ok = true;
  for (size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] == '\'') {
      if (i + 1 < inner.size() && inner[i + 1] == '\'') {
        ++i;
      } else {
        *ok = false;
      }
    }
    out += inner[i];
  }
  return out;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The common YAML double-quote escapes, for :"..." atoms.
bool UnescapeDouble(std::string_view inner, std::string* out) {
  for (size_t i = 0; i < inner.size(); ++i) {
    char c = inner[i];
    if (c == '"') return false;
    if (c != '\\') {
      *out += c;
      continue;
    }
    if (++i >= inner.size()) return false;
    switch (inner[i]) {
      case '0':
        *out += '\0';
        break;
      case 'a':
        *out += '\a';
        break;
      case 'b':
        *out += '\b';
        break;
      case 't':
        *out += '\t';
        break;
      case 'n':
        *out += '\n';
        break;
      case 'v':
        *out += '\v';
        break;
      case 'f':
        *out += '\f';
        break;
      case 'r':
        *out += '\r';
        break;
      case 'e':
        *out += '\x1b';
        break;
      case ' ':
        *out += ' ';
        break;
      case '"':
        *out += '"';
        break;
      case '/':
        *out += '/';
        break;
      case '\\':
        *out += '\\';
        break;
      case 'x':
      case 'u':
      case 'U': {
        size_t n = inner[i] == 'x' ? 2 : (inner[i] == 'u' ? 4 : 8);
        if (i + n + 1 > inner.size()) return false;
        uint32_t cp = 0;
        auto [end, ec] = std::from_chars(inner.data() + i + 1, inner.data() + i + 1 + n, cp, 16);
        if (ec != std::errc() || end != inner.data() + i + 1 + n) return false;
        AppendUtf8(cp, out);
        i += n;
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

}  // namespace

Result<Term> ResolveAtomLiteral(std::string_view text) {
  std::string_view rest = text.substr(1);
  if (rest.empty()) {
    return Status::InvalidArgument("':' alone is not an atom; write :'' for the empty atom");
  }
  if (rest[0] == '\'' || rest[0] == '"') {
    char q = rest[0];
    if (rest.size() < 2 || rest.back() != q) {
      return Status::InvalidArgument("atom " + std::string(text) + " has no closing " + q);
    }
    std::string_view inner = rest.substr(1, rest.size() - 2);
    std::string name;
    bool ok;
    if (q == '\'') {
      name = UnescapeSingle(inner, &ok);
    } else {
      ok = UnescapeDouble(inner, &name);
    }
    if (!ok) {
      return Status::InvalidArgument("atom " + std::string(text) +
                                     " is badly quoted (inside :'...' write '' for a quote; "
                                     "or use !atom \"name\")");
    }
    return Term::atom(name);
  }
  return Term::atom(rest);
}

Result<Term> ResolvePlain(std::string_view t) {
  if (t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL" || t == "nil") {
    return Term();
  }
  if (t == "true" || t == "True" || t == "TRUE") return Term(true);
  if (t == "false" || t == "False" || t == "FALSE") return Term(false);
  if (t[0] == ':') return ResolveAtomLiteral(t);
  bool hex = false;
  if (LooksLikeInt(t, &hex)) return ParseInt(t, hex);
  if (LooksLikeFloat(t)) return ParseFloat(t);
  std::string_view u = t;
  bool negative = false;
  if (u[0] == '-' || u[0] == '+') {
    negative = u[0] == '-';
    u.remove_prefix(1);
  }
  if (u == ".inf" || u == ".Inf" || u == ".INF") {
    return Term(negative ? -std::numeric_limits<double>::infinity()
                         : std::numeric_limits<double>::infinity());
  }
  if (t == ".nan" || t == ".NaN" || t == ".NAN") {
    return Term(std::numeric_limits<double>::quiet_NaN());
  }
  return Term(std::string(t));
}

bool IsPlainSyntax(std::string_view s) {
  if (s.empty() || s.back() == ' ') return false;
  char first = s[0];
  if (!(IsAlnum(first) || IsHigh(first) || OneOf(first, "._/$^~<=(+"))) return false;
  if (s.substr(0, 3) == "...") return false;  // a document end marker
  bool high = false;
  for (char c : s) {
    if (IsHigh(c)) {
      high = true;
    } else if (!(IsAlnum(c) || OneOf(c, " ._-/+()=;$^~<>@!&*%|\\'\""))) {
      return false;
    }
  }
  return !high || IsYamlSafeUtf8(s);
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  uint32_t cp;
  while (i < s.size()) {
    if (!NextCodePoint(s, &i, &cp)) return false;
  }
  return true;
}

bool IsYamlSafeUtf8(std::string_view s) {
  size_t i = 0;
  uint32_t cp;
  while (i < s.size()) {
    if (!NextCodePoint(s, &i, &cp) || IsYamlSpecial(cp)) return false;
  }
  return true;
}

std::string DoubleQuote(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "\"";
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    uint32_t cp;
    if (!NextCodePoint(s, &i, &cp)) {
      // Not UTF-8: the closest YAML can say is the code point of that byte.
      cp = static_cast<unsigned char>(s[start]);
      i = start + 1;
      out += "\\x";
      out += kHex[cp >> 4];
      out += kHex[cp & 0xF];
      continue;
    }
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case 0:
        out += "\\0";
        break;
      default:
        if (cp < 0x20 || cp == 0x7F) {
          out += "\\x";
          out += kHex[cp >> 4];
          out += kHex[cp & 0xF];
        } else if (IsYamlSpecial(cp)) {
          out += "\\u";
          for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 0xF];
        } else {
          out.append(s.substr(start, i - start));
        }
    }
  }
  out += '"';
  return out;
}

std::string FormatFloat(double d) {
  if (std::isnan(d)) return ".nan";
  if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, end);
  // Keep a '.' so that the text reads back as a float, not an int.
  size_t e = s.find('e');
  if (s.find('.') == std::string::npos) {
    s.insert(e == std::string::npos ? s.size() : e, ".0");
  }
  return s;
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    for (int shift = 18; shift >= 0; shift -= 6) out += kB64[(v >> shift) & 63];
  }
  size_t left = bytes.size() - i;
  if (left == 1) {
    uint32_t v = at(i) << 16;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (left == 2) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

bool Base64Decode(std::string_view text, std::string* out) {
  uint32_t acc = 0;
  int bits = 0, pad = 0;
  size_t chars = 0;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    ++chars;
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return false;  // data after padding
    const char* p = std::char_traits<char>::find(kB64, 64, c);
    if (p == nullptr) return false;
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return chars % 4 == 0 && pad <= 2;
}

}  // namespace relup::detail
