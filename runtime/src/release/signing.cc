#include "release/signing.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include "release/tarball.h"  // Sha256Hex

namespace relup {
namespace {

namespace fs = std::filesystem;

constexpr size_t kRawKeyBytes = 32;
constexpr size_t kSignatureBytes = 64;
constexpr size_t kMaxKeyFileBytes = 64 * 1024;

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
std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

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

// The raw public key of an Ed25519 EVP_PKEY.
Result<std::string> RawPublic(EVP_PKEY* pkey) {
  std::string raw(kRawKeyBytes, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 ||
      len != kRawKeyBytes) {
    return Status::Internal("cannot read an Ed25519 public key: " + OpenSslError());
  }
  return raw;
}

// Reads a key file (at most kMaxKeyFileBytes) and, through `st`, its mode.
Result<std::string> ReadKeyFile(const std::string& path, const std::string& fix, struct stat* st) {
  // O_NONBLOCK: a FIFO named like a key must not hang the reader (it is
  // refused below as not a regular file).
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    std::string why = "cannot open " + path + ": " + std::strerror(err) + " (" + fix + ")";
    return err == ENOENT ? Status::NotFound(why) : Status::IOError(why);
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::fstat(fd, st) != 0) {
    return Status::IOError("cannot stat " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st->st_mode)) {
    return Status::InvalidArgument(path + " is not a regular file (" + fix + ")");
  }
  if (static_cast<size_t>(st->st_size) > kMaxKeyFileBytes) {
    return Status::InvalidArgument(path + " is " + std::to_string(st->st_size) +
                                   " bytes, too large for a key file (" + fix + ")");
  }
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError("cannot read " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxKeyFileBytes) {
      return Status::InvalidArgument(path + " is too large for a key file (" + fix + ")");
    }
  }
  return text;
}

bool Has(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

// Never prompt for a pass phrase: an encrypted key is refused instead.
int NoPassword(char*, int, int, void*) {
  return -1;
}

std::string TypeName(EVP_PKEY* pkey) {
  const char* name = EVP_PKEY_get0_type_name(pkey);
  return name ? name : "unknown";
}

Status WriteNewKeyFile(const std::string& path, const std::string& text, mode_t mode) {
  // O_EXCL with the final mode: the file never exists with wider permissions.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Status::AlreadyExists(path +
                                   " already exists: relup keygen never overwrites a key; "
                                   "choose another --name or -o, or remove the old pair "
                                   "first if you really mean to replace it");
    }
    return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  }
  Status s = Status::Ok();
  // The umask may have taken bits away; the public key is meant for everyone.
  if (::fchmod(fd, mode) != 0) {
    s = Status::IOError("cannot chmod " + path + ": " + std::strerror(errno));
  }
  size_t done = 0;
  while (s.ok() && done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      s = Status::IOError("cannot write " + path + ": " + std::strerror(errno));
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (s.ok() && ::fsync(fd) != 0) {
    s = Status::IOError("cannot fsync " + path + ": " + std::strerror(errno));
  }
  ::close(fd);
  if (!s.ok()) ::unlink(path.c_str());
  return s;
}

Result<std::string> Pem(EVP_PKEY* pkey, bool private_key) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
  if (!bio) return Status::Internal("BIO_new failed");
  int ok = private_key
               ? PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr)
               : PEM_write_bio_PUBKEY(bio.get(), pkey);
  if (ok != 1) return Status::Internal("cannot write a PEM key: " + OpenSslError());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  std::string text(data, static_cast<size_t>(len));
  return text;
}

// "SOURCE: " before a message about a tarball; nothing when source is empty.
std::string Where(const std::string& source) {
  return source.empty() ? "" : source + ": ";
}

bool ValidKeyName(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.size() > 100) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

}  // namespace

PrivateKey::~PrivateKey() {
  if (!seed_.empty()) OPENSSL_cleanse(seed_.data(), seed_.size());
}

std::string KeyId(std::string_view raw_public_key) {
  return Sha256Hex(raw_public_key).substr(0, 16);
}

Result<KeyFiles> GenerateKeyFiles(const std::string& dir, std::string_view name) {
  if (!ValidKeyName(name)) {
    return Status::InvalidArgument(
        "--name '" + std::string(name) +
        "' is not a plain file name: use letters, digits and . _ - (not starting with '.')");
  }
  KeyFiles out;
  out.private_path = (fs::path(dir) / (std::string(name) + ".key")).string();
  out.public_path = (fs::path(dir) / (std::string(name) + ".pub")).string();
  std::error_code ec;
  for (const std::string& p : {out.private_path, out.public_path}) {
    if (fs::symlink_status(p, ec).type() != fs::file_type::not_found) {
      return Status::AlreadyExists(p +
                                   " already exists: relup keygen never overwrites a key; "
                                   "choose another --name or -o, or remove the old pair "
                                   "first if you really mean to replace it");
    }
  }
  if (!fs::exists(dir, ec)) {
    fs::path parent = fs::path(dir).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::IOError("cannot create " + dir + ": " + std::strerror(errno));
    }
  } else if (!fs::is_directory(dir, ec)) {
    return Status::InvalidArgument(dir +
                                   " is not a directory: -o names the directory the key "
                                   "files go to");
  }
  EVP_PKEY* raw_pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (raw_pkey == nullptr)
    return Status::Internal("cannot generate an Ed25519 key: " + OpenSslError());
  Pkey pkey(raw_pkey);
  RELUP_ASSIGN_OR_RETURN(std::string private_pem, Pem(pkey.get(), true));
  RELUP_ASSIGN_OR_RETURN(std::string public_pem, Pem(pkey.get(), false));
  RELUP_ASSIGN_OR_RETURN(std::string raw, RawPublic(pkey.get()));
  out.id = KeyId(raw);
  Status s = WriteNewKeyFile(out.private_path, private_pem, 0600);
  OPENSSL_cleanse(private_pem.data(), private_pem.size());
  RELUP_RETURN_IF_ERROR(s);
  if (Status p = WriteNewKeyFile(out.public_path, public_pem, 0644); !p.ok()) {
    ::unlink(out.private_path.c_str());
    return p;
  }
  return out;
}

Result<PrivateKey> LoadPrivateKey(const std::string& path) {
  const std::string fix = "give the NAME.key file that relup keygen wrote";
  struct stat st {};
  RELUP_ASSIGN_OR_RETURN(std::string text, ReadKeyFile(path, fix, &st));
  struct Wipe {
    std::string& s;
    ~Wipe() { OPENSSL_cleanse(s.data(), s.size()); }
  } wipe{text};
  if (Has(text, "-----BEGIN PUBLIC KEY-----")) {
    return Status::InvalidArgument(path +
                                   " holds a public key: --sign takes the private key (the "
                                   "NAME.key beside NAME.pub that relup keygen wrote)");
  }
  // As ssh does: a private key others can read is no longer private.
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::FailedPrecondition(path + ": permissions " + mode +
                                      " are too open: the private key must be readable only by "
                                      "you (chmod 600 " +
                                      path + ")");
  }
  if (Has(text, "-----BEGIN OPENSSH PRIVATE KEY-----")) {
    return Status::InvalidArgument(path +
                                   " is an OpenSSH private key: relup reads PKCS#8 PEM keys "
                                   "(make one with relup keygen -o DIR)");
  }
  if (Has(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----") || Has(text, "Proc-Type: 4,ENCRYPTED")) {
    return Status::InvalidArgument(path +
                                   " is encrypted: relup reads unencrypted PKCS#8 keys, kept "
                                   "safe by their file mode (make one with relup keygen -o DIR)");
  }
  if (!Has(text, "PRIVATE KEY-----")) {
    return Status::InvalidArgument(path +
                                   " is not a PEM private key (no '-----BEGIN PRIVATE KEY-----' "
                                   "block): " +
                                   fix);
  }
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  Pkey pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  if (!pkey) {
    ERR_clear_error();
    return Status::InvalidArgument(path + " is not a readable PEM private key (garbled?): " + fix);
  }
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return Status::InvalidArgument(path + " is a " + TypeName(pkey.get()) +
                                   " key, not Ed25519: relup signs with Ed25519 (make a key with "
                                   "relup keygen -o DIR)");
  }
  std::string seed(kRawKeyBytes, '\0');
  size_t len = seed.size();
  if (EVP_PKEY_get_raw_private_key(pkey.get(), reinterpret_cast<unsigned char*>(seed.data()),
                                   &len) != 1 ||
      len != kRawKeyBytes) {
    return Status::Internal("cannot read the Ed25519 key in " + path + ": " + OpenSslError());
  }
  PublicKey pub;
  RELUP_ASSIGN_OR_RETURN(pub.raw, RawPublic(pkey.get()));
  pub.id = KeyId(pub.raw);
  pub.source = path;
  PrivateKey key(std::move(seed), std::move(pub));
  return key;
}

Result<PublicKey> LoadPublicKey(const std::string& path) {
  const std::string fix = "give a NAME.pub file that relup keygen wrote";
  struct stat st {};
  RELUP_ASSIGN_OR_RETURN(std::string text, ReadKeyFile(path, fix, &st));
  if (Has(text, "PRIVATE KEY-----")) {
    return Status::InvalidArgument(path +
                                   " holds a private key: trust the public key (NAME.pub) "
                                   "instead, and keep NAME.key on the machine that signs");
  }
  if (!Has(text, "-----BEGIN PUBLIC KEY-----")) {
    return Status::InvalidArgument(path +
                                   " is not a PEM public key (no '-----BEGIN PUBLIC KEY-----' "
                                   "block): " +
                                   fix);
  }
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  Pkey pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassword, nullptr));
  if (!pkey) {
    ERR_clear_error();
    return Status::InvalidArgument(path + " is not a readable PEM public key (garbled?): " + fix);
  }
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return Status::InvalidArgument(path + " is a " + TypeName(pkey.get()) +
                                   " key, not Ed25519: relup verifies Ed25519 signatures (make a "
                                   "key with relup keygen -o DIR)");
  }
  PublicKey key;
  RELUP_ASSIGN_OR_RETURN(key.raw, RawPublic(pkey.get()));
  key.id = KeyId(key.raw);
  key.source = path;
  return key;
}

Result<std::vector<PublicKey>> LoadTrustedKeys(const std::string& path) {
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    return Status::NotFound("trusted keys " + path +
                            ": no such file or directory (give a NAME.pub file, or a directory "
                            "of them)");
  }
  std::vector<std::string> files;
  if (fs::is_directory(status)) {
    fs::directory_iterator it(path, ec);
    if (ec) return Status::IOError("cannot list " + path + ": " + ec.message());
    for (const auto& entry : it) {
      if (entry.path().extension() == ".pub") files.push_back(entry.path().string());
    }
    if (files.empty()) {
      return Status::InvalidArgument(
          "trusted keys " + path +
          " holds no *.pub file: put the public keys to trust there (relup keygen writes "
          "NAME.pub), or do not name it");
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  std::vector<PublicKey> keys;
  std::set<std::string> ids;
  for (const std::string& f : files) {
    RELUP_ASSIGN_OR_RETURN(PublicKey key, LoadPublicKey(f));
    if (ids.insert(key.id).second) keys.push_back(std::move(key));
  }
  return keys;
}

std::string DescribeKeys(const std::vector<PublicKey>& keys) {
  std::string out;
  for (const PublicKey& k : keys) out += (out.empty() ? "" : ", ") + k.id + " (" + k.source + ")";
  return out.empty() ? "none" : out;
}

Result<std::string> SignManifest(const PrivateKey& key, std::string_view manifest) {
  const std::string& seed = key.seed();
  Pkey pkey(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), seed.size()));
  if (!pkey) return Status::Internal("cannot use the Ed25519 key: " + OpenSslError());
  std::string digest = Sha256Hex(manifest);
  std::string message = std::string(kSignedPrefix) + digest;
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  std::string sig(kSignatureBytes, '\0');
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      len != kSignatureBytes) {
    return Status::Internal("Ed25519 signing failed: " + OpenSslError());
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
  if (!IsLowerHex(values[4], 2 * kSignatureBytes)) {
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
  if (key.raw.size() != kRawKeyBytes || signature.signature.size() != kSignatureBytes) return false;
  Pkey pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                        reinterpret_cast<const unsigned char*>(key.raw.data()),
                                        key.raw.size()));
  if (!pkey) {
    ERR_clear_error();
    return false;
  }
  std::string message = std::string(kSignedPrefix) + signature.manifest_sha256;
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
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
