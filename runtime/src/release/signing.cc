#include "release/signing.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>

#include "release/openssl_util.h"
#include "release/tarball.h"  // Sha256Hex

namespace relup {
namespace {

std::string Hex(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

bool IsLowerHex(std::string_view s, size_t size) {
  return s.size() == size && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string Unhex(std::string_view hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
  }
  return out;
}

// "SOURCE: " before a message about a tarball; nothing when source is empty.
std::string Where(const std::string& source) {
  return source.empty() ? "" : source + ": ";
}

}  // namespace

Result<std::string> SignManifest(const PrivateKey& key, std::string_view manifest) {
  const std::string& seed = key.seed();
  ossl::Pkey pkey(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), seed.size()));
  if (!pkey) return Status::Internal("cannot use the Ed25519 key: " + ossl::LastError());
  std::string digest = Sha256Hex(manifest);
  std::string message = std::string(kSignedPrefix) + digest;
  std::unique_ptr<EVP_MD_CTX, ossl::MdCtxDeleter> ctx(EVP_MD_CTX_new());
  std::string sig(ossl::kEd25519SignatureBytes, '\0');
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      len != ossl::kEd25519SignatureBytes) {
    return Status::Internal("Ed25519 signing failed: " + ossl::LastError());
  }
  return "relup-signature 1\nalgorithm ed25519\nkey-id " + key.id() + "\nmanifest-sha256 " +
         digest + "\nsignature " + Hex(sig) + "\n";
}

Result<ManifestSignature> ParseSignature(std::string_view text, const std::string& source) {
  auto garbled = [&](int line, const std::string& why) {
    return Status::Corruption(
        Where(source) + kSignaturePath + (line > 0 ? ":" + std::to_string(line) : "") + ": " + why +
        "; the SIGNATURE entry is truncated or garbled: rebuild the tarball with relup build "
        "--sign KEY");
  };
  if (text.size() > kMaxSignatureBytes) {
    return garbled(0, "it is " + std::to_string(text.size()) + " bytes, more than the " +
                          std::to_string(kMaxSignatureBytes) + " a signature may have");
  }
  struct Field {
    std::string_view key;
    std::string_view expected;  // how the value looks, for the message
  };
  static constexpr Field kFields[] = {
      {"relup-signature", "1"},        {"algorithm", "ed25519"},
      {"key-id", "16 hex digits"},     {"manifest-sha256", "64 hex digits"},
      {"signature", "128 hex digits"},
  };
  std::string values[5];
  std::string_view rest = text;
  for (int i = 0; i < 5; ++i) {
    const Field& f = kFields[i];
    std::string want = std::string(f.key) + " <" + std::string(f.expected) + ">";
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      return garbled(i + 1, rest.empty() ? "it ends before the line '" + want + "'"
                                         : "the line '" + want + "' does not end in a newline");
    }
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    if (line.size() <= f.key.size() || line.substr(0, f.key.size()) != f.key ||
        line[f.key.size()] != ' ') {
      std::string shown(line.substr(0, 40));
      for (char& c : shown) {
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
      }
      return garbled(
          i + 1, "expected '" + want + "', found '" + shown + (line.size() > 40 ? "...'" : "'"));
    }
    values[i] = std::string(line.substr(f.key.size() + 1));
  }
  if (!rest.empty()) return garbled(6, "unexpected text after the signature line");
  if (values[0] != "1") {
    return Status::Corruption(Where(source) + kSignaturePath + ":1: format version '" + values[0] +
                              "' is not one this relup reads (1): verify it with the relup that "
                              "built it, or rebuild it with this one");
  }
  if (values[1] != "ed25519") {
    return Status::Corruption(Where(source) + kSignaturePath + ":2: algorithm '" + values[1] +
                              "' is not supported (relup signs with ed25519)");
  }
  if (!IsLowerHex(values[2], 16)) return garbled(3, "key-id is not 16 lowercase hex digits");
  if (!IsLowerHex(values[3], 64)) {
    return garbled(4, "manifest-sha256 is not 64 lowercase hex digits");
  }
  if (!IsLowerHex(values[4], 2 * ossl::kEd25519SignatureBytes)) {
    return garbled(5, "signature is not 128 lowercase hex digits");
  }
  ManifestSignature out;
  out.key_id = values[2];
  out.manifest_sha256 = values[3];
  out.signature = Unhex(values[4]);
  return out;
}

Result<std::optional<ManifestSignature>> ReadSignature(const ReleaseFiles& files,
                                                       const std::string& source) {
  auto entry = files.find(kSignaturePath);
  if (entry == files.end()) return std::optional<ManifestSignature>();
  RELUP_ASSIGN_OR_RETURN(ManifestSignature sig, ParseSignature(entry->second, source));
  auto manifest = files.find(kManifestPath);
  std::string actual = manifest == files.end() ? "" : Sha256Hex(manifest->second);
  if (sig.manifest_sha256 != actual) {
    return Status::Corruption(
        Where(source) + kSignaturePath + " was made for another MANIFEST (its manifest-sha256 is " +
        sig.manifest_sha256.substr(0, 16) + "..., this MANIFEST's is " +
        (actual.empty() ? std::string("absent") : actual.substr(0, 16) + "...") +
        "): MANIFEST was changed after signing, or SIGNATURE was copied from another tarball");
  }
  return std::optional<ManifestSignature>(std::move(sig));
}

bool SignatureVerifies(const PublicKey& key, const ManifestSignature& signature) {
  if (key.raw.size() != ossl::kEd25519KeyBytes ||
      signature.signature.size() != ossl::kEd25519SignatureBytes)
    return false;
  ossl::Pkey pkey(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(key.raw.data()),
      key.raw.size()));
  if (!pkey) {
    ERR_clear_error();
    return false;
  }
  std::string message = std::string(kSignedPrefix) + signature.manifest_sha256;
  std::unique_ptr<EVP_MD_CTX, ossl::MdCtxDeleter> ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) == 1 &&
            EVP_DigestVerify(
                ctx.get(), reinterpret_cast<const unsigned char*>(signature.signature.data()),
                signature.signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                message.size()) == 1;
  ERR_clear_error();
  return ok;
}

Result<std::string> CheckSignature(const ReleaseFiles& files, const std::vector<PublicKey>& trusted,
                                   const std::string& source) {
  if (files.find(kSignaturePath) == files.end()) {
    return Status::Corruption(source +
                              " is not signed, and keys are trusted: sign it with relup build "
                              "--sign KEY (trusted: " +
                              DescribeKeys(trusted) + ")");
  }
  auto entry = files.find(kSignaturePath);
  RELUP_ASSIGN_OR_RETURN(ManifestSignature sig, ParseSignature(entry->second, source));
  auto key = std::find_if(trusted.begin(), trusted.end(),
                          [&](const PublicKey& k) { return k.id == sig.key_id; });
  if (key == trusted.end()) {
    return Status::Corruption(source + " is signed by key " + sig.key_id +
                              ", which is not trusted (trusted: " + DescribeKeys(trusted) +
                              "): trust its NAME.pub, or sign the tarball with a trusted key");
  }
  // Made for this MANIFEST? (Corruption saying so otherwise.)
  RELUP_RETURN_IF_ERROR(ReadSignature(files, source).status());
  if (!SignatureVerifies(*key, sig)) {
    return Status::Corruption(Where(source) + "the signature in " + kSignaturePath +
                              " does not verify with trusted key " + key->id + " (" + key->source +
                              "): the SIGNATURE entry was altered or forged; rebuild the tarball "
                              "with relup build --sign KEY, or fetch it again");
  }
  return sig.key_id;
}

}  // namespace relup
