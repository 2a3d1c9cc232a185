// Term::parse and TermFromYamlNode: yaml-cpp does the YAML, this file maps
// nodes to Terms (see term.h for the rules).
#include <algorithm>
#include <charconv>
#include <string>

#include "relup/term.h"
#include "relup/term_yaml.h"
#include "yaml_scalar.h"

namespace relup {

namespace {

constexpr std::string_view kCoreTagPrefix = "tag:yaml.org,2002:";

// An error found at a node, before it is formatted for the caller.
struct ParseError {
  YAML::Mark mark;
  std::string why;
};

class Converter {
 public:
  explicit Converter(ParseHandles handles = ParseHandles::kRefuse) : handles_(handles) {}

  // Returns false and fills error_ on the first problem.
  bool Value(const YAML::Node& node, Term* out);
  const ParseError& error() const { return error_; }

 private:
  bool Key(const YAML::Node& node, Term* out);
  bool Scalar(const YAML::Node& node, Term* out);
  bool Handle(const YAML::Node& node, std::string_view kind, Term* out);
  bool Fail(const YAML::Node& node, std::string why) {
    error_ = {node.Mark(), std::move(why)};
    return false;
  }
  bool FromResult(const YAML::Node& node, Result<Term> r, Term* out) {
    if (!r.ok()) return Fail(node, r.status().message());
    *out = std::move(r).value();
    return true;
  }

  ParseHandles handles_;
  ParseError error_;
};

// The ref kind a tag names ("!timer" -> kTimer), if it names one.
bool RefKindOfTag(std::string_view tag, RefKind* kind) {
  for (RefKind k : {RefKind::kRef, RefKind::kTimer, RefKind::kMonitor, RefKind::kSocket}) {
    std::string_view name = Term::ref_kind_name(k);
    if (tag.size() == name.size() + 1 && tag[0] == '!' && tag.substr(1) == name) {
      *kind = k;
      return true;
    }
  }
  return false;
}

// A key as the user wrote it, e.g. `name` for the atom key name.
std::string KeyText(const Term& key) {
  std::string s = Term::map({{key, Term()}}).to_yaml();  // "{KEY: ~}"
  return s.substr(1, s.size() - 5);
}

std::string ShortTag(const std::string& tag) {
  if (tag.rfind(kCoreTagPrefix, 0) == 0) return "!!" + tag.substr(kCoreTagPrefix.size());
  return tag;
}

std::string UnknownTag(const std::string& tag, std::string_view what) {
  return "unknown tag " + ShortTag(tag) + " on a " + std::string(what) +
         " (relup knows !tuple on a sequence; !atom, !!binary, !!str, !!int, !!float, !!bool, "
         "!!null on a scalar, and the node's handles !pid, !ref, !timer, !monitor, !socket)";
}

// A pid or ref: only in text the node printed (ParseHandles::kAllow).
bool Converter::Handle(const YAML::Node& node, std::string_view tag, Term* out) {
  const std::string& text = node.Scalar();
  if (handles_ == ParseHandles::kRefuse) {
    return Fail(node, std::string(tag) + " " + text +
                          " is a handle, and handles cannot be written as text: only the node "
                          "makes pids and refs (send the process a message that tells it what "
                          "to do instead)");
  }
  if (tag == detail::kPidTag) {
    Result<Pid> pid = Pid::parse(text);
    if (!pid.ok()) return Fail(node, pid.status().message());
    *out = Term(*pid);
    return true;
  }
  RefKind kind = RefKind::kRef;
  RefKindOfTag(tag, &kind);
  uint64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      id > Term::kMaxRefId) {
    return Fail(node, "'" + text + "' is not a valid " + std::string(tag) + " id");
  }
  *out = Term::ref(kind, id);
  return true;
}

bool Converter::Scalar(const YAML::Node& node, Term* out) {
  const std::string& tag = node.Tag();
  const std::string& text = node.Scalar();
  if (RefKind kind; tag == detail::kPidTag || RefKindOfTag(tag, &kind)) {
    return Handle(node, tag, out);
  }
  if (tag == "?") return FromResult(node, detail::ResolvePlain(text), out);
  if (tag == "!" || tag == "tag:yaml.org,2002:str") {
    *out = Term(text);
    return true;
  }
  if (tag == detail::kAtomTag) {
    *out = Term::atom(text);
    return true;
  }
  if (tag == "tag:yaml.org,2002:binary" || tag == detail::kStringBase64Tag) {
    std::string bytes;
    if (!detail::Base64Decode(text, &bytes)) {
      return Fail(node, "'" + text + "' is not valid base64 (tagged " + ShortTag(tag) + ")");
    }
    *out =
        tag == detail::kStringBase64Tag ? Term(std::move(bytes)) : Term::binary(std::move(bytes));
    return true;
  }
  if (tag.rfind(kCoreTagPrefix, 0) == 0) {
    std::string_view kind = std::string_view(tag).substr(kCoreTagPrefix.size());
    Result<Term> r = detail::ResolvePlain(text);
    if (!r.ok()) return Fail(node, r.status().message());
    bool fits = (kind == "int" && r->is_int()) || (kind == "float" && r->is_number()) ||
                (kind == "bool" && r->is_bool()) || (kind == "null" && r->is_nil());
    if (!fits) return Fail(node, "'" + text + "' is not a valid " + ShortTag(tag));
    *out = kind == "float" ? Term(r->as_float()) : std::move(r).value();
    return true;
  }
  return Fail(node, UnknownTag(tag, "scalar"));
}

bool Converter::Key(const YAML::Node& node, Term* out) {
  if (node.IsScalar() && node.Tag() == "?") {
    const std::string& text = node.Scalar();
    if (!text.empty() && text[0] == ':')
      return FromResult(node, detail::ResolveAtomLiteral(text), out);
    *out = Term::atom(text);
    return true;
  }
  return Value(node, out);
}

bool Converter::Value(const YAML::Node& node, Term* out) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      *out = Term();
      return true;
    case YAML::NodeType::Scalar:
      return Scalar(node, out);
    case YAML::NodeType::Sequence: {
      const std::string& tag = node.Tag();
      bool tuple = tag == detail::kTupleTag;
      if (!tuple && tag != "?" && tag != "tag:yaml.org,2002:seq") {
        return Fail(node, UnknownTag(tag, "sequence"));
      }
      std::vector<Term> elements;
      elements.reserve(node.size());
      for (const YAML::Node& e : node) {
        Term t;
        if (!Value(e, &t)) return false;
        elements.push_back(std::move(t));
      }
      *out = tuple ? Term::tuple(std::move(elements)) : Term::list(std::move(elements));
      return true;
    }
    case YAML::NodeType::Map: {
      const std::string& tag = node.Tag();
      if (tag != "?" && tag != "tag:yaml.org,2002:map") return Fail(node, UnknownTag(tag, "map"));
      std::vector<TermPair> entries;
      std::vector<YAML::Node> keys;
      entries.reserve(node.size());
      for (auto it = node.begin(); it != node.end(); ++it) {
        Term k, v;
        if (!Key(it->first, &k) || !Value(it->second, &v)) return false;
        entries.emplace_back(std::move(k), std::move(v));
        keys.push_back(it->first);
      }
      // Term::map would keep the last of equal keys; in text that is a mistake.
      std::vector<size_t> order(entries.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t a, size_t b) { return entries[a].first < entries[b].first; });
      for (size_t i = 1; i < order.size(); ++i) {
        if (entries[order[i]].first == entries[order[i - 1]].first) {
          return Fail(keys[order[i]], "duplicate key " + KeyText(entries[order[i]].first) +
                                          " in map (each key may appear once)");
        }
      }
      *out = Term::map(std::move(entries));
      return true;
    }
  }
  return Fail(node, "unexpected YAML node");
}

// "line L, column C: " (1-based), or nothing for an unknown position.
std::string Where(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return "";
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1) +
         ": ";
}

}  // namespace

Result<Term> Term::parse(std::string_view text, ParseHandles handles) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(Where(e.mark) + e.msg);
  }
  if (docs.empty()) return Term();
  if (docs.size() > 1) {
    return Status::InvalidArgument(Where(docs[1].Mark()) +
                                   "unexpected text after the term (one term per text; "
                                   "is a bracket or quote missing?)");
  }
  Converter conv(handles);
  Term out;
  if (!conv.Value(docs[0], &out)) {
    return Status::InvalidArgument(Where(conv.error().mark) + conv.error().why);
  }
  return out;
}

Result<Term> TermFromYamlNode(const YAML::Node& node, std::string_view source_name) {
  Converter conv;
  Term out;
  if (conv.Value(node, &out)) return out;
  const YAML::Mark& m = conv.error().mark;
  std::string msg(source_name);
  if (!m.is_null() && m.line >= 0) {
    msg += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }
  msg += ": " + conv.error().why;
  return Status::InvalidArgument(std::move(msg));
}

YAML::Node TermToYamlNode(const Term& term) {
  return YAML::Load(term.to_yaml());
}

}  // namespace relup
