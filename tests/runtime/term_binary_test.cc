// The binary form of Term that a node and its trial process exchange
// (core/term_binary.h): every term comes back equal, and damaged input is an
// error, never a crash.
#include "core/term_binary.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>

using relup::Pid;
using relup::RefKind;
using relup::Term;
using relup::detail::DecodeTerm;
using relup::detail::EncodeTerm;

namespace {

Term RoundTrip(const Term& t) {
  std::string bytes;
  EncodeTerm(t, &bytes);
  std::string_view in = bytes;
  auto back = DecodeTerm(&in);
  REQUIRE(back.ok());
  CHECK(in.empty());
  return *back;
}

Term Sample() {
  return Term::map({
      {Term::atom("ints"),
       Term::list({0, 1, -1, 63, -64, 64, std::numeric_limits<int64_t>::max(),
                   Term(static_cast<long long>(std::numeric_limits<int64_t>::min()))})},
      {Term::atom("floats"),
       Term::list({0.5, -0.0, 1e300, std::numeric_limits<double>::infinity()})},
      {Term("a string key"), Term::tuple({Term(), true, false, Term::atom("ok")})},
      {Term::atom("handles"), Term::list({Term(Pid{42}), Term::ref(RefKind::kTimer, 7),
                                          Term::ref(RefKind::kSocket, Term::kMaxRefId)})},
      {Term::atom("bytes"), Term::binary(std::string("\0\xff\x01", 3))},
      {Term::atom("empty"), Term::tuple({Term::list({}), Term::map({}), Term(""), Term::atom("")})},
  });
}

}  // namespace

TEST_CASE("every term comes back from its binary form equal, handles included") {
  CHECK(RoundTrip(Sample()) == Sample());
  Term nan = RoundTrip(Term(std::nan("")));
  CHECK(std::isnan(nan.as_float()));
  Term deep = Term(1);
  for (int i = 0; i < 1000; ++i) deep = Term::tuple({deep});
  CHECK(RoundTrip(deep) == deep);
}

TEST_CASE("terms back to back in one buffer decode one at a time") {
  std::string bytes;
  EncodeTerm(Term(1), &bytes);
  EncodeTerm(Sample(), &bytes);
  EncodeTerm(Term::atom("last"), &bytes);
  std::string_view in = bytes;
  CHECK(*DecodeTerm(&in) == Term(1));
  CHECK(*DecodeTerm(&in) == Sample());
  CHECK(*DecodeTerm(&in) == Term::atom("last"));
  CHECK(in.empty());
}

TEST_CASE("a truncated or damaged binary term is an error, never a crash or a huge allocation") {
  std::string bytes;
  EncodeTerm(Sample(), &bytes);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    std::string_view in(bytes.data(), cut);
    CHECK_FALSE(DecodeTerm(&in).ok());
  }
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::string damaged = bytes;
    damaged[rng() % damaged.size()] = static_cast<char>(rng());
    std::string_view in = damaged;
    (void)DecodeTerm(&in);  // ok or an error: either way no crash
  }
  // A list claiming 2^60 elements in a 12-byte buffer.
  std::string huge = "\x0b\x80\x80\x80\x80\x80\x80\x80\x80\x10";
  std::string_view in = huge;
  auto r = DecodeTerm(&in);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains("count"));
  // A map whose key repeats.
  std::string dup;
  dup.push_back(12);
  dup.push_back(2);
  for (int i = 0; i < 2; ++i) {
    EncodeTerm(Term::atom("k"), &dup);
    EncodeTerm(Term(i), &dup);
  }
  in = dup;
  r = DecodeTerm(&in);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains("repeats"));
  // Nesting past the limit.
  std::string deep;
  for (size_t i = 0; i < relup::detail::kMaxBinaryDepth + 2; ++i) deep += "\x0a\x01";
  deep += '\0';
  in = deep;
  r = DecodeTerm(&in);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains("deep"));
}
