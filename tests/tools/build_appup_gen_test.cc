// Appups generated from the difference between two releases (relup build
// --from, relup gen-appup), and how they meet written appups.
#include <catch2/catch.hpp>

#include "builder/appup_gen.h"
#include "builder/inspect.h"
#include "build_test_util.h"

namespace relup::build {
namespace {

using testing::MustBuild;
using testing::Options;
using testing::TempDir;

const char* kOld = R"(release: shop
vsn: "1"
modules:
  - {name: bwidget, vsn: "1"}
  - {name: bplain, vsn: "1"}
  - {name: bextra, vsn: "1"}
processes:
  - {module: bwidget, name: w, args: {n: 1}}
  - {module: bextra, name: old_helper}
)";

const char* kNew = R"(release: shop
vsn: "2"
modules:
  - {name: bwidget, vsn: "2"}
  - {name: bplain, vsn: "2"}
  - {name: bgadget, vsn: "1"}
processes:
  - {module: bwidget, name: w, args: {n: 1}}
  - {module: bgadget, name: g, args: {size: 3}, count: 2}
)";

std::vector<std::string> Summary(const AppupEntry& entry) {
  std::vector<std::string> out;
  for (const auto& in : entry.instructions) {
    std::string target = in.kind == InstructionKind::kStop    ? in.name
                         : in.kind == InstructionKind::kStart ? in.process.name
                                                              : in.module;
    out.push_back(std::string(InstructionName(in.kind)) + " " + target);
  }
  return out;
}

TEST_CASE("gen-appup: added, removed and changed modules each get their instruction",
          "[build][appup]") {
  TempDir dir;
  std::string old_spec = dir.write("shop-1.yaml", kOld);
  std::string new_spec = dir.write("shop-2.yaml", kNew);
  Diagnostics diags;
  auto appup = GenerateAppup(old_spec, new_spec, Options("").search, &diags);
  INFO(diags.format());
  REQUIRE(appup);
  REQUIRE(appup->up.size() == 1);
  REQUIRE(appup->down.size() == 1);
  CHECK(appup->up[0].vsn == "1");
  CHECK(appup->down[0].vsn == "1");
  // bwidget 2 has a code_change -> update; bplain 2 has none -> load_module.
  CHECK(Summary(appup->up[0]) ==
        std::vector<std::string>{"add_module bgadget", "load_module bplain", "update bwidget",
                                 "stop old_helper", "start g", "delete_module bextra"});
  // Down: the target versions decide (bwidget 1 has a code_change too).
  CHECK(Summary(appup->down[0]) ==
        std::vector<std::string>{"add_module bextra", "load_module bplain", "update bwidget",
                                 "stop g", "start old_helper", "delete_module bgadget"});
  // Upgrades start new processes by name (this release has them); downgrades
  // carry the older release's process entry in full.
  CHECK(appup->up[0].instructions[4].start_by_name);
  CHECK_FALSE(appup->down[0].instructions[4].start_by_name);
  CHECK(appup->down[0].instructions[4].process.module == "bextra");
}

TEST_CASE("gen-appup prints YAML that pasted into the spec builds the same plans",
          "[build][appup]") {
  TempDir dir;
  std::string old_spec = dir.write("shop-1.yaml", kOld);
  std::string new_spec = dir.write("shop-2.yaml", kNew);
  Diagnostics diags;
  auto appup = GenerateAppup(old_spec, new_spec, Options("").search, &diags);
  REQUIRE(appup);
  std::string yaml = AppupToYaml(*appup);
  CHECK(yaml == R"(appup:
  up:
    - from: "1"
      instructions:
        - add_module: bgadget
        - load_module: bplain
        - update: bwidget
        - stop: old_helper
        - start: g
        - delete_module: bextra
  down:
    - to: "1"
      instructions:
        - add_module: bextra
        - load_module: bplain
        - update: bwidget
        - stop: g
        - start: {module: bextra, name: old_helper, args: ~}
        - delete_module: bgadget
)");
  std::string written = dir.write("shop-2-written.yaml", std::string(kNew) + yaml);
  BuildOutput generated = MustBuild(Options(new_spec, old_spec));
  BuildOutput pasted = MustBuild(Options(written, old_spec));
  CHECK(generated.plans.up[0].generated);
  CHECK_FALSE(pasted.plans.up[0].generated);
  for (auto* out : {&generated, &pasted}) {
    for (auto& p : out->plans.up) p.generated = false;
    for (auto& p : out->plans.down) p.generated = false;
  }
  CHECK(PlanSetToYaml(generated.plans) == PlanSetToYaml(pasted.plans));
}

TEST_CASE("relup build --from fills in exact module versions of the generated plans",
          "[build][appup]") {
  TempDir dir;
  std::string old_spec = dir.write("shop-1.yaml", kOld);
  std::string new_spec = dir.write("shop-2.yaml", kNew);
  BuildOutput out = MustBuild(Options(new_spec, old_spec));
  REQUIRE(out.plans.up.size() == 1);
  const UpgradePlan* up = out.plans.find_up("1");
  REQUIRE(up);
  const CodeChangeStep* change = nullptr;
  for (const auto& s : up->steps) {
    if (auto* c = std::get_if<CodeChangeStep>(&s)) change = c;
  }
  REQUIRE(change);
  CHECK(change->module == "bwidget");
  CHECK(change->from_vsn == "1");
  CHECK(change->to_vsn == "2");
  CHECK(change->old_vsn() == Term("1"));
  const UpgradePlan* down = out.plans.find_down("1");
  REQUIRE(down);
  for (const auto& s : down->steps) {
    if (auto* c = std::get_if<CodeChangeStep>(&s)) change = c;
  }
  CHECK(change->from_vsn == "2");
  CHECK(change->to_vsn == "1");
  // Going down, bwidget 2's code_change runs (the newer one), asked for 1.
  CHECK(change->old_vsn() == Term::tuple({Term::atom("down"), Term("1")}));
  CHECK(change->runs_vsn() == "2");
}

TEST_CASE("a written appup entry wins over the generated one", "[build][appup]") {
  TempDir dir;
  std::string old_spec = dir.write("shop-1.yaml", kOld);
  std::string new_spec = dir.write("shop-2.yaml", std::string(kNew) + R"(appup:
  up:
    - from: "1.*"
      instructions: []
    - from: "1"
      instructions:
        - add_module: bgadget
        - update: {module: bwidget, extra: {migrate: true}, timeout: 250}
        - load_module: bplain
        - delete_module: bextra
)");
  BuildOutput out = MustBuild(Options(new_spec, old_spec));
  // The written up entry for "1" is kept as written (extra, timeout); only the
  // missing down entry is generated.
  REQUIRE(out.plans.up.size() == 2);
  const UpgradePlan* up = out.plans.find_up("1");
  REQUIRE(up);
  CHECK(up->vsn == "1");
  CHECK_FALSE(up->generated);
  bool saw_extra = false;
  for (const auto& s : up->steps) {
    if (auto* c = std::get_if<CodeChangeStep>(&s)) {
      CHECK(c->extra == Term::map({{Term::atom("migrate"), Term(true)}}));
      saw_extra = true;
    }
    if (auto* s2 = std::get_if<SuspendStep>(&s)) CHECK(s2->timeout == Millis(250));
    CHECK_FALSE(std::holds_alternative<StartStep>(s));  // nothing generated into it
  }
  CHECK(saw_extra);
  REQUIRE(out.plans.down.size() == 1);
  CHECK(out.plans.down[0].generated);
}

TEST_CASE("a written pattern entry matching the --from version also wins", "[build][appup]") {
  TempDir dir;
  std::string old_spec = dir.write("shop-1.yaml", kOld);
  std::string new_spec = dir.write("shop-2.yaml", std::string(kNew) + R"(appup:
  up:
    - from: "?"
      instructions:
        - add_module: bgadget
        - update: bwidget
        - load_module: bplain
        - delete_module: bextra
  down:
    - to: "*"
      instructions:
        - update: bwidget
)");
  BuildOutput out = MustBuild(Options(new_spec, old_spec));
  REQUIRE(out.plans.up.size() == 1);
  REQUIRE(out.plans.down.size() == 1);
  CHECK(out.plans.up[0].vsn == "?");
  // A pattern serves several releases: the versions it leaves are not fixed.
  for (const auto& s : out.plans.up[0].steps) {
    if (auto* c = std::get_if<CodeChangeStep>(&s)) {
      CHECK(c->from_vsn.empty());
      CHECK(c->to_vsn == "2");
    }
  }
}

TEST_CASE("two releases with the same modules generate an empty appup, not an error",
          "[build][appup]") {
  TempDir dir;
  std::string a =
      dir.write("a.yaml", "release: shop\nvsn: \"1\"\nmodules: [{name: bplain, vsn: \"1\"}]\n");
  std::string b =
      dir.write("b.yaml", "release: shop\nvsn: \"1.1\"\nmodules: [{name: bplain, vsn: \"1\"}]\n");
  Diagnostics diags;
  auto appup = GenerateAppup(a, b, Options("").search, &diags);
  REQUIRE(appup);
  CHECK(appup->up[0].instructions.empty());
  CHECK(appup->down[0].instructions.empty());
}

TEST_CASE("relup build accepts a release tarball for --from as well as a spec", "[build][appup]") {
  TempDir dir;
  std::string old_spec = dir.write("shop-1.yaml", kOld);
  std::string new_spec = dir.write("shop-2.yaml", kNew);
  Diagnostics diags;
  REQUIRE(BuildTarball(Options(old_spec), dir / "shop-1.tar.gz", &diags));
  BuildOutput from_spec = MustBuild(Options(new_spec, old_spec));
  BuildOutput from_tarball = MustBuild(Options(new_spec, dir / "shop-1.tar.gz"));
  CHECK(PlanSetToYaml(from_spec.plans) == PlanSetToYaml(from_tarball.plans));
  CHECK(from_spec.files == from_tarball.files);
}

TEST_CASE("a --from release with the same vsn as the spec is refused", "[build][appup]") {
  TempDir dir;
  std::string spec = dir.write("shop-2.yaml", kNew);
  Diagnostics diags;
  CHECK_FALSE(BuildRelease(Options(spec, spec), &diags));
  CHECK_THAT(diags.format(), Catch::Contains("the same vsn as this release"));
}

TEST_CASE("the demo specs build, and demo-2 --from demo-1 knows every module version",
          "[build][appup][demo]") {
  std::string specs = RELUP_SOURCE_DIR "/release-specs/";
  BuildOutput one = MustBuild(Options(specs + "demo-1.yaml"));
  CHECK(one.release.processes.size() == 1);
  CHECK(one.release.processes[0].name == "blackode");
  CHECK(one.release.processes[0].args ==
        Term::map({{Term::atom("name"), Term("blackode")}, {Term::atom("money"), Term(30000)}}));
  BuildOutput two = MustBuild(Options(specs + "demo-2.yaml", specs + "demo-1.yaml"));
  REQUIRE(two.plans.up.size() == 1);
  REQUIRE(two.plans.down.size() == 1);
  CHECK_FALSE(two.plans.up[0].generated);  // demo-2 writes both entries
  std::string text = PlanSetToYaml(two.plans);
  CHECK_THAT(
      text,
      Catch::Contains(
          R"({op: code_change, module: "demo_server", from_vsn: "1", to_vsn: "2", down: false, extra: ~})"));
  CHECK_THAT(
      text,
      Catch::Contains(
          R"({op: code_change, module: "demo_server", from_vsn: "2", to_vsn: "1", down: true, extra: ~})"));
}

}  // namespace
}  // namespace relup::build
