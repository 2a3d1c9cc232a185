// relup verify TARBALL [--trust PUBKEY|DIR]...: checks a release tarball
// against its MANIFEST and its own release.yaml, and says who signed it
// ("signed by key ID" or "unsigned"). Names every tampered, missing or extra
// file; exits kExitVerifyFailed if anything is wrong.
//
// With --trust (repeatable: a NAME.pub, or a directory of *.pub), the
// tarball must also be signed by one of those keys, as a node started with
// the same --trust requires (release/signing.h, CheckSignature): unsigned,
// signed by another key, made for another MANIFEST, a signature that does
// not verify and a garbled SIGNATURE each fail with their own message. A bad
// --trust is a bad command line (kExitUsage), or kExitFailure when a key
// cannot be read.
#include <cstdio>
#include <optional>

#include "builder/inspect.h"
#include "cmd/build_common.h"
#include "cmd/node_client_util.h"
#include "command.h"
#include "release/signing.h"
#include "release/tarball.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string tarball;
    std::vector<std::string> trust;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  sub.add_option("tarball", args->tarball, "release tarball")->required();
  sub.add_option("--trust", args->trust,
                 "public key (NAME.pub) or directory of *.pub: the tarball must be signed by "
                 "one of them (repeatable)")
      ->allow_extra_args(false);
  sub.add_flag("--json", args->json,
               "print {ok, files, problems, signed, key_id, trusted} as JSON");
  return [args] {
    std::vector<PublicKey> trusted;
    for (const std::string& path : args->trust) {
      auto keys = LoadTrustedKeys(path);
      if (!keys.ok()) {
        StatusCode c = keys.status().code();
        auto status = keys.status().WithContext("--trust");
        return c == StatusCode::kNotFound || c == StatusCode::kInvalidArgument
                   ? UsageError("verify", status)
                   : ReportError("verify", status);
      }
      for (PublicKey& k : *keys) trusted.push_back(std::move(k));
    }
    auto files = ReadTarball(args->tarball);
    if (!files.ok()) return TarballOpenFailure("verify", args->tarball, files.status());
    std::vector<std::string> problems = build::VerifyReleaseFiles(*files, args->tarball);
    // Who signed it; a SIGNATURE that does not parse or names another
    // MANIFEST is among the problems already.
    auto signature = ReadSignature(*files, args->tarball);
    std::optional<std::string> key_id;
    if (signature.ok() && signature->has_value()) key_id = (*signature)->key_id;
    // With --trust: the problem that refuses it (printed as is: it names the tarball).
    std::string untrusted;
    if (!trusted.empty() && signature.ok()) {
      auto checked = CheckSignature(*files, trusted, args->tarball);
      if (!checked.ok()) untrusted = checked.status().message();
    }
    bool ok = problems.empty() && untrusted.empty();
    if (args->json) {
      std::vector<Term> list;
      for (const auto& p : problems) list.push_back(Term(p));
      if (!untrusted.empty()) list.push_back(Term(untrusted));
      // Files other than MANIFEST and SIGNATURE (either may be missing).
      size_t count = files->size() - files->count("MANIFEST") - files->count(kSignaturePath);
      PrintLine(ToJson(Term::map({{Term::atom("ok"), Term(ok)},
                                  {Term::atom("files"), Term(static_cast<long long>(count))},
                                  {Term::atom("problems"), Term::list(std::move(list))},
                                  {Term::atom("signed"), Term(files->count(kSignaturePath) == 1)},
                                  {Term::atom("key_id"), key_id ? Term(*key_id) : Term()},
                                  {Term::atom("trusted"),
                                   // Trusted only when the whole tarball verifies: a good signature
                                   // over a MANIFEST that a tampered file no longer matches is not.
                                   trusted.empty() ? Term() : Term(ok && key_id.has_value())}})));
    } else if (ok) {
      size_t count = files->size() - files->count("MANIFEST") - files->count(kSignaturePath);
      std::string who = !key_id           ? "unsigned"
                        : trusted.empty() ? "signed by key " + *key_id
                                          : "signed by trusted key " + *key_id;
      std::printf("%s: ok (%zu files match MANIFEST), %s\n", args->tarball.c_str(), count,
                  who.c_str());
    } else {
      for (const auto& p : problems)
        std::fprintf(stderr, "%s: %s\n", args->tarball.c_str(), p.c_str());
      if (!untrusted.empty()) std::fprintf(stderr, "%s\n", untrusted.c_str());
      size_t n = problems.size() + (untrusted.empty() ? 0 : 1);
      std::fprintf(stderr, "relup verify: %s FAILED (%zu problem%s)\n", args->tarball.c_str(), n,
                   n == 1 ? "" : "s");
    }
    return static_cast<int>(ok ? kExitOk : kExitVerifyFailed);
  };
}

RELUP_COMMAND("verify", "check a release tarball against its MANIFEST (and --trust: its signer)",
              Setup);

}  // namespace
}  // namespace relup::cli
