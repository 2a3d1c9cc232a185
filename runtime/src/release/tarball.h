// Release tarballs (.tar.gz) in memory: written reproducibly and atomically,
// read defensively. Releases are small (a few libraries), so every file is
// held in memory as bytes.
//
// Writing is reproducible: the same files give byte-identical output, whatever
// the clock, the user or the umask. Entries are sorted by path; owner and
// group are root/root (uid/gid 0), mode 0644, mtime 0; no directory entries;
// the gzip header carries no timestamp or file name.
//
// Reading refuses (Corruption, naming the tarball and the entry) anything a
// node must never unpack: absolute paths, '..' or '.' components, empty
// components, entries other than regular files and directories (symlinks,
// hard links, devices, fifos), duplicate paths, more than kMaxTarballBytes
// of content, and a SIGNATURE entry larger than kMaxSignatureBytes
// (release/signing.h). A leading "./" is accepted and dropped;
// directory entries are accepted and skipped.
//
// Thread-safe: the functions share no state.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "relup/release.h"  // ReleaseFiles
#include "relup/status.h"

namespace relup {

inline constexpr size_t kMaxTarballBytes = size_t{1} << 30;  // total content

// Checks one tarball path against the reading rules above and returns it
// normalized (without a leading "./"). InvalidArgument naming the path.
Result<std::string> NormalizeTarballPath(std::string_view path);

// The gzipped tar bytes of `files` (reproducible, see above). Paths must pass
// NormalizeTarballPath.
Result<std::string> WriteTarballBytes(const ReleaseFiles& files);

// Writes WriteTarballBytes(files) to a temporary file in out_path's directory,
// fsyncs it and renames it to out_path: out_path is either untouched or the
// whole new tarball, and a failure leaves no temporary file. The file gets
// mode 0644 minus the umask.
Status WriteTarballAtomically(const std::string& out_path, const ReleaseFiles& files);

// Reads a tarball (gzip or uncompressed tar) and checks it (see above).
Result<ReleaseFiles> ReadTarball(const std::string& path);
Result<ReleaseFiles> ReadTarballBytes(const std::string& bytes, const std::string& source_name);

// The MANIFEST text for `files` (every file except MANIFEST and SIGNATURE):
// "<sha256 hex>  <path>\n" sorted by path.
std::string MakeManifest(const ReleaseFiles& files);

// Checks `files` against their MANIFEST. Each problem is one line naming the
// file: "MANIFEST is missing", "lib/x-1/x.so: content differs from MANIFEST
// (tampered?)", "lib/y-1/y.so: listed in MANIFEST but missing",
// "extra.txt: not listed in MANIFEST", "MANIFEST:3: malformed line".
// SIGNATURE is the one file MANIFEST does not list; when present it must
// parse and be made for this MANIFEST (ReadSignature: "SIGNATURE:3: ...",
// "SIGNATURE was made for another MANIFEST ..."); whether its key is trusted
// is CheckSignature's business. Empty: every file is present and intact.
std::vector<std::string> VerifyManifest(const ReleaseFiles& files);

// Hex SHA-256 of bytes.
std::string Sha256Hex(std::string_view bytes);

}  // namespace relup
