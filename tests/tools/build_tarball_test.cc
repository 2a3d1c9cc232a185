// Release tarballs: reproducible, written atomically, read defensively, and
// checked against their MANIFEST.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "build_test_util.h"
#include "raw_tarball.h"
#include "release/tarball.h"

namespace relup::build {
namespace {

using test::RawEntry;
using test::RawTarball;
using testing::Options;
using testing::ReadAll;
using testing::TempDir;

const char* kSpec = R"(release: shop
vsn: "2"
modules:
  - {name: bwidget, vsn: "2"}
  - {name: bplain, vsn: "2"}
processes:
  - {module: bwidget, name: w, args: {n: 1}, count: 2}
appup:
  up:
    - from: "1"
      instructions:
        - update: bwidget
        - load_module: bplain
  down:
    - to: "1"
      instructions:
        - update: bwidget
        - load_module: bplain
)";

std::vector<std::string> Listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string MustBuild(const BuildOptions& options, const std::string& out) {
  Diagnostics diags;
  auto built = BuildTarball(options, out, &diags);
  INFO(diags.format());
  REQUIRE(built);
  return ReadAll(out);
}

void SetMtime(const std::string& path, time_t seconds) {
  struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

TEST_CASE("building the same inputs twice gives byte-identical tarballs",
          "[build][tarball][reproducible]") {
  TempDir dir;
  std::string spec = dir.write("shop-2.yaml", kSpec);
  std::string first = MustBuild(Options(spec), dir / "a.tar.gz");
  std::string second = MustBuild(Options(spec), dir / "b.tar.gz");
  REQUIRE(!first.empty());
  CHECK(first == second);
}

TEST_CASE("the tarball does not depend on the inputs' file times, names or the clock",
          "[build][tarball][reproducible]") {
  TempDir one, two;
  // Two copies of the inputs, in different directories with different mtimes.
  for (const TempDir* d : {&one, &two}) {
    d->write("shop-2.yaml", kSpec);
    for (const char* lib : {"bwidget-2.so", "bplain-2.so"}) {
      std::filesystem::copy_file(testing::kBuilderModules + "/" + lib, *d / lib);
    }
  }
  for (const char* file : {"shop-2.yaml", "bwidget-2.so", "bplain-2.so"}) {
    SetMtime(one / file, 1000000000);
    SetMtime(two / file, 1700000000);
  }
  auto local = [](const std::string& spec) {
    BuildOptions options;
    options.spec_path = spec;  // libraries next to the spec only
    return options;
  };
  std::string a = MustBuild(local(one / "shop-2.yaml"), one / "out.tar.gz");
  std::string b = MustBuild(local(two / "shop-2.yaml"), two / "out.tar.gz");
  CHECK(a == b);
  // No build time anywhere: the gzip header's MTIME field (bytes 4-7) is zero,
  // and every entry is root-owned, mode 0644, mtime 0, in path order.
  REQUIRE(a.size() > 10);
  CHECK(a.substr(4, 4) == std::string(4, '\0'));
  archive* r = archive_read_new();
  archive_read_support_filter_gzip(r);
  archive_read_support_format_tar(r);
  REQUIRE(archive_read_open_memory(r, a.data(), a.size()) == ARCHIVE_OK);
  archive_entry* e = nullptr;
  std::vector<std::string> paths;
  while (archive_read_next_header(r, &e) == ARCHIVE_OK) {
    paths.push_back(archive_entry_pathname(e));
    CHECK(archive_entry_uid(e) == 0);
    CHECK(archive_entry_gid(e) == 0);
    CHECK(archive_entry_perm(e) == 0644);
    CHECK(archive_entry_mtime(e) == 0);
    CHECK(archive_entry_filetype(e) == AE_IFREG);
  }
  archive_read_free(r);
  CHECK(std::is_sorted(paths.begin(), paths.end()));
  CHECK(paths == std::vector<std::string>{"MANIFEST", "lib/bplain-2/bplain.so",
                                          "lib/bwidget-2/bwidget.so", "releases/2/release.yaml",
                                          "releases/2/relup.yaml"});
}

TEST_CASE("a failed build writes no output and leaves no temporary file",
          "[build][tarball][atomic]") {
  TempDir dir;
  std::string spec =
      dir.write("bad.yaml", "release: shop\nvsn: \"2\"\nmodules: [{name: bnope, vsn: \"1\"}]\n");
  Diagnostics diags;
  CHECK_FALSE(BuildTarball(Options(spec), dir / "out.tar.gz", &diags));
  CHECK_FALSE(diags.empty());
  CHECK(Listing(dir.path()) == std::vector<std::string>{"bad.yaml"});
}

TEST_CASE("a failed build leaves an existing output file as it was", "[build][tarball][atomic]") {
  TempDir dir;
  std::string out = dir.write("out.tar.gz", "previous release");
  std::string spec = dir.write("bad.yaml", "release: shop\nvsn: [\n");
  Diagnostics diags;
  CHECK_FALSE(BuildTarball(Options(spec), out, &diags));
  CHECK(ReadAll(out) == "previous release");
  CHECK(Listing(dir.path()) == std::vector<std::string>{"bad.yaml", "out.tar.gz"});
}

TEST_CASE("a build into a missing directory makes it, once the release is good",
          "[build][tarball][atomic]") {
  TempDir dir;
  std::string spec = dir.write("shop-2.yaml", kSpec);
  std::string bad = dir.write("bad.yaml", "release: shop\nvsn: [\n");
  Diagnostics diags;
  SECTION("a good release: the directory is made and the tarball written") {
    MustBuild(Options(spec), dir / "dist/shop/out.tar.gz");
    CHECK(Listing(dir / "dist/shop") == std::vector<std::string>{"out.tar.gz"});
  }
  SECTION("a bad release: no directory is made") {
    CHECK_FALSE(BuildTarball(Options(bad), dir / "dist/out.tar.gz", &diags));
    CHECK(Listing(dir.path()) == std::vector<std::string>{"bad.yaml", "shop-2.yaml"});
  }
  SECTION("-o naming a directory: the error says -o names the tarball file") {
    for (const std::string& out : {dir / "dist/", dir.path()}) {
      Diagnostics named;
      CHECK_FALSE(BuildTarball(Options(spec), out, &named));
      CHECK_THAT(named.format(), Catch::Contains("-o names a directory, not the tarball"));
      CHECK_THAT(named.format(), Catch::Contains("shop-2.tar.gz"));
    }
    CHECK_FALSE(std::filesystem::exists(dir / "dist"));
  }
  SECTION("-o naming the spec itself: refused, the spec untouched") {
    Diagnostics named;
    CHECK_FALSE(BuildTarball(Options(spec), spec, &named));
    CHECK_THAT(named.format(), Catch::Contains("an input of this build"));
    CHECK(ReadAll(spec) == kSpec);
  }
  SECTION("a directory that cannot be made: the error names it, nothing written") {
    dir.write("file", "not a directory");
    CHECK_FALSE(BuildTarball(Options(spec), dir / "file/out.tar.gz", &diags));
    CHECK_THAT(diags.format(),
               Catch::Contains("cannot make the output directory " + (dir / "file")));
    CHECK(Listing(dir.path()) == std::vector<std::string>{"bad.yaml", "file", "shop-2.yaml"});
  }
}

TEST_CASE("a successful build replaces the output file whole", "[build][tarball][atomic]") {
  TempDir dir;
  std::string spec = dir.write("shop-2.yaml", kSpec);
  std::string out = dir.write("out.tar.gz", "previous release");
  std::string bytes = MustBuild(Options(spec), out);
  CHECK(bytes != "previous release");
  auto files = ReadTarball(out);
  REQUIRE(files.ok());
  CHECK(VerifyManifest(*files).empty());
  CHECK(Listing(dir.path()) == std::vector<std::string>{"out.tar.gz", "shop-2.yaml"});
}

TEST_CASE("reading a tarball refuses paths and entry types a node must never unpack",
          "[build][tarball][safety]") {
  struct Case {
    const char* name;
    std::vector<RawEntry> entries;
    const char* message;
  };
  std::vector<Case> cases = {
      {"absolute path", {{"/etc/passwd", AE_IFREG, "x", ""}}, "has an absolute path"},
      {"dot-dot", {{"lib/../../evil", AE_IFREG, "x", ""}}, "has a '..' component"},
      {"symlink", {{"lib/link", AE_IFLNK, "", "/etc/passwd"}}, "is a symbolic link"},
      {"hard link", {{"a", AE_IFREG, "x", ""}, {"b", AE_IFREG, "", "a"}}, "is a hard link"},
      {"device", {{"dev", AE_IFCHR, "", ""}}, "is a device, fifo or socket"},
      {"fifo", {{"pipe", AE_IFIFO, "", ""}}, "is a device, fifo or socket"},
      {"duplicate", {{"a", AE_IFREG, "1", ""}, {"./a", AE_IFREG, "2", ""}}, "appears twice"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      auto files = ReadTarballBytes(RawTarball(c.entries), "evil.tar.gz");
      REQUIRE_FALSE(files.ok());
      CHECK(files.status().code() == StatusCode::kCorruption);
      CHECK_THAT(files.status().message(), Catch::StartsWith("evil.tar.gz: entry"));
      CHECK_THAT(files.status().message(), Catch::Contains(c.message));
    }
  }
}

TEST_CASE("reading a tarball accepts directories and a leading ./ and drops them",
          "[build][tarball][safety]") {
  auto files = ReadTarballBytes(RawTarball({{"./", AE_IFDIR, "", ""},
                                            {"./lib/", AE_IFDIR, "", ""},
                                            {"./lib/x", AE_IFREG, "hi", ""}}),
                                "ok.tar.gz");
  REQUIRE(files.ok());
  CHECK(*files == ReleaseFiles{{"lib/x", "hi"}});
}

TEST_CASE("reading something that is not a tarball is a clear error", "[build][tarball][safety]") {
  auto files = ReadTarballBytes("definitely not gzip", "junk.tar.gz");
  REQUIRE_FALSE(files.ok());
  CHECK_THAT(files.status().message(), Catch::StartsWith("junk.tar.gz: "));
  auto missing = ReadTarball("/nonexistent/relup.tar.gz");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kNotFound);
  TempDir dir;
  auto directory = ReadTarball(dir.path());
  REQUIRE_FALSE(directory.ok());
  CHECK(directory.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(directory.status().message(),
             Catch::Contains("is a directory, not a release tarball"));
}

TEST_CASE("verification names a tampered, a missing and an extra file",
          "[build][tarball][verify]") {
  TempDir dir;
  std::string spec = dir.write("shop-2.yaml", kSpec);
  MustBuild(Options(spec), dir / "shop-2.tar.gz");
  auto files = ReadTarball(dir / "shop-2.tar.gz");
  REQUIRE(files.ok());
  REQUIRE(VerifyManifest(*files).empty());

  SECTION("tampered") {
    (*files)["lib/bwidget-2/bwidget.so"][100] ^= 1;
    auto problems = VerifyManifest(*files);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] ==
          "lib/bwidget-2/bwidget.so: content differs from MANIFEST (tampered or corrupted)");
  }
  SECTION("missing") {
    files->erase("releases/2/relup.yaml");
    auto problems = VerifyManifest(*files);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] == "releases/2/relup.yaml: listed in MANIFEST but missing");
  }
  SECTION("extra") {
    (*files)["lib/evil/evil.so"] = "payload";
    auto problems = VerifyManifest(*files);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] == "lib/evil/evil.so: not listed in MANIFEST (added after the build?)");
  }
  SECTION("no manifest") {
    files->erase("MANIFEST");
    CHECK(VerifyManifest(*files) == std::vector<std::string>{"MANIFEST is missing"});
  }
}

TEST_CASE("relup verify exits kExitVerifyFailed naming the tampered file, 0 when intact",
          "[build][tarball][verify][cli]") {
  TempDir dir;
  std::string spec = dir.write("shop-2.yaml", kSpec);
  MustBuild(Options(spec), dir / "good.tar.gz");
  auto ok = testing::Run(testing::Relup() + " verify " + dir / "good.tar.gz");
  CHECK(ok.exit_code == 0);
  CHECK_THAT(ok.output, Catch::Contains("ok (4 files match MANIFEST)"));

  auto files = ReadTarball(dir / "good.tar.gz");
  REQUIRE(files.ok());
  (*files)["lib/bplain-2/bplain.so"][64] ^= 1;
  REQUIRE(WriteTarballAtomically(dir / "bad.tar.gz", *files).ok());
  auto bad = testing::Run(testing::Relup() + " verify " + dir / "bad.tar.gz");
  CHECK(bad.exit_code == 6);  // kExitVerifyFailed
  CHECK_THAT(bad.output, Catch::Contains("lib/bplain-2/bplain.so: content differs from MANIFEST"));
  CHECK_THAT(bad.output, Catch::Contains("FAILED"));

  // inspect summarizes it, and exits as verify does.
  auto inspected = testing::Run(testing::Relup() + " inspect " + dir / "bad.tar.gz");
  CHECK(inspected.exit_code == 6);
  CHECK_THAT(inspected.output, Catch::Contains("manifest: 2 problem(s); run `relup verify`"));
  CHECK(testing::Run(testing::Relup() + " inspect " + dir / "good.tar.gz").exit_code == 0);

  // A MANIFEST that lists a file twice is a failed verification for both.
  auto twice = ReadTarball(dir / "good.tar.gz");
  REQUIRE(twice.ok());
  std::string& manifest = (*twice)["MANIFEST"];
  manifest += manifest.substr(0, manifest.find('\n') + 1);
  REQUIRE(WriteTarballAtomically(dir / "twice.tar.gz", *twice).ok());
  for (const char* cmd : {"inspect", "verify"}) {
    auto r = testing::Run(testing::Relup() + " " + cmd + " " + dir / "twice.tar.gz");
    INFO(cmd << ":\n" << r.output);
    CHECK(r.exit_code == 6);
  }
  CHECK_THAT(testing::Run(testing::Relup() + " verify " + dir / "twice.tar.gz").output,
             Catch::Contains("listed twice"));
}

TEST_CASE(
    "inspect, explain and verify give one exit status for one kind of bad tarball: 2 for a path "
    "that is no file, 6 for a file that is no release tarball",
    "[build][tarball][verify][cli]") {
  TempDir dir;
  std::string junk = dir.write("junk.tar.gz", "definitely not gzip");
  std::string no_release = dir / "no-release.tar.gz";  // a valid tarball without release.yaml
  REQUIRE(WriteTarballAtomically(no_release, ReleaseFiles{{"lib/x", "hi"}}).ok());
  struct Case {
    std::string path;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {dir / "missing.tar.gz", 2, "missing.tar.gz"},
      {dir.path(), 2, "is a directory, not a release tarball"},
      {junk, 6, "not a tar.gz archive"},
      {no_release, 6, "no-release.tar.gz"},
  };
  for (const char* cmd : {"inspect", "explain", "verify"}) {
    for (const Case& c : cases) {
      auto r = testing::Run(testing::Relup() + " " + cmd + " " + c.path);
      INFO(cmd << " " << c.path << ":\n" << r.output);
      CHECK(r.exit_code == c.exit_code);
      CHECK_THAT(r.output, Catch::Contains(std::string("relup ") + cmd + ": "));
      CHECK_THAT(r.output, Catch::Contains(c.message));
    }
  }
}

}  // namespace
}  // namespace relup::build
