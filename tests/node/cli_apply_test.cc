// The client side of `relup apply` / `relup downgrade`: local verification
// before anything reaches the node, the report, --json, --dry-run, and the
// exit codes pipelines branch on.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

#include "cli_harness.h"
#include "raw_tarball.h"
#include "release/tarball.h"

namespace relup::test {
namespace {

TEST_CASE("apply refuses a tampered tarball before contacting the node, naming the file",
          "[cli][apply]") {
  NodeRoot root;
  root.start(DemoTarball(1));
  auto files = ReadTarball(DemoTarball(2));
  REQUIRE(files.ok());
  const std::string lib = "lib/demo_server-2/demo_server.so";
  REQUIRE(files->count(lib) == 1);
  (*files)[lib] += '\0';  // one byte more than MANIFEST says
  std::string tampered = root.file("tampered.tar.gz");
  REQUIRE(WriteTarballAtomically(tampered, *files).ok());

  RunResult r = Relup({"apply", tampered, "--root", root.path()});
  CHECK(r.exit_code == 6);  // kExitVerifyFailed
  CHECK(Contains(r.err, lib));
  CHECK(Contains(r.err, "MANIFEST"));
  // Nothing changed on the node.
  CHECK(Contains(Relup({"status", "--root", root.path()}).out, "release:   demo 1 (permanent)"));
  CHECK(Contains(Relup({"releases", "--root", root.path()}).out, "demo  1"));
  CHECK_FALSE(Contains(Relup({"releases", "--root", root.path()}).out, "demo  2"));
}

// The demo-2 release plus one extra entry whose path climbs out of the root
// (relup's own writer would never produce it).
std::string TarballWithEscapingEntry(const ReleaseFiles& files, const std::string& evil_path) {
  std::vector<RawEntry> entries;
  for (const auto& [path, content] : files) entries.push_back({path, AE_IFREG, content, ""});
  entries.push_back({evil_path, AE_IFREG, "owned\n", ""});
  return RawTarball(entries);
}

TEST_CASE(
    "apply refuses a tarball with a dot-dot entry, naming it, and writes nothing outside the root",
    "[cli][apply]") {
  NodeRoot root;
  root.start(DemoTarball(1));
  auto files = ReadTarball(DemoTarball(2));
  REQUIRE(files.ok());
  const std::string evil = "lib/../../relup-escape-probe";
  std::string bytes = TarballWithEscapingEntry(*files, evil);
  std::string tarball = root.file("escape.tar.gz");
  {
    std::ofstream out(tarball, std::ios::binary);
    out << bytes;
  }
  const auto escaped = std::filesystem::path(root.path()).parent_path() / "relup-escape-probe";
  std::filesystem::remove(escaped);

  RunResult r = Relup({"apply", tarball, "--root", root.path()});
  INFO(r.both());
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.err, evil));
  CHECK(Contains(r.err, "'..'"));
  CHECK_FALSE(std::filesystem::exists(escaped));
  CHECK(Contains(Relup({"status", "--root", root.path()}).out, "release:   demo 1 (permanent)"));
  CHECK_FALSE(Contains(Relup({"releases", "--root", root.path()}).out, "demo  2"));
}

TEST_CASE("apply of a release with no plan from the running one is refused with exit status 3",
          "[cli][apply]") {
  NodeRoot root;
  root.start(DemoTarball(1));
  // demo-1 has no upgrade plan from 1 (it is 1).
  RunResult r = Relup({"apply", DemoTarball(1), "--root", root.path()});
  INFO(r.both());
  CHECK(r.exit_code == 3);  // kExitRefused
  CHECK(Contains(r.out, "refused, nothing changed"));
  CHECK(Contains(Relup({"status", "--root", root.path()}).out, "release:   demo 1 (permanent)"));
}

TEST_CASE("apply --dry-run checks every code_change and changes nothing", "[cli][apply]") {
  NodeRoot root;
  root.start(DemoTarball(1));
  RunResult r = Relup({"apply", DemoTarball(2), "--root", root.path(), "--dry-run"});
  INFO(r.both());
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.out, "dry run of upgrade 1 -> 2"));
  CHECK(Trimmed(Relup({"state", "--root", root.path(), "blackode"}).out) ==
        "{money: 30000, name: blackode}");
  CHECK(Contains(Relup({"status", "--root", root.path()}).out, "demo_server 1: 1 process"));
  CHECK(Contains(root.log(), "-> ok (dry run): 1 -> 2, 1 processes checked, nothing changed"));
}

TEST_CASE("apply --json prints one JSON report with the pause statistics", "[cli][apply]") {
  NodeRoot root;
  root.start(DemoTarball(1));
  RunResult r = Relup({"apply", DemoTarball(2), "--root", root.path(), "--json", "--permanent"});
  INFO(r.both());
  REQUIRE(r.exit_code == 0);
  std::string json = Trimmed(r.out);
  CHECK(json.front() == '{');
  CHECK(json.back() == '}');
  CHECK(json.find('\n') == std::string::npos);
  CHECK(Contains(json, "\"outcome\":\"ok\""));
  CHECK(Contains(json, "\"p99_us\":"));
  CHECK(Contains(json, "\"to\":\"2\""));
  CHECK(Contains(json, "\"permanent\":\"2\""));  // what a restart boots now
  CHECK(Contains(Relup({"status", "--root", root.path()}).out, "release:   demo 2 (permanent)"));
}

TEST_CASE(
    "apply --json still prints one JSON object when it fails before the node sent a report, with "
    "the step and the same exit status",
    "[cli][apply]") {
  NodeRoot root;
  auto files = ReadTarball(DemoTarball(2));
  REQUIRE(files.ok());
  (*files)["lib/demo_server-2/demo_server.so"] += '\0';
  std::string tampered = root.file("tampered.tar.gz");
  REQUIRE(WriteTarballAtomically(tampered, *files).ok());
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string step;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"apply", root.file("missing.tar.gz")}, 2, "verify", "not found"},
      {{"apply", tampered}, 6, "verify", "MANIFEST"},
      {{"apply", DemoTarball(2)}, 5, "connect", "no relup node is running"},
      {{"downgrade", "1"}, 5, "connect", "no relup node is running"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = c.args;
    args.insert(args.end(), {"--root", root.path(), "--json"});
    RunResult r = Relup(args);
    INFO(c.args[0] + " " + c.args[1] + ": " + r.both());
    CHECK(r.exit_code == c.exit_code);
    std::string json = Trimmed(r.out);
    CHECK(json.find('\n') == std::string::npos);
    CHECK(json.front() == '{');
    CHECK(Contains(json, "\"outcome\":\"refused\""));
    CHECK(Contains(json, "\"failures\":[{"));
    CHECK(Contains(json, "\"step\":\"" + c.step + "\""));
    CHECK(Contains(json, c.message));
    CHECK(Contains(r.err, c.message));  // people still read stderr
  }
}

TEST_CASE("apply --json lists the touched processes only when --processes asks for them",
          "[cli][apply]") {
  NodeRoot root;
  root.start(DemoTarball(1));
  RunResult summary = Relup({"apply", DemoTarball(2), "--root", root.path(), "--json"});
  INFO(summary.both());
  REQUIRE(summary.exit_code == 0);
  CHECK_FALSE(Contains(summary.out, "\"touched\":"));  // only with --processes
  CHECK(std::regex_search(summary.out, std::regex("\"total_ms\":[0-9]+(\\.[0-9]{1,3})?[,}]")));
  CHECK(Contains(summary.out, "\"touched_count\":1"));
  CHECK_FALSE(Contains(summary.out, "\"pause_us\""));

  RunResult down = Relup({"downgrade", "1", "--root", root.path(), "--json", "--processes"});
  INFO(down.both());
  REQUIRE(down.exit_code == 0);
  CHECK(Contains(down.out, "\"name\":\"blackode\""));
  CHECK(Contains(down.out, "\"pause_us\":"));
  CHECK(Contains(down.out, "\"touched_count\":1"));
}

TEST_CASE("downgrade runs the down instructions back to the earlier release", "[cli][apply]") {
  NodeRoot root;
  const std::string& r = root.path();
  root.start(DemoTarball(1));
  REQUIRE(Relup({"apply", DemoTarball(2), "--root", r}).exit_code == 0);
  REQUIRE(Relup({"call", "--root", r, "blackode", "{add: 100000}"}).exit_code == 0);
  RunResult down = Relup({"downgrade", "1", "--root", r});
  INFO(down.both());
  CHECK(down.exit_code == 0);
  CHECK(Contains(down.out, "downgrade 2 -> 1: done"));
  CHECK(Trimmed(Relup({"state", "--root", r, "blackode"}).out) ==
        "{money: 130000, name: blackode}");
  CHECK(Contains(Relup({"status", "--root", r}).out, "release:   demo 1 (permanent)"));
}

}  // namespace
}  // namespace relup::test
