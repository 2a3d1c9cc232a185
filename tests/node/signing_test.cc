// Signed release tarballs, the library (release/signing.h): key files and
// their ids, the SIGNATURE entry's format, and each way a tarball fails the
// trusted keys.
#include "release/signing.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "raw_tarball.h"
#include "release/tarball.h"

namespace relup {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/relup-sign-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
  std::string path;
};

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

unsigned Mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

void WriteFile(const std::string& path, const std::string& text, mode_t mode = 0600) {
  { std::ofstream(path, std::ios::binary) << text; }
  fs::permissions(path, static_cast<fs::perms>(mode));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A key pair in `dir` named `name`: the loaded private key and public key.
struct TestKey {
  PrivateKey priv;
  PublicKey pub;
};
TestKey MakeKey(const TempDir& dir, const std::string& name) {
  auto files = GenerateKeyFiles(dir.path, name);
  REQUIRE(files.ok());
  auto priv = LoadPrivateKey(files->private_path);
  REQUIRE(priv.ok());
  auto pub = LoadPublicKey(files->public_path);
  REQUIRE(pub.ok());
  return {*priv, *pub};
}

// The files of a small signed "tarball" (no release in it: MANIFEST and
// SIGNATURE are all the signature code looks at).
ReleaseFiles SignedFiles(const PrivateKey& key, const std::string& content = "hello\n") {
  ReleaseFiles files;
  files["lib/a-1/a.so"] = content;
  files[kManifestPath] = MakeManifest(files);
  auto signature = SignManifest(key, files[kManifestPath]);
  REQUIRE(signature.ok());
  files[kSignaturePath] = *signature;
  return files;
}

TEST_CASE("keygen files: the private key is 0600 PKCS#8 PEM, the public key 0644, same key id",
          "[signing]") {
  TempDir dir;
  std::string keydir = dir.file("keys");
  auto files = GenerateKeyFiles(keydir, "ci");
  REQUIRE(files.ok());
  CHECK(files->private_path == keydir + "/ci.key");
  CHECK(files->public_path == keydir + "/ci.pub");
  CHECK(Mode(keydir) == 0700);  // created
  CHECK(Mode(files->private_path) == 0600);
  CHECK(Mode(files->public_path) == 0644);
  CHECK(Has(ReadFile(files->private_path), "-----BEGIN PRIVATE KEY-----"));
  CHECK(Has(ReadFile(files->public_path), "-----BEGIN PUBLIC KEY-----"));
  REQUIRE(files->id.size() == 16);
  auto priv = LoadPrivateKey(files->private_path);
  REQUIRE(priv.ok());
  auto pub = LoadPublicKey(files->public_path);
  REQUIRE(pub.ok());
  CHECK(priv->id() == files->id);
  CHECK(pub->id == files->id);
  // The id is the start of SHA-256 of the raw 32-byte public key.
  CHECK(pub->raw.size() == 32);
  CHECK(pub->id == Sha256Hex(pub->raw).substr(0, 16));
  CHECK(KeyId(pub->raw) == pub->id);
}

TEST_CASE("keygen never overwrites a key file, and writes nothing when either exists",
          "[signing]") {
  TempDir dir;
  auto first = GenerateKeyFiles(dir.path, "relup");
  REQUIRE(first.ok());
  std::string before = ReadFile(first->private_path);
  auto again = GenerateKeyFiles(dir.path, "relup");
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == StatusCode::kAlreadyExists);
  CHECK(Has(again.status().message(), first->private_path + " already exists"));
  CHECK(ReadFile(first->private_path) == before);

  // Only NAME.pub there: NAME.key is not created either.
  WriteFile(dir.file("other.pub"), "x", 0644);
  auto half = GenerateKeyFiles(dir.path, "other");
  REQUIRE_FALSE(half.ok());
  CHECK(Has(half.status().message(), dir.file("other.pub") + " already exists"));
  CHECK_FALSE(fs::exists(dir.file("other.key")));

  auto bad = GenerateKeyFiles(dir.path, "../escape");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("SIGNATURE is five strict lines, deterministic, and verifies with the signer's key only",
          "[signing]") {
  TempDir dir;
  TestKey a = MakeKey(dir, "a");
  TestKey b = MakeKey(dir, "b");
  std::string manifest = "0000  lib/a-1/a.so\n";
  auto text = SignManifest(a.priv, manifest);
  REQUIRE(text.ok());
  auto again = SignManifest(a.priv, manifest);
  REQUIRE(again.ok());
  CHECK(*text == *again);  // Ed25519 is deterministic: builds stay reproducible
  CHECK(text->rfind("relup-signature 1\nalgorithm ed25519\nkey-id " + a.pub.id +
                        "\nmanifest-sha256 " + Sha256Hex(manifest) + "\nsignature ",
                    0) == 0);
  CHECK(text->size() < kMaxSignatureBytes);

  auto parsed = ParseSignature(*text, "t.tar.gz");
  REQUIRE(parsed.ok());
  CHECK(parsed->key_id == a.pub.id);
  CHECK(parsed->manifest_sha256 == Sha256Hex(manifest));
  CHECK(parsed->signature.size() == 64);
  CHECK(SignatureVerifies(a.pub, *parsed));
  CHECK_FALSE(SignatureVerifies(b.pub, *parsed));

  ManifestSignature other = *parsed;
  other.manifest_sha256 = Sha256Hex("another manifest");
  CHECK_FALSE(SignatureVerifies(a.pub, other));
  ManifestSignature flipped = *parsed;
  flipped.signature[10] ^= 1;
  CHECK_FALSE(SignatureVerifies(a.pub, flipped));
}

TEST_CASE("a truncated or garbled SIGNATURE is refused, naming the line", "[signing]") {
  TempDir dir;
  TestKey a = MakeKey(dir, "a");
  auto text = SignManifest(a.priv, "m\n");
  REQUIRE(text.ok());
  // Every truncation fails.
  for (size_t n = 0; n < text->size(); ++n) {
    auto parsed = ParseSignature(text->substr(0, n), "t.tar.gz");
    INFO(n);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().code() == StatusCode::kCorruption);
    CHECK(Has(parsed.status().message(), "t.tar.gz: SIGNATURE:"));
  }
  auto truncated = ParseSignature(text->substr(0, 40), "t.tar.gz");
  CHECK(Has(truncated.status().message(), "truncated or garbled"));

  auto extra = ParseSignature(*text + "more\n", "t");
  CHECK(Has(extra.status().message(), "SIGNATURE:6: unexpected text"));
  std::string upper = *text;
  for (size_t i = upper.find("\nsignature ") + 11; i < upper.size(); ++i) {
    upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
  }
  CHECK(Has(ParseSignature(upper, "t").status().message(), "SIGNATURE:5: signature is not 128"));
  std::string v2 = *text;
  v2.replace(0, 17, "relup-signature 2");
  CHECK(Has(ParseSignature(v2, "t").status().message(), "format version '2'"));
  std::string rsa = *text;
  rsa.replace(rsa.find("ed25519"), 7, "rsa4096");
  CHECK(Has(ParseSignature(rsa, "t").status().message(), "algorithm 'rsa4096' is not supported"));
  CHECK(Has(ParseSignature("garbage\n", "t").status().message(),
            "SIGNATURE:1: expected 'relup-signature <1>', found 'garbage'"));
}

TEST_CASE("a private key readable by others is refused the way ssh refuses it", "[signing]") {
  TempDir dir;
  auto files = GenerateKeyFiles(dir.path, "relup");
  REQUIRE(files.ok());
  const std::string& key = files->private_path;
  for (mode_t mode : {0644, 0640, 0604}) {
    fs::permissions(key, static_cast<fs::perms>(mode));
    auto loaded = LoadPrivateKey(key);
    REQUIRE_FALSE(loaded.ok());
    char expect[200];
    std::snprintf(expect, sizeof expect, "%s: permissions %04o are too open", key.c_str(),
                  static_cast<unsigned>(mode));
    CHECK(Has(loaded.status().message(), expect));
    CHECK(Has(loaded.status().message(),
              "the private key must be readable only by you (chmod 600 " + key + ")"));
  }
  fs::permissions(key, static_cast<fs::perms>(0400));
  CHECK(LoadPrivateKey(key).ok());
}

TEST_CASE("the wrong file as a private key is refused, saying what it is", "[signing]") {
  TempDir dir;
  auto files = GenerateKeyFiles(dir.path, "relup");
  REQUIRE(files.ok());

  auto pub = LoadPrivateKey(files->public_path);
  REQUIRE_FALSE(pub.ok());
  CHECK(Has(pub.status().message(), files->public_path + " holds a public key"));

  auto missing = LoadPrivateKey(dir.file("nope.key"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kNotFound);
  CHECK(Has(missing.status().message(), "cannot open " + dir.file("nope.key")));

  WriteFile(dir.file("garbage.key"), "this is not a key\n");
  auto garbage = LoadPrivateKey(dir.file("garbage.key"));
  REQUIRE_FALSE(garbage.ok());
  CHECK(Has(garbage.status().message(), "is not a PEM private key"));

  WriteFile(dir.file("broken.key"),
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  CHECK(Has(LoadPrivateKey(dir.file("broken.key")).status().message(),
            "is not a readable PEM private key"));

  // An EC key: PEM PKCS#8 all right, but not Ed25519.
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  REQUIRE(ec != nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_PrivateKey(bio, ec, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  WriteFile(dir.file("ec.key"), std::string(data, static_cast<size_t>(len)));
  BIO_free(bio);
  EVP_PKEY_free(ec);
  auto not_ed = LoadPrivateKey(dir.file("ec.key"));
  REQUIRE_FALSE(not_ed.ok());
  CHECK(Has(not_ed.status().message(), "key, not Ed25519"));

  auto private_as_public = LoadPublicKey(files->private_path);
  REQUIRE_FALSE(private_as_public.ok());
  CHECK(Has(private_as_public.status().message(), "holds a private key"));
}

TEST_CASE("trusted keys: a .pub file or a directory of them, never an empty directory",
          "[signing]") {
  TempDir dir;
  std::string keys = dir.file("trusted");
  fs::create_directories(keys);
  auto none = LoadTrustedKeys(keys);
  REQUIRE_FALSE(none.ok());
  CHECK(Has(none.status().message(), "holds no *.pub file"));

  auto a = GenerateKeyFiles(keys, "a");
  auto b = GenerateKeyFiles(keys, "b");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  fs::copy_file(a->public_path, keys + "/a-again.pub");  // the same key twice: kept once
  auto both = LoadTrustedKeys(keys);
  REQUIRE(both.ok());
  REQUIRE(both->size() == 2);
  CHECK((*both)[0].id == a->id);
  CHECK((*both)[1].id == b->id);

  auto one = LoadTrustedKeys(b->public_path);
  REQUIRE(one.ok());
  REQUIRE(one->size() == 1);
  CHECK((*one)[0].id == b->id);
  CHECK(DescribeKeys(*one) == b->id + " (" + b->public_path + ")");

  auto missing = LoadTrustedKeys(dir.file("nowhere"));
  REQUIRE_FALSE(missing.ok());
  CHECK(Has(missing.status().message(), "no such file or directory"));
  auto priv = LoadTrustedKeys(a->private_path);
  REQUIRE_FALSE(priv.ok());
  CHECK(Has(priv.status().message(), "holds a private key"));
}

TEST_CASE("CheckSignature: each way a tarball fails the trusted keys has its own message",
          "[signing]") {
  TempDir dir;
  TestKey a = MakeKey(dir, "a");
  TestKey b = MakeKey(dir, "b");
  std::vector<PublicKey> trust_a = {a.pub};
  ReleaseFiles signed_a = SignedFiles(a.priv);

  auto ok = CheckSignature(signed_a, trust_a, "t.tar.gz");
  REQUIRE(ok.ok());
  CHECK(*ok == a.pub.id);
  CHECK(CheckSignature(signed_a, {b.pub, a.pub}, "t.tar.gz").ok());  // either trusted key

  ReleaseFiles unsigned_files = signed_a;
  unsigned_files.erase(kSignaturePath);
  CHECK(Has(CheckSignature(unsigned_files, trust_a, "t.tar.gz").status().message(),
            "t.tar.gz is not signed, and keys are trusted: sign it with relup build --sign KEY"));

  auto unknown = CheckSignature(SignedFiles(b.priv), trust_a, "t.tar.gz");
  CHECK(Has(unknown.status().message(), "t.tar.gz is signed by key " + b.pub.id +
                                            ", which is not trusted (trusted: " + a.pub.id));

  // SIGNATURE from another tarball (another MANIFEST), signed by a trusted key.
  ReleaseFiles copied = SignedFiles(a.priv, "other content\n");
  copied[kSignaturePath] = signed_a[kSignaturePath];
  CHECK(Has(CheckSignature(copied, trust_a, "t.tar.gz").status().message(),
            "SIGNATURE was made for another MANIFEST"));

  // MANIFEST with a changed line, SIGNATURE edited to name it: the signature fails.
  ReleaseFiles forged = signed_a;
  forged["lib/a-1/a.so"] = "evil\n";
  forged[kManifestPath] = MakeManifest(forged);
  std::string sig = forged[kSignaturePath];
  size_t at = sig.find("manifest-sha256 ") + 16;
  sig.replace(at, 64, Sha256Hex(forged[kManifestPath]));
  forged[kSignaturePath] = sig;
  CHECK(Has(CheckSignature(forged, trust_a, "t.tar.gz").status().message(),
            "the signature in SIGNATURE does not verify with trusted key " + a.pub.id));

  ReleaseFiles garbled = signed_a;
  garbled[kSignaturePath].resize(50);
  CHECK(
      Has(CheckSignature(garbled, trust_a, "t.tar.gz").status().message(), "truncated or garbled"));
}

TEST_CASE("VerifyManifest accepts SIGNATURE unlisted and reports a bad or copied one",
          "[signing]") {
  TempDir dir;
  TestKey a = MakeKey(dir, "a");
  ReleaseFiles files = SignedFiles(a.priv);
  CHECK(VerifyManifest(files).empty());
  CHECK_FALSE(Has(files[kManifestPath], kSignaturePath));  // MakeManifest leaves it out
  CHECK(MakeManifest(files) == files[kManifestPath]);

  ReleaseFiles garbled = files;
  garbled[kSignaturePath] = "relup-signature 1\nalg";
  auto problems = VerifyManifest(garbled);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].rfind("SIGNATURE:2:", 0) == 0);

  ReleaseFiles copied = SignedFiles(a.priv, "other\n");
  copied[kSignaturePath] = files[kSignaturePath];
  problems = VerifyManifest(copied);
  REQUIRE(problems.size() == 1);
  CHECK(Has(problems[0], "SIGNATURE was made for another MANIFEST"));
}

TEST_CASE("a SIGNATURE entry larger than the limit is refused before it is read", "[signing]") {
  std::string huge(kMaxSignatureBytes + 1, 'x');
  std::string bytes =
      test::RawTarball({{"MANIFEST", AE_IFREG, "", ""}, {"SIGNATURE", AE_IFREG, huge, ""}});
  auto files = ReadTarballBytes(bytes, "big.tar.gz");
  REQUIRE_FALSE(files.ok());
  CHECK(files.status().code() == StatusCode::kCorruption);
  CHECK(Has(files.status().message(), "big.tar.gz: entry 'SIGNATURE' is 1025 bytes"));
}

}  // namespace
}  // namespace relup
