// Compiled upgrade plans (relup/plan.h): the step order the executor relies
// on, depends_on groups, and the relup.yaml / release.yaml formats.
#include <catch2/catch.hpp>

#include "build_test_util.h"
#include "builder/plan_compiler.h"

namespace relup::build {
namespace {

using testing::MustBuild;
using testing::Options;
using testing::TempDir;

std::vector<std::string> Steps(const UpgradePlan& plan) {
  std::vector<std::string> out;
  for (const auto& s : plan.steps) out.push_back(DescribeStep(s));
  return out;
}

UpgradePlan CompileUp(const std::string& instructions_yaml, Diagnostics* diags) {
  TempDir dir;
  std::string spec = dir.write("s.yaml", R"(release: shop
vsn: "2"
modules:
  - {name: bwidget, vsn: "2"}
  - {name: bgadget, vsn: "2"}
  - {name: bplain, vsn: "2"}
processes:
  - {module: bwidget, name: pool, args: {n: 1}, count: 3}
appup:
  up:
    - from: "1"
      instructions:
)" + instructions_yaml);
  auto out = BuildRelease(Options(spec), diags);
  if (!out) return {};
  return out->plans.up.at(0);
}

TEST_CASE("an update compiles to suspend, code_change, resume after the point of no return",
          "[build][plan]") {
  Diagnostics diags;
  UpgradePlan plan = CompileUp("        - update: bwidget\n", &diags);
  INFO(diags.format());
  REQUIRE(diags.empty());
  CHECK(Steps(plan) == std::vector<std::string>{
                           "load_object_code bwidget 2",
                           "point_of_no_return   -- processes are touched from here; a failure "
                           "rolls back",
                           "suspend [bwidget] (timeout 5000 ms)",
                           "code_change bwidget (running vsn) -> 2: bwidget 2's code_change runs, "
                           "old_vsn the running vsn, extra ~",
                           "resume [bwidget]",
                           "purge bwidget (soft: old versions dropped)",
                       });
}

TEST_CASE("depends_on joins updates into one segment, dependencies changed first",
          "[build][plan]") {
  Diagnostics diags;
  UpgradePlan plan =
      CompileUp(R"(        - update: {module: bwidget, depends_on: [bgadget, bplain], timeout: 100}
        - load_module: {module: bplain, purge: brutal}
        - update: {module: bgadget, timeout: 700, extra: !tuple [:v, 2]}
)",
                &diags);
  INFO(diags.format());
  REQUIRE(diags.empty());
  CHECK(Steps(plan) == std::vector<std::string>{
                           "load_object_code bwidget 2, bplain 2, bgadget 2",
                           "point_of_no_return   -- processes are touched from here; a failure "
                           "rolls back",
                           // bplain is suspended with the group (bwidget depends on it) but
                           // changes code by its own load_module.
                           "suspend [bgadget, bplain, bwidget] (timeout 700 ms)",
                           "code_change bgadget (running vsn) -> 2: bgadget 2's code_change runs, "
                           "old_vsn the running vsn, "
                           "extra !tuple [:v, 2]",
                           "code_change bwidget (running vsn) -> 2: bwidget 2's code_change runs, "
                           "old_vsn the running vsn, extra ~",
                           "resume [bgadget, bplain, bwidget]",
                           "load bplain 2 (code switch, state kept)",
                           "purge bwidget (soft: old versions dropped)",
                           "purge bplain (brutal: old versions dropped)",
                           "purge bgadget (soft: old versions dropped)",
                       });
}

TEST_CASE("independent updates get a segment each, so each pause stays short", "[build][plan]") {
  Diagnostics diags;
  UpgradePlan plan = CompileUp("        - update: bwidget\n        - update: bgadget\n", &diags);
  REQUIRE(diags.empty());
  int suspends = 0;
  for (const auto& s : plan.steps) suspends += std::holds_alternative<SuspendStep>(s);
  CHECK(suspends == 2);
}

TEST_CASE("start, stop, apply keep their order, and delete_module comes last", "[build][plan]") {
  TempDir dir;
  std::string spec = dir.write("s.yaml", R"(release: shop
vsn: "2"
modules:
  - {name: bwidget, vsn: "2"}
processes:
  - {module: bwidget, name: pool, args: {n: 1}, count: 3}
appup:
  up:
    - from: "1"
      instructions:
        - delete_module: bplain
        - stop: old_pool
        - start: pool
        - apply: {module: bwidget, function: warm_cache, args: [1, 2], init_args: {n: 0}}
        - start: {module: bwidget, name: extra, args: {n: 9}}
)");
  BuildOutput out = MustBuild(Options(spec));
  CHECK(Steps(out.plans.up[0]) ==
        std::vector<std::string>{
            "load_object_code (nothing to load)",
            "point_of_no_return   -- processes are touched from here; a failure rolls back",
            "stop old_pool",
            "start pool (module bwidget, args {n: 1}, count 3)",
            "apply bwidget:warm_cache([1, 2])",
            "start extra (module bwidget, args {n: 9})",
            "delete_module bplain",
        });
  const auto& apply = std::get<ApplyStep>(out.plans.up[0].steps[4]);
  CHECK(apply.request() == Term::map({{Term::atom("apply"), Term::atom("warm_cache")},
                                      {Term::atom("args"), Term::list({Term(1), Term(2)})}}));
}

TEST_CASE("a start naming no process of the release is refused", "[build][plan]") {
  Diagnostics diags;
  CompileUp("        - start: nobody\n", &diags);
  CHECK_THAT(diags.format(), Catch::Contains("release shop 2 has no process named nobody"));
}

TEST_CASE("relup.yaml round-trips exactly", "[build][plan][format]") {
  Diagnostics diags;
  UpgradePlan plan = CompileUp(
      R"(        - update: {module: bwidget, depends_on: [bgadget], extra: {a: [1, "two", :three]}}
        - update: bgadget
        - load_module: bplain
        - start: pool
        - apply: {module: bwidget, function: f, args: !tuple [1, 2]}
        - stop: pool
)",
      &diags);
  REQUIRE(diags.empty());
  PlanSet plans{"shop", "2", {plan}, {plan}};
  plans.down[0].vsn = "1.*";
  std::string text = PlanSetToYaml(plans);
  auto parsed = ParsePlanSetYaml(text, "relup.yaml");
  INFO(text);
  REQUIRE(parsed.ok());
  CHECK(PlanSetToYaml(*parsed) == text);
  CHECK(parsed->up[0].steps.size() == plan.steps.size());
  CHECK(std::get<CodeChangeStep>(parsed->up[0].steps[3]).extra ==
        std::get<CodeChangeStep>(plan.steps[3]).extra);
}

TEST_CASE("relup.yaml that breaks the step-order contract is refused with its location",
          "[build][plan][format]") {
  auto parse = [](const std::string& steps) {
    return ParsePlanSetYaml(
        "format: 1\nrelease: shop\nvsn: \"2\"\nup:\n  - from: \"1\"\n    steps:\n" + steps,
        "relup.yaml");
  };
  auto ok = parse("      - {op: point_of_no_return}\n");
  CHECK(ok.ok());
  auto outside = parse("      - {op: point_of_no_return}\n      - {op: code_change, module: m}\n");
  REQUIRE_FALSE(outside.ok());
  CHECK_THAT(outside.status().message(),
             Catch::Contains("code_change outside a suspend/resume segment"));
  CHECK_THAT(outside.status().message(), Catch::StartsWith("relup.yaml:5:5: step 2"));
  auto no_point = parse("      - {op: load, module: m}\n");
  REQUIRE_FALSE(no_point.ok());
  CHECK_THAT(no_point.status().message(), Catch::Contains("exactly one point_of_no_return"));
  auto unknown = parse("      - {op: reboot}\n");
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.status().message(), Catch::Contains("relup.yaml:7:14: unknown step 'reboot'"));
  auto extra_key = parse("      - {op: point_of_no_return, when: now}\n");
  REQUIRE_FALSE(extra_key.ok());
  CHECK_THAT(extra_key.status().message(), Catch::Contains("unknown key 'when'"));
  auto unmatched = parse(
      "      - {op: point_of_no_return}\n      - {op: suspend, modules: [a]}\n"
      "      - {op: code_change, module: a}\n      - {op: resume, modules: [b]}\n");
  REQUIRE_FALSE(unmatched.ok());
  CHECK_THAT(unmatched.status().message(), Catch::Contains("resume does not match a suspend"));
  auto format = ParsePlanSetYaml("format: 9\nrelease: shop\nvsn: \"2\"\n", "relup.yaml");
  REQUIRE_FALSE(format.ok());
  CHECK_THAT(format.status().message(), Catch::Contains("format 9 is not supported"));
}

TEST_CASE("find_up and find_down prefer an exact version, then the first matching pattern",
          "[build][plan][format]") {
  PlanSet plans;
  plans.up = {{"1.*", false, {}}, {"1.2", false, {}}, {"*", false, {}}};
  plans.down = {{"0.?", false, {}}};
  REQUIRE(plans.find_up("1.2"));
  CHECK(plans.find_up("1.2")->vsn == "1.2");
  CHECK(plans.find_up("1.3")->vsn == "1.*");
  CHECK(plans.find_up("2")->vsn == "*");
  CHECK(plans.find_down("0.9"));
  CHECK_FALSE(plans.find_down("0.10"));
  CHECK(VersionMatches("1.*.3", "1.22.3"));
  CHECK_FALSE(VersionMatches("1.*.3", "1.22.4"));
  CHECK(VersionMatches("*", ""));
  CHECK_FALSE(IsVersionPattern("1.2"));
}

TEST_CASE("release.yaml round-trips and is checked strictly", "[build][plan][format]") {
  Release release;
  release.name = "shop";
  release.vsn = "2";
  release.modules = {
      {"bwidget", "2", std::string(64, 'a'), "id1", true, ModuleLibraryPath("bwidget", "2")}};
  ReleaseProcess pool;
  pool.module = "bwidget";
  pool.name = "pool";
  pool.args = Term::map({{Term::atom("n"), Term(1)}});
  pool.count = 3;
  release.processes = {pool};
  std::string text = ReleaseToYaml(release);
  auto parsed = ParseReleaseYaml(text, "release.yaml");
  REQUIRE(parsed.ok());
  CHECK(ReleaseToYaml(*parsed) == text);
  CHECK(parsed->processes[0].args == release.processes[0].args);
  CHECK(RegisteredNames(parsed->processes[0]) ==
        std::vector<std::string>{"pool_1", "pool_2", "pool_3"});

  std::string wrong_path = text;
  wrong_path.replace(wrong_path.find("lib/bwidget-2/bwidget.so"), 3, "../");
  auto bad = ParseReleaseYaml(wrong_path, "release.yaml");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("expected 'lib/bwidget-2/bwidget.so'"));
  auto unknown = ParseReleaseYaml(text + "signature: x\n", "release.yaml");
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.status().message(), Catch::Contains("unknown key 'signature'"));
}

TEST_CASE("release.yaml keeps a process name with Unicode line-break characters as it was",
          "[build][plan][format]") {
  Release release;
  release.name = "shop";
  release.vsn = "2";
  release.modules = {
      {"bwidget", "2", std::string(64, 'a'), "id1", false, ModuleLibraryPath("bwidget", "2")}};
  // A raw U+0085 or U+2028 inside a double-quoted scalar is a line break
  // that a conforming YAML reader folds into a space: they are written
  // escaped. (ASCII control characters are refused in names altogether.)
  std::string name =
      "a\xC2\x85"
      "b\xE2\x80\xA8"
      "c";
  ReleaseProcess p;
  p.module = "bwidget";
  p.name = name;
  release.processes = {p};
  auto parsed = ParseReleaseYaml(ReleaseToYaml(release), "release.yaml");
  REQUIRE(parsed.ok());
  CHECK(parsed->processes[0].name == name);
}

}  // namespace
}  // namespace relup::build
