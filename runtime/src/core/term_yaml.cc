// Term::to_yaml: the one-line flow YAML text form (see term.h).
#include <string>

#include "relup/term.h"
#include "yaml_scalar.h"

namespace relup {

namespace {

using detail::DoubleQuote;

bool IsAtomIdentChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         static_cast<unsigned char>(c) >= 0x80 || c == '_' || c == '.' || c == '-' || c == '/' ||
         c == '+' || c == '@' || c == '$';
}

// Atom in value position: :name, :'odd name', or !atom "anything".
void AppendAtom(std::string_view name, std::string* out) {
  bool ident = !name.empty();
  bool single_quotable = true;
  for (char c : name) {
    if (!IsAtomIdentChar(c)) ident = false;
    // Inside :'...' the whole thing is still a plain scalar, so flow
    // indicators, ':' and '#' must stay out.
    if (!(IsAtomIdentChar(c) || c == ' ' || c == '\'' || c == '(' || c == ')' || c == '=' ||
          c == ';' || c == '^' || c == '~' || c == '<' || c == '>' || c == '!' || c == '&' ||
          c == '*' || c == '%' || c == '|' || c == '\\' || c == '"')) {
      single_quotable = false;
    }
  }
  bool utf8 = detail::IsYamlSafeUtf8(name);
  if (!detail::IsValidUtf8(name)) {
    // YAML text cannot carry these bytes: base64, as for such strings.
    out->append(detail::kAtomBase64Tag);
    *out += " \"";
    *out += detail::Base64Encode(name);
    *out += '"';
    return;
  }
  if (ident && utf8) {
    *out += ':';
    out->append(name);
  } else if (single_quotable && utf8) {
    *out += ":'";
    for (char c : name) {
      if (c == '\'') *out += '\'';
      *out += c;
    }
    *out += '\'';
  } else {
    out->append(detail::kAtomTag);
    *out += ' ';
    *out += DoubleQuote(name);
  }
}

void AppendString(const std::string& s, std::string* out) {
  if (!detail::IsValidUtf8(s)) {
    out->append(detail::kStringBase64Tag);
    *out += " \"";
    *out += detail::Base64Encode(s);
    *out += '"';
    return;
  }
  if (detail::IsPlainSyntax(s)) {
    Result<Term> back = detail::ResolvePlain(s);
    if (back.ok() && back->is_string() && back->as_string() == s) {
      *out += s;
      return;
    }
  }
  *out += DoubleQuote(s);
}

void AppendValue(const Term& t, std::string* out);

// Map keys: a plain key is an atom, so everything else is made explicit.
void AppendKey(const Term& k, std::string* out) {
  switch (k.type()) {
    case Term::Type::kNil:
      *out += '~';
      return;
    case Term::Type::kAtom: {
      std::string_view name = k.as_atom();
      // yaml-cpp reads these plain keys as null, losing the text.
      bool null_like = name == "~" || name == "null" || name == "Null" || name == "NULL";
      if (detail::IsPlainSyntax(name) && !null_like) {
        out->append(name);
      } else {
        AppendAtom(name, out);
      }
      return;
    }
    case Term::Type::kString:
      if (detail::IsValidUtf8(k.as_string())) {
        *out += DoubleQuote(k.as_string());
      } else {
        AppendString(k.as_string(), out);
      }
      return;
    case Term::Type::kBool:
      *out += "!!bool ";
      break;
    case Term::Type::kInt:
      *out += "!!int ";
      break;
    case Term::Type::kFloat:
      *out += "!!float ";
      break;
    default:
      break;
  }
  AppendValue(k, out);
}

// YAML limits an implicit key to 1024 characters: a longer one (a big tuple
// or a long string as a key) is written as an explicit key, "? KEY: VALUE",
// which reads back the same (the fuzzer found the round trip broken).
void AppendLongKeySafe(const Term& k, std::string* out) {
  std::string key;
  AppendKey(k, &key);
  if (key.size() > 1000) *out += "? ";
  *out += key;
}

void AppendValue(const Term& t, std::string* out) {
  switch (t.type()) {
    case Term::Type::kNil:
      *out += '~';
      return;
    case Term::Type::kBool:
      *out += t.as_bool() ? "true" : "false";
      return;
    case Term::Type::kInt:
      *out += std::to_string(t.as_int());
      return;
    case Term::Type::kFloat:
      *out += detail::FormatFloat(t.as_float());
      return;
    case Term::Type::kAtom:
      AppendAtom(t.as_atom(), out);
      return;
    case Term::Type::kPid:
      out->append(detail::kPidTag);
      *out += ' ';
      *out += t.as_pid().to_string();
      return;
    case Term::Type::kRef:
      *out += '!';
      out->append(Term::ref_kind_name(t.ref_kind()));
      *out += ' ';
      *out += std::to_string(t.ref_id());
      return;
    case Term::Type::kString:
      AppendString(t.as_string(), out);
      return;
    case Term::Type::kBinary:
      *out += "!!binary ";
      if (t.as_binary().empty()) {
        *out += "\"\"";
      } else {
        *out += detail::Base64Encode(t.as_binary());
      }
      return;
    case Term::Type::kTuple:
    case Term::Type::kList: {
      if (t.is_tuple()) {
        out->append(detail::kTupleTag);
        *out += ' ';
      }
      *out += '[';
      bool first = true;
      for (const Term& e : t.elements()) {
        if (!first) *out += ", ";
        first = false;
        AppendValue(e, out);
      }
      *out += ']';
      return;
    }
    case Term::Type::kMap: {
      *out += '{';
      bool first = true;
      for (const auto& [k, v] : t.entries()) {
        if (!first) *out += ", ";
        first = false;
        AppendLongKeySafe(k, out);
        *out += ": ";
        AppendValue(v, out);
      }
      *out += '}';
      return;
    }
  }
}

}  // namespace

std::string Term::to_yaml() const {
  std::string out;
  AppendValue(*this, &out);
  return out;
}

}  // namespace relup
