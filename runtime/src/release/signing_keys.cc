#include "release/signing_keys.h"

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

#include "release/openssl_util.h"
#include "release/tarball.h"  // Sha256Hex

namespace relup {

namespace ossl {

std::string LastError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace ossl

namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxKeyFileBytes = 64 * 1024;

// The raw public key of an Ed25519 EVP_PKEY.
Result<std::string> RawPublic(EVP_PKEY* pkey) {
  std::string raw(ossl::kEd25519KeyBytes, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 ||
      len != ossl::kEd25519KeyBytes) {
    return Status::Internal("cannot read an Ed25519 public key: " + ossl::LastError());
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
  std::unique_ptr<BIO, ossl::BioDeleter> bio(BIO_new(BIO_s_mem()));
  if (!bio) return Status::Internal("BIO_new failed");
  int ok = private_key
               ? PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr)
               : PEM_write_bio_PUBKEY(bio.get(), pkey);
  if (ok != 1) return Status::Internal("cannot write a PEM key: " + ossl::LastError());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  std::string text(data, static_cast<size_t>(len));
  return text;
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
    return Status::Internal("cannot generate an Ed25519 key: " + ossl::LastError());
  ossl::Pkey pkey(raw_pkey);
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
  std::unique_ptr<BIO, ossl::BioDeleter> bio(
      BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  ossl::Pkey pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  if (!pkey) {
    ERR_clear_error();
    return Status::InvalidArgument(path + " is not a readable PEM private key (garbled?): " + fix);
  }
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return Status::InvalidArgument(path + " is a " + TypeName(pkey.get()) +
                                   " key, not Ed25519: relup signs with Ed25519 (make a key with "
                                   "relup keygen -o DIR)");
  }
  std::string seed(ossl::kEd25519KeyBytes, '\0');
  size_t len = seed.size();
  if (EVP_PKEY_get_raw_private_key(pkey.get(), reinterpret_cast<unsigned char*>(seed.data()),
                                   &len) != 1 ||
      len != ossl::kEd25519KeyBytes) {
    return Status::Internal("cannot read the Ed25519 key in " + path + ": " + ossl::LastError());
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
  std::unique_ptr<BIO, ossl::BioDeleter> bio(
      BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  ossl::Pkey pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassword, nullptr));
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

Result<std::vector<PublicKey>> LoadTrustedKeys(const std::string& path, std::string_view if_none) {
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
          "NAME.pub), or " +
          std::string(if_none));
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

}  // namespace relup
