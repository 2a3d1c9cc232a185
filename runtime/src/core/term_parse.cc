// Term::parse and TermFromYamlNode: yaml-cpp reads the YAML, this file maps
// it to Terms (see term.h for the rules) within limits, because the text may
// come from anybody: a control frame, a command line, a tarball's files.
//
// Term::parse drives yaml-cpp's event parser (YAML::Parser, one document at
// a time, at most two asked for) and builds the Term on an explicit stack:
//   - no recursion of ours follows the input's nesting, and values may nest
//     at most kMaxDepth levels (yaml-cpp's own recursion stops there too,
//     since the limit is hit at the start event of the level too deep);
//   - anchors (&a) and aliases (*a) are refused: a term has no use for them,
//     and they are how 600 bytes become billions of values, or a value
//     contains itself;
//   - only one document: a second one is an error (yaml-cpp's LoadAll could
//     be made to produce empty documents without end from a few bytes);
//   - new atoms made while reading are bounded (detail::TextAtoms).
// TermFromYamlNode converts nodes that a caller loaded (files), with the
// same depth limit, a cap on the values an alias-laden file expands to, and
// the same atom bound.
#include <algorithm>
#include <charconv>
#include <sstream>
#include <string>
#include <vector>

#include "relup/term.h"
#include "relup/term_yaml.h"
#include "term_body.h"
#include "term_prescan.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml_scalar.h"

namespace relup {

namespace {

constexpr std::string_view kCoreTagPrefix = "tag:yaml.org,2002:";

// Limits of every Term read from text (see term.h).
constexpr int kMaxDepth = 256;
constexpr size_t kMaxValues = 4'000'000;

std::string DepthLimit() {
  return "values nest deeper than " + std::to_string(kMaxDepth) +
         " levels (the limit for a term); flatten the data";
}

std::string ValuesLimit() {
  return "the text expands to more than " + std::to_string(kMaxValues) +
         " values (the limit for a term; aliases (*) repeat what they point to): write the "
         "values out, or split the data";
}

// "line L, column C: " (1-based), or nothing for an unknown position.
std::string Where(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return "";
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1) +
         ": ";
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

// A pid or ref: only in text the node printed (ParseHandles::kAllow).
Result<Term> Handle(const std::string& tag, const std::string& text, ParseHandles handles) {
  if (handles == ParseHandles::kRefuse) {
    return Status::InvalidArgument(
        tag + " " + text +
        " is a handle, and handles cannot be written as text: only the node makes pids and refs "
        "(send the process a message that tells it what to do instead)");
  }
  if (tag == detail::kPidTag) {
    RELUP_ASSIGN_OR_RETURN(Pid pid, Pid::parse(text));
    return Term(pid);
  }
  RefKind kind = RefKind::kRef;
  RefKindOfTag(tag, &kind);
  uint64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      id > Term::kMaxRefId) {
    return Status::InvalidArgument("'" + text + "' is not a valid " + tag + " id");
  }
  return Term::ref(kind, id);
}

// A scalar in value position, from its tag ("?" plain, "!" quoted, or an
// explicit tag) and its text. Atoms it makes count against TextAtoms.
Result<Term> ScalarValue(const std::string& tag, const std::string& text, ParseHandles handles) {
  if (RefKind kind; tag == detail::kPidTag || RefKindOfTag(tag, &kind)) {
    return Handle(tag, text, handles);
  }
  if (tag == "?") return detail::ResolvePlain(text);
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return Term(text);
  if (tag == detail::kAtomTag) return Term::atom(text);
  if (tag == "tag:yaml.org,2002:binary" || tag == detail::kStringBase64Tag ||
      tag == detail::kAtomBase64Tag) {
    std::string bytes;
    if (!detail::Base64Decode(text, &bytes)) {
      return Status::InvalidArgument("'" + text + "' is not valid base64 (tagged " + ShortTag(tag) +
                                     ")");
    }
    if (tag == detail::kStringBase64Tag) return Term(std::move(bytes));
    if (tag == detail::kAtomBase64Tag) return Term::atom(bytes);
    return Term::binary(std::move(bytes));
  }
  if (tag.rfind(kCoreTagPrefix, 0) == 0) {
    std::string_view kind = std::string_view(tag).substr(kCoreTagPrefix.size());
    RELUP_ASSIGN_OR_RETURN(Term r, detail::ResolvePlain(text));
    bool fits = (kind == "int" && r.is_int()) || (kind == "float" && r.is_number()) ||
                (kind == "bool" && r.is_bool()) || (kind == "null" && r.is_nil());
    if (!fits) return Status::InvalidArgument("'" + text + "' is not a valid " + ShortTag(tag));
    return kind == "float" ? Term(r.as_float()) : r;
  }
  return Status::InvalidArgument(UnknownTag(tag, "scalar"));
}

// A scalar in key position: a plain key is an atom (":name" forms too).
Result<Term> ScalarKey(const std::string& tag, const std::string& text, ParseHandles handles) {
  if (tag == "?") {
    if (!text.empty() && text[0] == ':') return detail::ResolveAtomLiteral(text);
    return Term::atom(text);
  }
  return ScalarValue(tag, text, handles);
}

// Scalar conversion with the atom bound's exception turned into an error.
template <class F>
Result<Term> Bounded(F&& convert) {
  try {
    return convert();
  } catch (const detail::AtomLimitReached& e) {
    return Status::InvalidArgument(e.what());
  }
}

// Index of the first key equal to an earlier one, or -1. Term::map would
// keep the last of equal keys; in text that is a mistake.
ptrdiff_t DuplicateKey(const std::vector<TermPair>& entries) {
  std::vector<size_t> order(entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return entries[a].first < entries[b].first; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (entries[order[i]].first == entries[order[i - 1]].first) {
      return static_cast<ptrdiff_t>(order[i]);
    }
  }
  return -1;
}

std::string DuplicateKeyText(const Term& key) {
  return "duplicate key " + KeyText(key) + " in map (each key may appear once)";
}

// ---------------------------------------------------------------- nodes (files)

struct ParseError {
  YAML::Mark mark;
  std::string why;
};

class Converter {
 public:
  // Returns false and fills error_ on the first problem.
  bool Value(const YAML::Node& node, Term* out);
  const ParseError& error() const { return error_; }

 private:
  bool Key(const YAML::Node& node, Term* out);
  bool Fail(const YAML::Node& node, std::string why) {
    error_ = {node.Mark(), std::move(why)};
    return false;
  }
  bool FromResult(const YAML::Node& node, Result<Term> r, Term* out) {
    if (!r.ok()) return Fail(node, r.status().message());
    *out = std::move(r).value();
    return true;
  }

  ParseError error_;
  int depth_ = 0;
  size_t values_ = 0;
};

bool Converter::Key(const YAML::Node& node, Term* out) {
  if (node.IsScalar()) {
    return FromResult(
        node, Bounded([&] { return ScalarKey(node.Tag(), node.Scalar(), ParseHandles::kRefuse); }),
        out);
  }
  return Value(node, out);
}

bool Converter::Value(const YAML::Node& node, Term* out) {
  if (++values_ > kMaxValues) return Fail(node, ValuesLimit());
  struct Nest {
    int& depth;
    explicit Nest(int& d) : depth(++d) {}
    ~Nest() { --depth; }
  } nest(depth_);
  if (depth_ > kMaxDepth) return Fail(node, DepthLimit());
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      *out = Term();
      return true;
    case YAML::NodeType::Scalar:
      return FromResult(node, Bounded([&] {
                          return ScalarValue(node.Tag(), node.Scalar(), ParseHandles::kRefuse);
                        }),
                        out);
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
      if (ptrdiff_t dup = DuplicateKey(entries); dup >= 0) {
        return Fail(keys[static_cast<size_t>(dup)],
                    DuplicateKeyText(entries[static_cast<size_t>(dup)].first));
      }
      *out = Term::map(std::move(entries));
      return true;
    }
  }
  return Fail(node, "unexpected YAML node");
}

// ---------------------------------------------------------------- events (Term::parse)

// Thrown by the builder to stop yaml-cpp's parser at the first problem.
struct Stop {
  YAML::Mark mark;
  std::string why;
};

class TermBuilder final : public YAML::EventHandler {
 public:
  explicit TermBuilder(ParseHandles handles) : handles_(handles) {}

  bool done() const { return done_; }
  Term take() { return std::move(root_); }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    NoAnchor(mark, anchor);
    Complete(Term(), mark);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    throw Stop{mark,
               "aliases (*name) are not allowed in a term: write the value out (they let a few "
               "bytes stand for billions of values, or for a value inside itself)"};
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    NoAnchor(mark, anchor);
    bool key = !stack_.empty() && stack_.back().map && !stack_.back().have_key;
    Result<Term> t = Bounded(
        [&] { return key ? ScalarKey(tag, value, handles_) : ScalarValue(tag, value, handles_); });
    if (!t.ok()) throw Stop{mark, t.status().message()};
    Complete(std::move(t).value(), mark);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    NoAnchor(mark, anchor);
    bool tuple = tag == detail::kTupleTag;
    if (!tuple && tag != "?" && tag != "tag:yaml.org,2002:seq") {
      throw Stop{mark, UnknownTag(tag, "sequence")};
    }
    Open(mark, false, tuple);
  }

  void OnSequenceEnd() override {
    Frame f = Close();
    Complete(f.tuple ? Term::tuple(std::move(f.elements)) : Term::list(std::move(f.elements)),
             f.start);
  }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    NoAnchor(mark, anchor);
    if (tag != "?" && tag != "tag:yaml.org,2002:map") throw Stop{mark, UnknownTag(tag, "map")};
    Open(mark, true, false);
  }

  void OnMapEnd() override {
    Frame f = Close();
    if (ptrdiff_t dup = DuplicateKey(f.entries); dup >= 0) {
      throw Stop{f.key_marks[static_cast<size_t>(dup)],
                 DuplicateKeyText(f.entries[static_cast<size_t>(dup)].first)};
    }
    Complete(Term::map(std::move(f.entries)), f.start);
  }

  void OnAnchor(const YAML::Mark& mark, const std::string&) override { NoAnchor(mark, 1); }

 private:
  struct Frame {
    bool map = false;
    bool tuple = false;
    bool have_key = false;
    YAML::Mark start;
    std::vector<Term> elements;         // sequence
    std::vector<TermPair> entries;      // map
    std::vector<YAML::Mark> key_marks;  // map, one per entry
    Term key;
    YAML::Mark key_mark;
  };

  static void NoAnchor(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) {
      throw Stop{mark, "anchors (&name) are not allowed in a term: write the value out"};
    }
  }

  void Open(const YAML::Mark& mark, bool map, bool tuple) {
    if (static_cast<int>(stack_.size()) >= kMaxDepth) throw Stop{mark, DepthLimit()};
    Count(mark);
    Frame f;
    f.map = map;
    f.tuple = tuple;
    f.start = mark;
    stack_.push_back(std::move(f));
  }

  Frame Close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    return f;
  }

  void Count(const YAML::Mark& mark) {
    if (++values_ > kMaxValues) throw Stop{mark, ValuesLimit()};
  }

  // A whole value (scalar, or a closed sequence or map) at `mark`.
  void Complete(Term t, const YAML::Mark& mark) {
    if (stack_.empty()) {
      root_ = std::move(t);
      done_ = true;
      return;
    }
    Frame& top = stack_.back();
    if (!top.map) {
      Count(mark);
      top.elements.push_back(std::move(t));
    } else if (!top.have_key) {
      top.key = std::move(t);
      top.key_mark = mark;
      top.have_key = true;
    } else {
      Count(mark);
      top.entries.emplace_back(std::move(top.key), std::move(t));
      top.key_marks.push_back(top.key_mark);
      top.have_key = false;
    }
  }

  ParseHandles handles_;
  std::vector<Frame> stack_;
  Term root_;
  bool done_ = false;
  size_t values_ = 0;
};

}  // namespace

Result<Term> Term::parse(std::string_view text, ParseHandles handles) {
  RELUP_RETURN_IF_ERROR(detail::PrescanTermText(text, kMaxDepth, DepthLimit()));
  detail::TextAtoms bounded;
  std::string copy(text);  // yaml-cpp reads from a stream
  std::istringstream in(copy);
  TermBuilder builder(handles);
  try {
    YAML::Parser parser(in);
    if (!parser.HandleNextDocument(builder)) return Term();  // empty text: nil
    // A second document (or its start) is text after the term.
    struct Extra final : YAML::EventHandler {
      YAML::Mark at;
      bool seen = false;
      void Note(const YAML::Mark& m) {
        if (!seen) at = m;
        seen = true;
        throw Stop{m, ""};
      }
      void OnDocumentStart(const YAML::Mark& m) override { at = m; }
      void OnDocumentEnd() override {}
      void OnNull(const YAML::Mark& m, YAML::anchor_t) override { Note(m); }
      void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { Note(m); }
      void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                    const std::string&) override {
        Note(m);
      }
      void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                           YAML::EmitterStyle::value) override {
        Note(m);
      }
      void OnSequenceEnd() override {}
      void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                      YAML::EmitterStyle::value) override {
        Note(m);
      }
      void OnMapEnd() override {}
    } extra;
    bool more = false;
    try {
      more = parser.HandleNextDocument(extra);
    } catch (const Stop&) {
      more = true;
    }
    if (more) {
      return Status::InvalidArgument(Where(extra.at) +
                                     "unexpected text after the term (one term per text; "
                                     "is a bracket or quote missing?)");
    }
  } catch (const Stop& stop) {
    return Status::InvalidArgument(Where(stop.mark) + stop.why);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(Where(e.mark) + e.msg);
  } catch (const std::bad_alloc&) {
    return Status::InvalidArgument("the text is too large to read as a term (out of memory)");
  }
  if (!builder.done()) return Term();
  return builder.take();
}

Result<Term> TermFromYamlNode(const YAML::Node& node, std::string_view source_name) {
  detail::TextAtoms bounded;
  Converter conv;
  Term out;
  if (conv.Value(node, &out)) return out;
  const YAML::Mark& m = conv.error().mark;
  std::string msg(source_name);
  if (!m.is_null() && m.line >= 0) {
    msg.append(":")
        .append(std::to_string(m.line + 1))
        .append(":")
        .append(std::to_string(m.column + 1));
  }
  msg += ": " + conv.error().why;
  return Status::InvalidArgument(std::move(msg));
}

YAML::Node TermToYamlNode(const Term& term) {
  return YAML::Load(term.to_yaml());
}

}  // namespace relup
