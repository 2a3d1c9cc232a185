// The release-building commands through the relup binary: exit codes and
// what they print. The library behaviour behind them is tested in the other
// build_*_test.cc files.
#include <catch2/catch.hpp>

#include "builder/inspect.h"
#include "build_test_util.h"

namespace relup::build {
namespace {

using testing::Relup;
using testing::Run;
using testing::TempDir;

std::string InRepo(const std::string& command) {
  return std::string("cd '") + RELUP_SOURCE_DIR + "' && " + command;
}

TEST_CASE("relup build builds both demo specs from the repository root with no options",
          "[build][cli][demo]") {
  TempDir dir;
  // Libraries are found in <dir of relup>/../modules, where the build puts them.
  auto one = Run(InRepo(Relup() + " build release-specs/demo-1.yaml -o " + dir / "demo-1.tar.gz"));
  INFO(one.output);
  CHECK(one.exit_code == 0);
  auto two = Run(InRepo(Relup() + " build release-specs/demo-2.yaml -o " + dir / "demo-2.tar.gz"));
  INFO(two.output);
  CHECK(two.exit_code == 0);
  CHECK_THAT(two.output, Catch::Contains("built demo 2 -> "));
  CHECK_THAT(two.output, Catch::Contains("upgrades from: 1"));

  auto tarball = OpenReleaseTarball(dir / "demo-2.tar.gz");
  REQUIRE(tarball.ok());
  CHECK(tarball->release.find_module("demo_server"));
  CHECK(tarball->plans.find_up("1"));
  CHECK(tarball->plans.find_down("1"));
  CHECK(VerifyReleaseFiles(tarball->files, "demo-2.tar.gz").empty());
}

TEST_CASE("an unknown subcommand exits 2 and names the closest command", "[cli]") {
  auto typo = Run(Relup() + " biuld x.yaml");
  CHECK(typo.exit_code == 2);
  CHECK_THAT(typo.output, Catch::Contains("unknown command 'biuld'; did you mean 'build'?"));
  auto far = Run(Relup() + " frobnicate");
  CHECK(far.exit_code == 2);
  CHECK_THAT(far.output, Catch::Contains("unknown command 'frobnicate'"));
  CHECK_THAT(far.output, !Catch::Contains("did you mean"));
}

TEST_CASE("relup build with errors exits 1, prints every error with its location, writes nothing",
          "[build][cli]") {
  TempDir dir;
  std::string spec = dir.write("bad.yaml", R"(release: demo
vsn: "2"
modules:
  - {name: demo_server, vsn: "2", libary: x}
appup:
  up:
    - from: "2"
      instructions: []
)");
  auto result = Run(Relup() + " build " + spec + " -o " + dir / "out.tar.gz");
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.output,
             Catch::Contains(spec + ":4:35: error: unknown key 'libary' in module entry"));
  CHECK_THAT(result.output, Catch::Contains("fix: did you mean 'library'?"));
  CHECK_THAT(result.output, Catch::Contains(spec + ":7:13: error: appup up entry for version 2"));
  CHECK_THAT(result.output, Catch::Contains("relup build: 2 errors; nothing written"));
  CHECK_FALSE(std::filesystem::exists(dir / "out.tar.gz"));
}

TEST_CASE("relup build without an output is a usage error", "[build][cli]") {
  auto result = Run(InRepo(Relup() + " build release-specs/demo-2.yaml"));
  CHECK(result.exit_code == 2);
}

TEST_CASE("relup build --lib-dir finds libraries outside the default places", "[build][cli]") {
  TempDir dir;
  std::string spec =
      dir.write("shop.yaml", "release: shop\nvsn: \"1\"\nmodules: [{name: bplain, vsn: \"1\"}]\n");
  auto missing = Run(Relup() + " build " + spec + " -o " + dir / "a.tar.gz");
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.output, Catch::Contains("library bplain-1.so of module bplain not found"));
  auto found = Run(Relup() + " build " + spec + " --lib-dir " + testing::kBuilderModules + " -o " +
                   dir / "a.tar.gz");
  INFO(found.output);
  CHECK(found.exit_code == 0);
}

TEST_CASE("relup explain prints each plan step by step, or the one for --from / --to",
          "[build][cli][explain]") {
  TempDir dir;
  REQUIRE(
      Run(InRepo(Relup() + " build release-specs/demo-2.yaml --from release-specs/demo-1.yaml -o " +
                 dir / "demo-2.tar.gz"))
          .exit_code == 0);
  auto all = Run(Relup() + " explain " + dir / "demo-2.tar.gz");
  CHECK(all.exit_code == 0);
  CHECK(all.output == R"(release demo 2
upgrade from 1, written in the spec:
   1. load_object_code demo_server 2
   2. point_of_no_return   -- processes are touched from here; a failure rolls back
   3. suspend [demo_server] (timeout 5000 ms)
   4. code_change demo_server 1 -> 2: demo_server 2's code_change runs, old_vsn "1", extra ~
   5. resume [demo_server]
   6. purge demo_server (soft: old versions dropped)
downgrade to 1, written in the spec:
   1. load_object_code demo_server 1
   2. point_of_no_return   -- processes are touched from here; a failure rolls back
   3. suspend [demo_server] (timeout 5000 ms)
   4. code_change demo_server 2 -> 1 (down): demo_server 2's code_change runs, old_vsn !tuple [:down, "1"], extra ~
   5. resume [demo_server]
   6. purge demo_server (soft: old versions dropped)
)");
  auto up = Run(Relup() + " explain " + dir / "demo-2.tar.gz --from 1");
  CHECK(up.exit_code == 0);
  CHECK_THAT(up.output, Catch::Contains("upgrade from 1"));
  CHECK_THAT(up.output, !Catch::Contains("downgrade"));
  auto none = Run(Relup() + " explain " + dir / "demo-2.tar.gz --from 0.9");
  CHECK(none.exit_code == 1);
  CHECK_THAT(none.output, Catch::Contains("has no plan to upgrade from 0.9 (it upgrades from: 1)"));
}

TEST_CASE("relup inspect summarizes a tarball, and --json gives the same as JSON",
          "[build][cli][inspect]") {
  TempDir dir;
  REQUIRE(Run(InRepo(Relup() + " build release-specs/demo-2.yaml -o " + dir / "demo-2.tar.gz"))
              .exit_code == 0);
  auto text = Run(Relup() + " inspect " + dir / "demo-2.tar.gz");
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.output, Catch::StartsWith("release demo 2"));
  CHECK_THAT(text.output, Catch::Contains("demo_server 2  code_change: yes"));
  CHECK_THAT(text.output,
             Catch::Contains("└─ blackode  demo_server  args {money: 30000, name: blackode}"));
  CHECK_THAT(text.output, Catch::Contains("manifest: ok"));
  auto json = Run(Relup() + " inspect --json " + dir / "demo-2.tar.gz");
  CHECK(json.exit_code == 0);
  CHECK_THAT(json.output, Catch::StartsWith("{"));
  CHECK_THAT(json.output, Catch::Contains("\"name\":\"demo\""));
  CHECK_THAT(json.output, Catch::Contains("\"verified\":true"));
  auto missing = Run(Relup() + " inspect " + dir / "nothing.tar.gz");
  CHECK(missing.exit_code == 2);  // kExitUsage: the path is no file
  CHECK_THAT(missing.output, Catch::Contains("nothing.tar.gz"));
}

TEST_CASE("relup gen-appup prints the generated appup as YAML for the spec",
          "[build][cli][appup]") {
  auto result =
      Run(InRepo(Relup() + " gen-appup release-specs/demo-1.yaml release-specs/demo-2.yaml"));
  INFO(result.output);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.output, Catch::Contains(R"(appup:
  up:
    - from: "1"
      instructions:
        - update: demo_server
  down:
    - to: "1"
      instructions:
        - update: demo_server
)"));
}

}  // namespace
}  // namespace relup::build
