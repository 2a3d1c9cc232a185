// The trial process: new module code is loaded, and every code_change tried
// on a copy of each affected process's state, in a separate process
// (relup-trial) before the node loads anything. A module that segfaults,
// exits, aborts or loops there refuses the upgrade, naming the module, the
// process and how it ended, and the node goes on as if nothing had happened.
// The `crashy` test module misbehaves in one way per build (see
// tests/modules/trial/crashy.cc).
#include <chrono>

#include "apply_fixture.h"
#include "cli_harness.h"

namespace relup::test {
namespace {

using Clock = std::chrono::steady_clock;

// release "2" with crashy TO_VSN, from release "1" with crashy 1.
std::string CrashyPlans(const std::string& to_vsn, int timeout_ms = 5000) {
  return "format: 1\nrelease: test\nvsn: \"2\"\nup:\n  - from: \"1\"\n    steps:\n"
         "        - {op: load_object_code, modules: [{module: crashy, vsn: \"" +
         to_vsn +
         "\"}]}\n"
         "        - {op: point_of_no_return}\n"
         "        - {op: suspend, modules: [crashy], timeout: " +
         std::to_string(timeout_ms) +
         "}\n"
         "        - {op: code_change, module: crashy, from_vsn: \"1\", to_vsn: \"" +
         to_vsn +
         "\", extra: ~}\n"
         "        - {op: resume, modules: [crashy]}\n"
         "down:\n  - to: \"1\"\n    steps:\n"
         "        - {op: load_object_code, modules: [{module: crashy, vsn: \"1\"}]}\n"
         "        - {op: point_of_no_return}\n"
         "        - {op: suspend, modules: [crashy], timeout: " +
         std::to_string(timeout_ms) +
         "}\n"
         "        - {op: code_change, module: crashy, from_vsn: \"" +
         to_vsn +
         "\", to_vsn: \"1\", down: true, extra: ~}\n"
         "        - {op: resume, modules: [crashy]}\n";
}

struct Case {
  const char* vsn;
  const char* step;    // the report's failing step
  const char* how;     // in the failure's reason
  bool names_process;  // a code_change case names the process it was trying
};

const Case kCases[] = {
    {"2-ctor-segv", "load", "SIGSEGV", false},
    {"2-ctor-exit", "load", "exited with status 3", false},
    {"2-ctor-abort", "load", "SIGABRT", false},
    {"2-cc-segv", "precheck", "SIGSEGV", true},
    {"2-cc-loop", "precheck", "did not return within 300 ms", true},
};

// A sanitizer build's helper catches SIGSEGV itself, reports it and exits
// (TSan with status 66): then the refusal says the helper exited instead.
std::string HowUnderThisBuild(const std::string& how) {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  if (how == "SIGSEGV") return "ended the trial process";
#endif
  return how;
}

// After a refusal: every process on crashy 1 with its state, the bad
// version not loaded, and the processes still answer.
void CheckUntouched(UpgradeFixture& f, const std::vector<Pid>& pids, const std::string& bad) {
  CHECK(f.node().code_server().find("crashy", bad) == nullptr);
  for (size_t i = 0; i < pids.size(); ++i) {
    CHECK(f.Vsn(pids[i]) == "1");
    auto got = f.node().call(pids[i], Map("{add: 1}"));
    REQUIRE(got.ok());
    CHECK(*got == Map("{n: " + std::to_string(i + 2) + "}"));
  }
}

TEST_CASE(
    "A module that segfaults, exits or aborts while loading, or whose code_change segfaults or "
    "never returns, is refused with the module, the process and how it ended, and the node is "
    "untouched") {
  for (const Case& c : kCases) {
    DYNAMIC_SECTION(c.vsn) {
      UpgradeFixture f;
      f.Load("crashy", "1");
      f.Install("crashy", c.vsn);
      std::vector<Pid> pids = f.Spawn("crashy", 3);
      for (size_t i = 0; i < pids.size(); ++i) {
        REQUIRE(f.node().call(pids[i], Map("{add: " + std::to_string(i + 1) + "}")).ok());
      }
      PlanSet plans = Plans(CrashyPlans(c.vsn, 300));
      Release r2 = MakeRelease("2", {{"crashy", c.vsn}});

      auto t0 = Clock::now();
      UpgradeReport report = f.Run(plans.up[0], r2, &plans.down[0]);
      auto took = Clock::now() - t0;

      INFO(report.status().ToString());
      REQUIRE(report.outcome == UpgradeOutcome::kRefused);
      REQUIRE(report.failures.size() == 1);
      CHECK(report.failures[0].module == "crashy");
      CHECK(report.failures[0].step == c.step);
      CHECK_THAT(report.status().message(), Catch::Contains(HowUnderThisBuild(c.how)));
      CHECK_THAT(report.status().message(), Catch::Contains("the node is unchanged"));
      if (c.names_process) CHECK(report.failures[0].pid == pids[0]);
      CHECK(report.pause.count == 0);
      CHECK(took < std::chrono::seconds(5));
      CheckUntouched(f, pids, c.vsn);

      // The node goes on: the well-behaved version 2 upgrades the same processes.
      f.Install("crashy", "2");
      Release good = MakeRelease("2", {{"crashy", "2"}});
      PlanSet fixed = Plans(CrashyPlans("2"));
      UpgradeReport ok = f.Run(fixed.up[0], good, &fixed.down[0]);
      INFO(ok.status().ToString());
      CHECK(ok.outcome == UpgradeOutcome::kOk);
      CHECK(f.State(pids[2]) == Map("{n: 4, v2: true}"));
    }
  }
}

TEST_CASE("A static constructor that never returns is stopped at the trial's load timeout") {
  UpgradeFixture f;
  f.Load("crashy", "1");
  f.Install("crashy", "2-ctor-hang");
  std::vector<Pid> pids = f.Spawn("crashy", 1);
  PlanSet plans = Plans(CrashyPlans("2-ctor-hang"));
  ExecuteOptions options;
  options.trial_load_timeout = Millis(300);
  UpgradeReport report =
      f.Run(plans.up[0], MakeRelease("2", {{"crashy", "2-ctor-hang"}}), nullptr, options);
  INFO(report.status().ToString());
  REQUIRE(report.outcome == UpgradeOutcome::kRefused);
  CHECK(report.failures[0].step == "load");
  CHECK_THAT(report.status().message(), Catch::Contains("loading crashy 2-ctor-hang"));
  CHECK_THAT(report.status().message(), Catch::Contains("did not return within 300 ms"));
  CHECK(f.node().code_server().find("crashy", "2-ctor-hang") == nullptr);
  CHECK(f.Vsn(pids[0]) == "1");
}

TEST_CASE(
    "Without the trial helper an upgrade that loads code is refused, saying what to reinstall") {
  UpgradeFixture f;
  f.Load("crashy", "1");
  f.Install("crashy", "2");
  std::vector<Pid> pids = f.Spawn("crashy", 1);
  PlanSet plans = Plans(CrashyPlans("2"));
  ExecuteOptions options;
  options.trial_helper = f.root() + "/no-such-relup-trial";
  UpgradeReport report = f.Run(plans.up[0], MakeRelease("2", {{"crashy", "2"}}), nullptr, options);
  REQUIRE(report.outcome == UpgradeOutcome::kRefused);
  CHECK_THAT(report.status().message(), Catch::Contains("no-such-relup-trial"));
  CHECK_THAT(report.status().message(), Catch::Contains("reinstall relup"));
  CHECK(f.Vsn(pids[0]) == "1");
}

// The same cases through the real binary against a real node.
TEST_CASE(
    "relup apply of a release whose module crashes in any of the ways exits 3 naming it, logs "
    "it, and the node keeps answering with nothing changed",
    "[cli][apply]") {
  ScratchDir dir;
  std::vector<ReleaseProcess> procs;
  for (int i = 1; i <= 2; ++i) {
    ReleaseProcess p;
    p.module = "crashy";
    p.name = "k" + std::to_string(i);
    procs.push_back(p);
  }
  std::string v1 = WriteTarball(dir.path(), MakeRelease("1", {{"crashy", "1"}}, procs), "");
  NodeRoot root;
  root.start(v1);
  REQUIRE(Relup({"call", "--root", root.path(), "k1", "{add: 5}"}).exit_code == 0);

  for (const Case& c : kCases) {
    INFO(c.vsn);
    ScratchDir sub;
    std::string v2 = WriteTarball(sub.path(), MakeRelease("2", {{"crashy", c.vsn}}, procs),
                                  CrashyPlans(c.vsn, 300));
    RunResult apply = Relup({"apply", v2, "--root", root.path()});
    INFO(apply.both());
    CHECK(apply.exit_code == 3);
    CHECK(Contains(apply.both(), "crashy"));
    CHECK(Contains(apply.both(), HowUnderThisBuild(c.how)));
    if (c.names_process) CHECK(Contains(apply.both(), "k1"));
    RunResult status = Relup({"status", "--root", root.path()});
    INFO(status.both());
    CHECK(status.exit_code == 0);
    CHECK(Contains(status.out, "crashy 1: 2"));
    CHECK(Trimmed(Relup({"call", "--root", root.path(), "k1", ":get"}).out) == "{n: 5}");
    std::string log = ReadBytes(root.file("node.log"));
    CHECK(Contains(log, HowUnderThisBuild(c.how)));
  }
}

// release 2 with crashy 2 as built into `library`, from release 1.
std::string CrashyTwo(const std::string& dir, const std::string& library, int processes,
                      const std::string& name_suffix = "") {
  std::vector<ReleaseProcess> procs;
  for (int i = 1; i <= processes; ++i) {
    ReleaseProcess p;
    p.module = "crashy";
    p.name = "k" + std::to_string(i);
    procs.push_back(p);
  }
  Release r = MakeRelease("2", {{"crashy", "2"}}, procs);
  ReleaseFiles files = ReleaseTarballFiles(r, CrashyPlans("2") + name_suffix);
  std::string bytes = ReadBytes(library);
  files[r.modules[0].path] = bytes;
  r.modules[0].sha256 = Sha256Hex(bytes);
  files[ReleaseYamlPath("2")] = ReleaseToYaml(r);
  files.erase(kManifestPath);
  files[kManifestPath] = MakeManifest(files);
  static int serial = 0;
  std::string path = dir + "/crashy-2-" + std::to_string(++serial) + ".tar.gz";
  REQUIRE(WriteTarballAtomically(path, files).ok());
  return path;
}

TEST_CASE(
    "After a refused apply, the corrected tarball of the same vsn (same module vsn, other bytes) "
    "just applies, while a release that ran is never silently replaced",
    "[cli][apply]") {
  ScratchDir dir;
  std::vector<ReleaseProcess> procs(1);
  procs[0].module = "crashy";
  procs[0].name = "k1";
  std::string v1 = WriteTarball(dir.path(), MakeRelease("1", {{"crashy", "1"}}, procs), "");
  std::string broken = CrashyTwo(dir.path(), TestModule("broken/crashy-2.so"), 1);
  std::string fixed = CrashyTwo(dir.path(), TestModule("crashy-2.so"), 1);
  NodeRoot root;
  root.start(v1);

  RunResult first = Relup({"apply", broken, "--root", root.path()});
  INFO(first.both());
  REQUIRE(first.exit_code == 3);
  CHECK(Contains(first.both(), HowUnderThisBuild("SIGSEGV")));
  CHECK(Contains(Relup({"releases", "--root", root.path()}).out, "unpacked"));

  RunResult retry = Relup({"apply", fixed, "--root", root.path()});
  INFO(retry.both());
  REQUIRE(retry.exit_code == 0);
  CHECK(Contains(retry.both(), "never ran"));
  CHECK(Contains(retry.both(), "replaced"));
  CHECK(Trimmed(Relup({"call", "--root", root.path(), "k1", ":get"}).out) == "{n: 0, v2: true}");
  // Applying the same good tarball again is not an error worth a new vsn.
  RunResult again = Relup({"apply", fixed, "--root", root.path()});
  CHECK(Contains(again.both(), "already running"));

  // Release 2 runs, then has run: other bytes under its vsn are refused,
  // with the way out.
  std::string other = CrashyTwo(dir.path(), TestModule("crashy-2.so"), 1, "# another build\n");
  RunResult running = Relup({"apply", other, "--root", root.path()});
  INFO(running.both());
  CHECK(running.exit_code != 0);
  CHECK(Contains(running.both(), "already running"));
  REQUIRE(Relup({"downgrade", "1", "--root", root.path()}).exit_code == 0);
  RunResult ran = Relup({"apply", other, "--root", root.path()});
  INFO(ran.both());
  CHECK(ran.exit_code != 0);
  CHECK(Contains(ran.both(), "has run on this node"));
  CHECK(Contains(ran.both(), "relup remove 2"));
  CHECK(Relup({"status", "--root", root.path()}).exit_code == 0);
}

}  // namespace
}  // namespace relup::test
