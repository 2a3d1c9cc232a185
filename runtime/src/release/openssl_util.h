// OpenSSL handles and errors shared by the signing code (signing_keys.cc,
// signing.cc). Internal to runtime/src/release.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>

#include <cstddef>
#include <memory>
#include <string>

namespace relup::ossl {

inline constexpr size_t kEd25519KeyBytes = 32;        // a raw public or private key
inline constexpr size_t kEd25519SignatureBytes = 64;  // a raw signature

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// The text of OpenSSL's last error (and the queue cleared), for Internal errors.
std::string LastError();

}  // namespace relup::ossl
