// Signed release tarballs: the SIGNATURE entry, and checking a tarball
// against the keys a node (or `relup verify --trust`) trusts. The keys
// themselves are release/signing_keys.h.
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

#include "release/signing_keys.h"
#include "relup/release.h"  // ReleaseFiles, kSignaturePath
#include "relup/status.h"

namespace relup {

inline constexpr size_t kMaxSignatureBytes = 1024;  // a real one is 255 bytes
inline constexpr std::string_view kSignedPrefix = "relup-manifest-sha256:";

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
