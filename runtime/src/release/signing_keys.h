// Ed25519 signing keys: making them, reading them (private keys refused when
// others may read them, as ssh does), and the sets of keys a node trusts.
// The SIGNATURE entry made and checked with them is release/signing.h.
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
// Thread-safe: the functions share no state (OpenSSL 3 is thread-safe).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "relup/status.h"

namespace relup {

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
// would trust nothing while looking as if it trusted something), the
// message ending in `if_none`, the other way out. Keys with the same id are
// kept once.
Result<std::vector<PublicKey>> LoadTrustedKeys(const std::string& path,
                                               std::string_view if_none = "do not name it");

// "0123456789abcdef (path), ..." for messages.
std::string DescribeKeys(const std::vector<PublicKey>& keys);

}  // namespace relup
