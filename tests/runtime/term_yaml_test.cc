// The YAML text form of Term: printing, parsing, round trips, errors.
#include "relup/term_yaml.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>

#include "core/term_body.h"
#include "relup/term.h"

using relup::Term;

namespace {

Term Parsed(std::string_view text) {
  auto r = Term::parse(text);
  INFO(text << " -> " << r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

std::string ParseError(std::string_view text) {
  auto r = Term::parse(text);
  INFO(text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == relup::StatusCode::kInvalidArgument);
  return r.status().message();
}

void CheckRoundTrip(const Term& t) {
  std::string text = t.to_yaml();
  INFO("printed: " << text);
  CHECK(text.find('\n') == std::string::npos);
  auto back = Term::parse(text);
  REQUIRE(back.ok());
  CHECK(*back == t);
}

Term A(std::string_view name) {
  return Term::atom(name);
}

}  // namespace

TEST_CASE("the seed text parses to a map from atoms to a string and an int") {
  Term s = Parsed("{name: blackode, money: 30000}");
  CHECK(s == Term::map({{A("name"), Term("blackode")}, {A("money"), Term(30000)}}));
}

TEST_CASE("maps print on one line with keys in sorted order") {
  Term s = Term::map({{A("name"), Term("blackode")}, {A("money"), Term(60000)}});
  CHECK(s.to_yaml() == "{money: 60000, name: blackode}");
  std::ostringstream os;
  os << s;
  CHECK(os.str() == "{money: 60000, name: blackode}");
}

TEST_CASE("a string with a trailing space is printed quoted and reads back the same") {
  Term reply("30000 added to blackode ");
  CHECK(reply.to_yaml() == "\"30000 added to blackode \"");
  CHECK(Parsed(reply.to_yaml()) == reply);
}

TEST_CASE("strings that would read back as something else are quoted") {
  for (const char* s :
       {"true",        "False", "1",   "-5",  "0x1F",  "1.5",  "1e3", ".inf", ".nan",  "~",
        "null",        "nil",   "",    ":ok", "a: b",  "a, b", "[x]", "{x}",  "#x",    "x #y",
        "&a",          "*a",    "!x",  "'q'", "\"q\"", "-x",   "?x",  "x?",   " lead", "tab\there",
        "line\nbreak", "...",   "---", "%x",  "@x",    "`x",   "|x",  ">x"}) {
    INFO(s);
    std::string text = Term(s).to_yaml();
    CHECK(text.front() == '"');
    CHECK(Parsed(text) == Term(s));
  }
}

TEST_CASE("ordinary strings are printed plain") {
  for (const char* s : {"blackode", "hello world", "a.b-c_d/e", "v1.2.3", "x+y=z", "héllo", "it's",
                        "100%", "<0.1.0>"}) {
    CHECK(Term(s).to_yaml() == s);
  }
}

TEST_CASE("scalars print in their text form") {
  CHECK(Term().to_yaml() == "~");
  CHECK(Term(true).to_yaml() == "true");
  CHECK(Term(-5).to_yaml() == "-5");
  CHECK(Term(1.0).to_yaml() == "1.0");
  CHECK(Term(-0.25).to_yaml() == "-0.25");
  CHECK(Term(1e9).to_yaml() == "1.0e+09");
  CHECK(Term(std::numeric_limits<double>::infinity()).to_yaml() == ".inf");
  CHECK(Term(-std::numeric_limits<double>::infinity()).to_yaml() == "-.inf");
  CHECK(Term(std::nan("")).to_yaml() == ".nan");
  CHECK(A("ok").to_yaml() == ":ok");
  CHECK(A("with space").to_yaml() == ":'with space'");
  CHECK(A("a, b").to_yaml() == "!atom \"a, b\"");
  CHECK(Term::binary("hello").to_yaml() == "!!binary aGVsbG8=");
  CHECK(Term::tuple({A("reply"), Term(1)}).to_yaml() == "!tuple [:reply, 1]");
  CHECK(Term::list({Term(1), Term(2), Term(3)}).to_yaml() == "[1, 2, 3]");
  CHECK(Term::map({}).to_yaml() == "{}");
}

TEST_CASE("plain scalars resolve to nil, bool, int, float, atom or string") {
  CHECK(Parsed("~").is_nil());
  CHECK(Parsed("null").is_nil());
  CHECK(Parsed("nil").is_nil());
  CHECK(Parsed("").is_nil());
  CHECK(Parsed("{a: }").at("a").is_nil());
  CHECK(Parsed("true") == Term(true));
  CHECK(Parsed("false") == Term(false));
  CHECK(Parsed("-42") == Term(-42));
  CHECK(Parsed("+7") == Term(7));
  CHECK(Parsed("0x1f") == Term(31));
  CHECK(Parsed("-9223372036854775808") == Term(std::numeric_limits<long long>::min()));
  CHECK(Parsed("1.5") == Term(1.5));
  CHECK(Parsed("1e3") == Term(1000.0));
  CHECK(Parsed("-.inf") == Term(-std::numeric_limits<double>::infinity()));
  CHECK(std::isnan(Parsed(".nan").as_float()));
  CHECK(Parsed(":ok") == A("ok"));
  CHECK(Parsed(":'it''s'") == A("it's"));
  CHECK(Parsed(":\"a\\tb\"") == A("a\tb"));
  CHECK(Parsed("hello world") == Term("hello world"));
  CHECK(Parsed("'1'") == Term("1"));
  CHECK(Parsed("\"true\"") == Term("true"));
}

TEST_CASE("plain map keys are atoms and quoted keys are strings") {
  Term m = Parsed("{add: 1, \"add\": 2, 1: 3, :x: 4}");
  CHECK(m.at("add") == Term(1));
  CHECK(m.at(Term("add")) == Term(2));
  CHECK(m.at("1") == Term(3));  // a plain key is an atom even if it looks like a number
  CHECK(m.at("x") == Term(4));
}

TEST_CASE("keys that are not atoms print so they read back with their type") {
  Term m = Term::map({{Term(1), A("one")},
                      {Term(2.5), Term(true)},
                      {Term(false), Term()},
                      {Term(), Term(0)},
                      {Term("s"), Term(1)},
                      {A("null"), Term(2)},
                      {Term::tuple({Term(1)}), Term(3)},
                      {Term::list({A("k")}), Term(4)},
                      {Term::binary("b"), Term(5)}});
  CHECK(m.to_yaml() ==
        "{~: 0, !!bool false: ~, !!int 1: :one, !!float 2.5: true, :null: 2, \"s\": 1, "
        "!!binary Yg==: 5, !tuple [1]: 3, [:k]: 4}");
  CheckRoundTrip(m);
}

TEST_CASE("tags !tuple, !atom, !!binary and core tags are understood") {
  CHECK(Parsed("!tuple [:reply, 1]") == Term::tuple({A("reply"), Term(1)}));
  CHECK(Parsed("!atom \"a b\"") == A("a b"));
  CHECK(Parsed("!!binary aGVsbG8=") == Term::binary("hello"));
  CHECK(Parsed("!!str 12") == Term("12"));
  CHECK(Parsed("!!float 3") == Term(3.0));
  CHECK(Parsed("!!int 3") == Term(3));
}

TEST_CASE("block-style YAML is accepted too") {
  Term m = Parsed("name: blackode\nmoney: 30000\nitems:\n  - a\n  - 2\n");
  CHECK(m == Term::map({{A("name"), Term("blackode")},
                        {A("money"), Term(30000)},
                        {A("items"), Term::list({Term("a"), Term(2)})}}));
}

TEST_CASE("tricky terms survive a round trip through text") {
  std::vector<Term> tricky = {
      Term(),
      Term(true),
      Term(false),
      Term(0),
      Term(-1),
      Term(std::numeric_limits<long long>::max()),
      Term(std::numeric_limits<long long>::min()),
      Term(0.0),
      Term(-0.0),
      Term(0.1),
      Term(1e300),
      Term(5e-324),
      Term(-1.0),
      Term(1e21),
      Term(123456789.0),
      Term(std::numeric_limits<double>::infinity()),
      Term(std::nan("")),
      A(""),
      A("ok"),
      A("1"),
      A("true"),
      A("~"),
      A("with space"),
      A("it's"),
      A("a, b"),
      A(":colon"),
      A("tab\t"),
      A("ünï"),
      Term(""),
      Term(" "),
      Term("a\"b"),
      Term("back\\slash"),
      Term("\x01\x7f"),
      Term(std::string("nul\0byte", 8)),
      Term("\xe2\x80\xa8"),
      Term("\xef\xbb\xbf"
           "bom"),
      Term("\xff\xfe not utf8"),
      Term("日本語"),
      Term("30000 added to blackode "),
      Term("0x10"),
      Term("1_000"),
      Term("..."),
      Term("a..."),
      Term("~x"),
      Term("-"),
      Term(":"),
      Term::binary(""),
      Term::binary(std::string("\0\xff", 2)),
      Term::tuple({}),
      Term::list({}),
      Term::map({}),
      Term::tuple({Term::tuple({})}),
      Term::list({Term::map({})}),
      Term::map({{A("with space"), Term("v")},
                 {A(""), Term(1)},
                 {Term(""), Term(2)},
                 {A("~"), Term(3)},
                 {Term::map({{A("k"), Term(1)}}), Term(4)}}),
  };
  for (const Term& t : tricky) CheckRoundTrip(t);
}

namespace {

// A random term from a fixed-seed generator: shapes and scalars chosen to hit
// the printer's quoting and tagging decisions.
Term RandomTerm(std::mt19937& rng, int depth) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  static const std::vector<std::string> kWords = {
      "",    "a", "true", "1",  "-2.5", "x y", " pad ", ":",  ":a", "#",
      "a#b", "{", "}",    "[",  ",",    "'",   "\"",    "\\", "\n", "null",
      "~",   "é", "0x",   ".5", "-",    "?",   "!tag",  "&a", "*b", "%"};
  auto word = [&] {
    std::string s;
    for (int i = pick(4); i >= 0; --i)
      s += kWords[static_cast<size_t>(pick(static_cast<int>(kWords.size())))];
    return s;
  };
  int kind = depth <= 0 ? pick(7) : pick(10);
  switch (kind) {
    case 0:
      return Term();
    case 1:
      return Term(pick(2) == 0);
    case 2:
      return Term(static_cast<long long>(rng()) - (1LL << 31));
    case 3:
      return Term(std::ldexp(static_cast<double>(rng()), pick(80) - 40) * (pick(2) ? 1 : -1));
    case 4:
      return Term::atom(word());
    case 5:
      return Term(word());
    case 6: {
      std::string bytes;
      for (int i = pick(6); i > 0; --i) bytes += static_cast<char>(rng());
      return Term::binary(bytes);
    }
    case 7:
    case 8: {
      std::vector<Term> els;
      for (int i = pick(4); i > 0; --i) els.push_back(RandomTerm(rng, depth - 1));
      return kind == 7 ? Term::tuple(els) : Term::list(els);
    }
    default: {
      std::vector<relup::TermPair> es;
      for (int i = pick(4); i > 0; --i)
        es.emplace_back(RandomTerm(rng, depth - 1), RandomTerm(rng, depth - 1));
      return Term::map(es);
    }
  }
}

}  // namespace

TEST_CASE("randomly generated terms survive a round trip through text") {
  std::mt19937 rng(20240611);
  for (int i = 0; i < 2000; ++i) CheckRoundTrip(RandomTerm(rng, 3));
}

TEST_CASE("parse errors say line and column and why") {
  CHECK(ParseError("{a: 1") == "line 1, column 1: end of map flow not found");
  CHECK(ParseError("a: 1\nb: [x").rfind("line 2, column ", 0) == 0);
  CHECK(ParseError("{a: 1, a: 2}") ==
        "line 1, column 8: duplicate key a in map (each key may appear once)");
  CHECK(ParseError("[1, 99999999999999999999]") ==
        "line 1, column 5: integer 99999999999999999999 is out of the 64-bit range "
        "(-9223372036854775808 to 9223372036854775807); quote it to make it a string");
  CHECK(ParseError("{a: !frob 1}").rfind("line 1, column 5: unknown tag !frob on a scalar", 0) ==
        0);
  CHECK(ParseError("!!binary '%%%'") ==
        "line 1, column 1: '%%%' is not valid base64 (tagged !!binary)");
  CHECK(ParseError("!!int abc") == "line 1, column 1: 'abc' is not a valid !!int");
  CHECK(ParseError("[a, :'open]") == "line 1, column 5: atom :'open has no closing '");
}

TEST_CASE("trailing text or a second document is an error") {
  CHECK(ParseError("{a: 1} xyz").rfind("line 1, column 8: unexpected text after the term", 0) == 0);
  CHECK(ParseError("a\n---\nb").rfind("line 3, column 1: unexpected text after the term", 0) == 0);
}

TEST_CASE("TermFromYamlNode converts an embedded node and names the source in errors") {
  YAML::Node doc =
      YAML::Load("release: demo\nargs: {name: blackode, money: 30000}\nbad: {x: 1, x: 2}\n");
  auto args = relup::TermFromYamlNode(doc["args"], "demo-2.yaml");
  REQUIRE(args.ok());
  CHECK(*args == Term::map({{A("name"), Term("blackode")}, {A("money"), Term(30000)}}));
  auto bad = relup::TermFromYamlNode(doc["bad"], "demo-2.yaml");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() ==
        "demo-2.yaml:3:13: duplicate key x in map (each key may appear once)");
}

TEST_CASE("TermToYamlNode gives a node that converts back to the same term") {
  Term t = Term::map({{A("s"), Term("1")}, {A("i"), Term(1)}, {A("t"), Term::tuple({A("ok")})}});
  auto back = relup::TermFromYamlNode(relup::TermToYamlNode(t), "node");
  REQUIRE(back.ok());
  CHECK(*back == t);
}

// ---------------------------------------------------------------- hostile text

TEST_CASE("anchors and aliases are refused: no self-containing value, no alias bomb") {
  CHECK(ParseError("&a [1, *a]") ==
        "line 1, column 1: anchors (&name) are not allowed in a term: write the value out");
  CHECK(ParseError("[1, *a]") == "line 1, column 5: the referenced anchor is not defined");
  // The billion laughs: nine levels of ten aliases each, about 600 bytes.
  std::string bomb = "{a: &a [x,x,x,x,x,x,x,x,x,x]";
  for (char c = 'b'; c <= 'j'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    bomb += std::string(", ") + c + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += (i ? ",*" : "*") + prev;
    bomb += "]";
  }
  bomb += "}";
  CHECK(ParseError(bomb).find("anchors (&name) are not allowed") != std::string::npos);
}

TEST_CASE("values nest at most 256 levels, and the refusal says where and which limit") {
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  CHECK(Parsed(nested(256)).is_list());
  CHECK(ParseError(nested(257)) ==
        "line 1, column 257: values nest deeper than 256 levels (the limit for a term); "
        "flatten the data");
  // Far deeper than the stack could take: refused just the same.
  CHECK(ParseError(nested(1000000)).find("nest deeper than 256 levels") != std::string::npos);
  std::string block;  // "- - - ... x": block sequences nested on one line
  for (int i = 0; i < 3000; ++i) block += "- ";
  CHECK(ParseError(block + "x").find("nest deeper than 256 levels") != std::string::npos);
}

TEST_CASE("every one-byte and two-byte text parses or is refused at once") {
  for (int a = 0; a < 256; ++a) {
    std::string one(1, static_cast<char>(a));
    (void)Term::parse(one);  // must return: no hang, no crash
    for (char b : std::string("\0\n-:[{!&*%?|>#\"", 15)) {
      (void)Term::parse(one + b);
    }
  }
  CHECK(Parsed("---").is_nil());
  CHECK(ParseError("---\n---\n---").find("unexpected text after the term") != std::string::npos);
}

TEST_CASE("atoms that are not UTF-8 survive a round trip through text") {
  for (std::string name : {std::string("\xff\xfe"), std::string("a\x80z"), std::string("\xc3")}) {
    Term atom = Term::atom(name);
    INFO(atom.to_yaml());
    CheckRoundTrip(atom);
    CheckRoundTrip(Term::map({{atom, Term(1)}}));
  }
}

TEST_CASE("text cannot grow the atom table without bound: past the limit a new atom is refused") {
  using relup::detail::AtomCount;
  using relup::detail::SetAtomLimitForText;
  size_t old = SetAtomLimitForText(AtomCount() + 3);
  struct Restore {
    size_t limit;
    ~Restore() { SetAtomLimitForText(limit); }
  } restore{old};
  std::string base = "atom_limit_probe_" + std::to_string(AtomCount()) + "_";
  CHECK(Parsed("{" + base + "1: 1, " + base + "2: 2, :" + base + "3: 3}").size() == 3);
  std::string why = ParseError("{" + base + "4: 4}");
  CHECK(why.find("line 1, column 2: the atom table already holds") == 0);
  CHECK(why.find("write it quoted (a string) instead") != std::string::npos);
  CHECK(ParseError(":" + base + "5").find("text may not add more") != std::string::npos);
  CHECK(ParseError("!atom " + base + "6").find("text may not add more") != std::string::npos);
  // Atoms that exist still read, a quoted key is a string, and the program's own atoms are free.
  CHECK(Parsed("{" + base + "1: x}").size() == 1);
  CHECK(Parsed("{\"" + base + "7\": 1}").entries()[0].first.is_string());
  CHECK(Term::atom(base + "8").as_atom() == base + "8");
}

TEST_CASE("a text with more than a million values is refused before it is parsed") {
  std::string flat = "[" + std::string(2'000'000, '1');
  for (size_t i = 2; i < flat.size(); i += 2) flat[i] = ',';
  flat += "]";
  CHECK(ParseError(flat).find("more than 1000000 values (the limit for a term)") !=
        std::string::npos);
  // Brackets and commas inside quoted strings, comments or words are no structure.
  std::string quoted =
      "[\"" + std::string(300, '[') + std::string(1'100'000, ',') + "\", 'a[b', it's]";
  auto t = Term::parse(quoted);
  INFO(t.status().ToString());
  REQUIRE(t.ok());
  CHECK(t->size() == 3);
  CHECK(Parsed("[a, b] # [[[[ , , ,").size() == 2);
}

TEST_CASE("an atom made from text may not be longer than 255 bytes") {
  std::string name(256, 'a');
  CHECK(ParseError("{" + name + ": 1}").find("at most 255 bytes") != std::string::npos);
  CHECK(ParseError(":" + name).find("at most 255 bytes") != std::string::npos);
  CHECK(Parsed("{\"" + name + "\": 1}").entries()[0].first.is_string());
  CHECK(Parsed("{" + name.substr(0, 255) + ": 1}").entries()[0].first.is_atom());
}

TEST_CASE("a map key longer than YAML's 1024-character implicit key survives a round trip") {
  std::vector<Term> long_list(200, Term(1234567890));
  CheckRoundTrip(Term::map({{Term::list(long_list), Term("x")}, {Term::atom("a"), Term(1)}}));
  CheckRoundTrip(Term::map({{Term(std::string(2000, 'k')), Term(1)}}));
}
