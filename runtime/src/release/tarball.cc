#include "release/tarball.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "release/atomic_file.h"
#include "release/signing.h"

namespace relup {
namespace {

struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

std::string ArchiveError(archive* a) {
  const char* msg = archive_error_string(a);
  return msg ? msg : "unknown libarchive error";
}

la_ssize_t AppendToString(archive*, void* client, const void* buffer, size_t length) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

}  // namespace

Result<std::string> NormalizeTarballPath(std::string_view path) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("entry '" + std::string(path) + "' " + std::string(why));
  };
  std::string_view p = path;
  while (p.starts_with("./")) p.remove_prefix(2);
  if (p.empty()) return bad("has an empty path");
  if (p.front() == '/') return bad("has an absolute path");
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view part = p.substr(start, end - start);
    if (part.empty()) return bad("has an empty path component");
    if (part == "..") return bad("has a '..' component");
    if (part == ".") return bad("has a '.' component");
    if (part.find('\0') != std::string_view::npos) return bad("has a NUL byte");
    start = end + 1;
  }
  return std::string(p);
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

Result<std::string> WriteTarballBytes(const ReleaseFiles& files) {
  for (const auto& [path, bytes] : files) {
    auto normalized = NormalizeTarballPath(path);
    if (!normalized.ok()) return normalized.status();
    if (*normalized != path) {
      return Status::InvalidArgument("entry '" + path + "' is not in normal form ('" + *normalized +
                                     "')");
    }
  }
  std::unique_ptr<archive, ArchiveWriteDeleter> a(archive_write_new());
  if (!a) return Status::Internal("archive_write_new failed");
  std::string out;
  if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK) {
    return Status::Internal("libarchive: " + ArchiveError(a.get()));
  }
  // Without this, gzip stores the current time in its header.
  if (archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr) != ARCHIVE_OK) {
    return Status::Internal("libarchive cannot omit the gzip timestamp: " + ArchiveError(a.get()));
  }
  // By default libarchive pads the gzip stream with zeros to a whole 10 KiB
  // block (a tape convention): about 9 KB of every small tarball.
  if (archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK) {
    return Status::Internal("libarchive: " + ArchiveError(a.get()));
  }
  if (archive_write_open(a.get(), &out, nullptr, AppendToString, nullptr) != ARCHIVE_OK) {
    return Status::Internal("libarchive: " + ArchiveError(a.get()));
  }
  // std::map iterates in path order: the entry order is part of reproducibility.
  for (const auto& [path, bytes] : files) {
    std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(bytes.size()));
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    archive_entry_set_uname(e.get(), "root");
    archive_entry_set_gname(e.get(), "root");
    archive_entry_set_mtime(e.get(), 0, 0);
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) {
      return Status::Internal("libarchive: " + path + ": " + ArchiveError(a.get()));
    }
    if (!bytes.empty() && archive_write_data(a.get(), bytes.data(), bytes.size()) !=
                              static_cast<la_ssize_t>(bytes.size())) {
      return Status::Internal("libarchive: " + path + ": " + ArchiveError(a.get()));
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return Status::Internal("libarchive: " + ArchiveError(a.get()));
  }
  return out;
}

Status WriteTarballAtomically(const std::string& out_path, const ReleaseFiles& files) {
  RELUP_ASSIGN_OR_RETURN(std::string bytes, WriteTarballBytes(files));
  return WriteFileAtomically(out_path, bytes, 0644);
}

Result<ReleaseFiles> ReadTarballBytes(const std::string& bytes, const std::string& source_name) {
  auto corrupt = [&](const std::string& why) {
    return Status::Corruption(source_name + ": " + why);
  };
  std::unique_ptr<archive, ArchiveReadDeleter> a(archive_read_new());
  if (!a) return Status::Internal("archive_read_new failed");
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_none(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    return corrupt("not a tar.gz archive (" + ArchiveError(a.get()) + ")");
  }
  ReleaseFiles files;
  size_t total = 0;
  archive_entry* e = nullptr;
  while (true) {
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      return corrupt("unreadable archive (" + ArchiveError(a.get()) + ")");
    }
    const char* raw = archive_entry_pathname(e);
    std::string name = raw ? raw : "";
    if (archive_entry_hardlink(e) != nullptr) {
      return corrupt("entry '" + name + "' is a hard link; a release holds only regular files");
    }
    auto type = archive_entry_filetype(e);
    if (type == AE_IFDIR) {
      while (name.size() > 1 && name.back() == '/') name.pop_back();
      if (name == "." || name == "./") continue;
    } else if (type != AE_IFREG) {
      const char* kind = type == AE_IFLNK ? "a symbolic link" : "a device, fifo or socket";
      return corrupt("entry '" + name + "' is " + std::string(kind) +
                     "; a release holds only regular files");
    }
    auto path = NormalizeTarballPath(name);
    if (!path.ok()) return corrupt(path.status().message());
    if (type == AE_IFDIR) continue;
    if (files.count(*path)) return corrupt("entry '" + *path + "' appears twice");
    la_int64_t size = archive_entry_size(e);
    if (size < 0 || static_cast<uint64_t>(size) > kMaxTarballBytes - total) {
      return corrupt("content larger than " + std::to_string(kMaxTarballBytes) + " bytes");
    }
    if (*path == kSignaturePath && static_cast<uint64_t>(size) > kMaxSignatureBytes) {
      return corrupt("entry '" + *path + "' is " + std::to_string(size) +
                     " bytes; a relup signature is at most " + std::to_string(kMaxSignatureBytes) +
                     " (rebuild the tarball with relup build --sign KEY)");
    }
    std::string content;
    content.resize(static_cast<size_t>(size));
    size_t got = 0;
    while (got < content.size()) {
      la_ssize_t n = archive_read_data(a.get(), content.data() + got, content.size() - got);
      if (n < 0) return corrupt("entry '" + *path + "': " + ArchiveError(a.get()));
      if (n == 0) return corrupt("entry '" + *path + "' is truncated");
      got += static_cast<size_t>(n);
    }
    total += content.size();
    files.emplace(*std::move(path), std::move(content));
  }
  return files;
}

Result<ReleaseFiles> ReadTarball(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::InvalidArgument(path +
                                   " is a directory, not a release tarball: give the .tar.gz file "
                                   "that relup build wrote");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path + ": " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::IOError("cannot read " + path);
  return ReadTarballBytes(std::move(buffer).str(), path);
}

std::string MakeManifest(const ReleaseFiles& files) {
  std::string text;
  for (const auto& [path, bytes] : files) {
    if (path == kManifestPath || path == kSignaturePath) continue;
    text += Sha256Hex(bytes) + "  " + path + "\n";
  }
  return text;
}

std::vector<std::string> VerifyManifest(const ReleaseFiles& files) {
  std::vector<std::string> problems;
  auto manifest = files.find(kManifestPath);
  if (manifest == files.end()) {
    problems.push_back(std::string(kManifestPath) + " is missing");
    return problems;
  }
  std::set<std::string> listed;
  std::istringstream lines(manifest->second);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    std::string where = std::string(kManifestPath) + ":" + std::to_string(number);
    if (line.size() < 67 || line.compare(64, 2, "  ") != 0) {
      problems.push_back(where + ": malformed line (expected '<sha256 hex>  <path>')");
      continue;
    }
    std::string sha = line.substr(0, 64);
    std::string path = line.substr(66);
    if (path == kSignaturePath) {
      problems.push_back(where + ": lists " + path + ", which signs MANIFEST and is never in it");
      continue;
    }
    if (!listed.insert(path).second) {
      problems.push_back(where + ": " + path + " listed twice");
      continue;
    }
    auto file = files.find(path);
    if (file == files.end()) {
      problems.push_back(path + ": listed in MANIFEST but missing");
    } else if (Sha256Hex(file->second) != sha) {
      problems.push_back(path + ": content differs from MANIFEST (tampered or corrupted)");
    }
  }
  for (const auto& [path, bytes] : files) {
    if (path != kManifestPath && path != kSignaturePath && !listed.count(path)) {
      problems.push_back(path + ": not listed in MANIFEST (added after the build?)");
    }
  }
  // SIGNATURE is the one entry MANIFEST does not list: it must parse and be
  // made for this MANIFEST (whether its key is trusted is CheckSignature's).
  if (auto signature = ReadSignature(files, ""); !signature.ok()) {
    problems.push_back(signature.status().message());
  }
  return problems;
}

}  // namespace relup
