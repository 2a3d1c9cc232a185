// A tar.gz with arbitrary entries, written with libarchive directly: for the
// tests of what a reader must refuse (absolute and '..' paths, links,
// devices, duplicates), which relup's own writer would never produce.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace relup::test {

struct RawEntry {
  std::string path;
  mode_t type = AE_IFREG;
  std::string content;
  std::string link;  // symlink target or hard link source
};

inline std::string RawTarball(const std::vector<RawEntry>& entries) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_gzip(a);
  archive_write_open(
      a, &out, nullptr,
      [](archive*, void* client, const void* buffer, size_t length) -> la_ssize_t {
        static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
        return static_cast<la_ssize_t>(length);
      },
      nullptr);
  for (const auto& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    archive_entry_set_filetype(entry, e.type);
    archive_entry_set_perm(entry, 0644);
    if (e.type == AE_IFLNK) archive_entry_set_symlink(entry, e.link.c_str());
    if (e.type == AE_IFREG && !e.link.empty()) archive_entry_set_hardlink(entry, e.link.c_str());
    archive_entry_set_size(entry, static_cast<la_int64_t>(e.content.size()));
    archive_write_header(a, entry);
    if (!e.content.empty()) archive_write_data(a, e.content.data(), e.content.size());
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

}  // namespace relup::test
