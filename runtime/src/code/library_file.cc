#include "code/library_file.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include "relup/code_server.h"

namespace relup::code {
namespace {

std::string ErrnoText(int err) {
  return std::strerror(err);
}

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string ToHex(const unsigned char* data, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xF];
  }
  return out;
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("cannot write " + path + ": " + ErrnoText(errno));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status();
}

}  // namespace

Result<std::string> ReadLibraryFile(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("module library " + path + " does not exist");
    return Status::IOError("cannot open module library " + path + ": " + ErrnoText(err));
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) {
    return Status::IOError("cannot stat " + path + ": " + ErrnoText(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument(path +
                                   " is not a regular file: give the path of a module's .so");
  }
  std::string bytes;
  bytes.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("cannot read " + path + ": " + ErrnoText(errno));
    }
    if (n == 0) break;
    bytes.append(buf, static_cast<size_t>(n));
  }
  return bytes;
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  return ToHex(digest, len);
}

bool LooksLikeElf(std::string_view bytes) {
  return bytes.substr(0, 4) ==
         "\x7f"
         "ELF";
}

Status EnsureDirectory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create code directory " + dir + ": " + ec.message());
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status::IOError("code directory " + dir + " exists but is not a directory");
  }
  return Status();
}

Result<std::string> WriteUniqueCopy(const std::string& dir, std::string_view stem,
                                    std::string_view sha256, std::string_view bytes,
                                    const std::function<uint64_t()>& next_serial) {
  constexpr int kAttempts = 1000;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::string path = dir + "/" + std::string(stem) + "-" + std::to_string(next_serial()) + "-" +
                       std::string(sha256.substr(0, 8)) + ".so";
    Fd f{::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
    if (f.fd < 0) {
      if (errno == EEXIST) continue;  // left by an earlier code server: never reuse it
      return Status::IOError("cannot create " + path +
                             " in the code directory: " + ErrnoText(errno));
    }
    Status s = WriteAll(f.fd, bytes, path);
    // Read-only from now on: a loaded library's file must not change.
    if (s.ok() && ::fchmod(f.fd, 0500) != 0) {
      s = Status::IOError("cannot chmod " + path + ": " + ErrnoText(errno));
    }
    if (!s.ok()) {
      ::unlink(path.c_str());
      return s;
    }
    return path;
  }
  return Status::IOError("could not find a free file name for a copy of " + std::string(stem) +
                         " in " + dir + " after " + std::to_string(kAttempts) +
                         " attempts: clean the code directory");
}

std::string LibraryStem(const std::string& path) {
  std::string stem = std::filesystem::path(path).filename().string();
  if (stem.size() > 3 && stem.ends_with(".so")) stem.resize(stem.size() - 3);
  for (char& c : stem) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) c = '_';
  }
  if (stem.empty() || stem[0] == '.') stem.insert(0, "module");
  return stem;
}

}  // namespace relup::code

namespace relup {

Result<std::string> Sha256File(const std::string& path) {
  code::Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound(path + " does not exist");
    return Status::IOError("cannot open " + path + ": " + code::ErrnoText(err));
  }
  std::unique_ptr<EVP_MD_CTX, code::MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return Status::Internal("OpenSSL could not start a SHA-256 digest");
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("cannot read " + path + ": " + code::ErrnoText(errno));
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf, static_cast<size_t>(n));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  return code::ToHex(digest, len);
}

}  // namespace relup
