// Signed release tarballs: Ed25519 keys, the SIGNATURE entry, and checking a
// tarball against the keys a node (or `relup verify --trust`) trusts.
//
// Keys (`relup keygen -o DIR [--name NAME]`, default NAME "relup"):
//   DIR/NAME.key  the private key, unencrypted PKCS#8 PEM ("BEGIN PRIVATE
//                 KEY"), mode 0600; created 0600 with O_EXCL, never readable
//                 by others, even for a moment.
//   DIR/NAME.pub  the public key, SubjectPublicKeyInfo PEM ("BEGIN PUBLIC
//                 KEY"), mode 0644.
// A key id is the first 16 hex digits of SHA-256 of the raw 32-byte Ed25519
// public key.
//
// SIGNATURE, a tarball entry that MANIFEST does not list (it signs MANIFEST),
// is exactly these five lines, each ending in '\n', and nothing else:
//   relup-signature 1
//   algorithm ed25519
//   key-id <16 lowercase hex digits>
//   manifest-sha256 <64 lowercase hex digits: SHA-256 of the MANIFEST bytes>
//   signature <128 lowercase hex digits: the 64-byte Ed25519 signature of
//             kSignedPrefix + that manifest-sha256>
// Ed25519 signatures are deterministic (RFC 8032), so the same MANIFEST and
// key always give the same SIGNATURE bytes: signed builds stay reproducible.
// A SIGNATURE larger than kMaxSignatureBytes is refused before it is read.
//
// Thread-safe: the functions share no state (OpenSSL 3 is thread-safe).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relup/release.h"  // ReleaseFiles, kSignaturePath
#include "relup/status.h"

namespace relup {

inline constexpr size_t kMaxSignatureBytes = 1024;  // a real one is 255 bytes
inline constexpr std::string_view kSignedPrefix = "relup-manifest-sha256:";
inline constexpr std::string_view kDefaultKeyName = "relup";

struct PublicKey {
  std::string raw;     // the 32-byte Ed25519 public key
  std::string id;      // KeyId(raw)
  std::string source;  // the file it was read from (for messages)
};

// A private key in memory. The seed is wiped when the object goes away.
class PrivateKey {
 public:
  PrivateKey() = default;
  PrivateKey(std::string seed, PublicKey pub) : seed_(std::move(seed)), pub_(std::move(pub)) {}
  PrivateKey(const PrivateKey&) = default;
  PrivateKey& operator=(const PrivateKey&) = default;
  ~PrivateKey();

  const std::string& seed() const { return seed_; }  // the 32-byte Ed25519 private key
  const PublicKey& public_key() const { return pub_; }
  const std::string& id() const { return pub_.id; }

 private:
  std::string seed_;
  PublicKey pub_;
};

// The first 16 hex digits of SHA-256 of a raw public key.
std::string KeyId(std::string_view raw_public_key);

// A new key pair written as DIR/NAME.key and DIR/NAME.pub (see above). DIR is
// created (0700) if missing. AlreadyExists, naming the file, if either file
// exists (nothing is written then); InvalidArgument for a NAME that is not a
// plain file name. On a failure after NAME.key was written it is removed.
struct KeyFiles {
  std::string private_path;
  std::string public_path;
  std::string id;
};
Result<KeyFiles> GenerateKeyFiles(const std::string& dir, std::string_view name);

// Reads a private key file. Refused, each with its own message naming the
// file and the fix: missing or unreadable; not a regular file; a public key;
// readable by group or others ("KEY: permissions 0644 are too open: ...
// (chmod 600 KEY)", checked before the key is parsed, as ssh does); an
// encrypted or OpenSSH-format key; not PEM; not Ed25519.
Result<PrivateKey> LoadPrivateKey(const std::string& path);

// Reads a public key file: missing, a private key, not PEM, not Ed25519 are
// refused, naming the file.
Result<PublicKey> LoadPublicKey(const std::string& path);

// The keys at `path`: a public key file, or a directory whose *.pub files
// (sorted by name) are each one. A directory with no *.pub is refused (it
// would trust nothing while looking as if it trusted something). Keys with
// the same id are kept once.
Result<std::vector<PublicKey>> LoadTrustedKeys(const std::string& path);

// "0123456789abcdef (path), ..." for messages.
std::string DescribeKeys(const std::vector<PublicKey>& keys);

// The SIGNATURE entry's text for `manifest` (the MANIFEST bytes).
Result<std::string> SignManifest(const PrivateKey& key, std::string_view manifest);

struct ManifestSignature {
  std::string key_id;           // 16 hex digits
  std::string manifest_sha256;  // 64 hex digits
  std::string signature;        // the 64 raw bytes
};

// Parses SIGNATURE text strictly (see the format above). Corruption naming
// `source` (the tarball; may be empty), the line and what was expected: a
// truncated or garbled entry.
Result<ManifestSignature> ParseSignature(std::string_view text, const std::string& source);

// The tarball's signature, if it has one: nullopt when `files` holds no
// SIGNATURE; Corruption when it does not parse; Corruption when it names
// another MANIFEST than the one in `files` (MANIFEST changed after signing,
// or the SIGNATURE was copied from another tarball). The signature itself is
// not checked: that needs the signer's public key (CheckSignature).
Result<std::optional<ManifestSignature>> ReadSignature(const ReleaseFiles& files,
                                                       const std::string& source);

// True if `signature` is `key`'s Ed25519 signature of kSignedPrefix +
// manifest_sha256.
bool SignatureVerifies(const PublicKey& key, const ManifestSignature& signature);

// Whether `files` is signed by one of `trusted` (not empty), with its id.
// Each refusal is Corruption with its own message, naming `source`:
//   unsigned ("... is not signed, and keys are trusted: sign it with relup
//   build --sign KEY"); a garbled SIGNATURE; signed by a key not trusted
//   (naming its id and the trusted ids); made for another MANIFEST; a
//   signature that does not verify with the trusted key of its id.
Result<std::string> CheckSignature(const ReleaseFiles& files, const std::vector<PublicKey>& trusted,
                                   const std::string& source);

}  // namespace relup
