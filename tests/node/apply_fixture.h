// Helpers for the upgrade tests: a node with a scratch root whose lib/
// holds the test modules in the release layout (lib/NAME-VSN/NAME.so),
// plans written as relup.yaml text, and release tarballs built in memory.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "release/release_unpack.h"
#include "release/tarball.h"
#include "upgrade/upgrade_executor.h"
#include "relup/node.h"
#include "relup/plan.h"
#include "relup/release.h"

namespace relup::test {

inline std::string ModuleFile(const std::string& module, const std::string& vsn) {
  std::string test = std::string(RELUP_TEST_MODULE_DIR) + "/" + module + "-" + vsn + ".so";
  if (std::filesystem::exists(test)) return test;
  return std::string(RELUP_MODULE_DIR) + "/" + module + "-" + vsn + ".so";
}

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A fresh directory under $TMPDIR, removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/relup-apply-XXXXXX";
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    path_ = templ;
  }
  ~ScratchDir() { RemoveTree(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline Term Map(std::string_view yaml) {
  Result<Term> t = Term::parse(yaml);
  REQUIRE(t.ok());
  return *t;
}

inline PlanSet Plans(std::string_view yaml) {
  Result<PlanSet> plans = ParsePlanSetYaml(yaml, "test relup.yaml");
  INFO(plans.status().ToString());
  REQUIRE(plans.ok());
  return *plans;
}

// A release of test modules: {"counter", "2"}, ...
inline Release MakeRelease(const std::string& vsn,
                           std::vector<std::pair<std::string, std::string>> modules,
                           std::vector<ReleaseProcess> processes = {}) {
  Release r;
  r.name = "test";
  r.vsn = vsn;
  std::sort(modules.begin(), modules.end());
  for (const auto& [name, mvsn] : modules) {
    ReleaseModule m;
    m.name = name;
    m.vsn = mvsn;
    m.path = ModuleLibraryPath(name, mvsn);
    m.sha256 = Sha256Hex(ReadBytes(ModuleFile(name, mvsn)));
    r.modules.push_back(m);
  }
  r.processes = std::move(processes);
  return r;
}

// Release processes c1..cN of counter, with ids 1..N.
inline std::vector<ReleaseProcess> Counters(int n) {
  std::vector<ReleaseProcess> out;
  for (int i = 1; i <= n; ++i) {
    ReleaseProcess p;
    p.module = "counter";
    p.name = "c" + std::to_string(i);
    p.args = Map("{id: " + std::to_string(i) + "}");
    out.push_back(p);
  }
  return out;
}

// The files of a release tarball: manifest, release.yaml, relup.yaml, libraries.
inline ReleaseFiles ReleaseTarballFiles(const Release& release, const std::string& relup_yaml) {
  ReleaseFiles files;
  files[ReleaseYamlPath(release.vsn)] = ReleaseToYaml(release);
  if (!relup_yaml.empty()) files[RelupYamlPath(release.vsn)] = relup_yaml;
  for (const ReleaseModule& m : release.modules)
    files[m.path] = ReadBytes(ModuleFile(m.name, m.vsn));
  files[kManifestPath] = MakeManifest(files);
  return files;
}

inline std::string WriteTarball(const std::string& dir, const Release& release,
                                const std::string& relup_yaml) {
  std::string path = dir + "/test-" + release.vsn + ".tar.gz";
  REQUIRE(WriteTarballAtomically(path, ReleaseTarballFiles(release, relup_yaml)).ok());
  return path;
}

// A node plus a root whose lib/ holds the test modules in release layout.
class UpgradeFixture {
 public:
  UpgradeFixture() : node_(Options(root_.path())) {}
  ~UpgradeFixture() { node_.shutdown(); }

  Node& node() { return node_; }
  const std::string& root() const { return root_.path(); }

  // Copies MODULE-VSN.so to ROOT/lib/MODULE-VSN/MODULE.so.
  void Install(const std::string& module, const std::string& vsn) {
    std::string dir = root() + "/lib/" + module + "-" + vsn;
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(ModuleFile(module, vsn), dir + "/" + module + ".so",
                               std::filesystem::copy_options::overwrite_existing);
  }
  // Installs and loads a version, as booting a release does.
  void Load(const std::string& module, const std::string& vsn) {
    Install(module, vsn);
    auto v = node_.code_server().load(root() + "/" + ModuleLibraryPath(module, vsn), module);
    INFO(v.status().ToString());
    REQUIRE(v.ok());
  }

  std::vector<Pid> Spawn(const std::string& module, int count, const std::string& extra_args = "") {
    std::vector<Pid> pids;
    for (int i = 0; i < count; ++i) {
      Term args =
          Map("{id: " + std::to_string(i) + (extra_args.empty() ? "" : ", " + extra_args) + "}");
      auto pid = node_.spawn(module, args);
      REQUIRE(pid.ok());
      pids.push_back(*pid);
    }
    return pids;
  }

  UpgradeReport Run(const UpgradePlan& plan, const Release& target, const UpgradePlan* back,
                    ExecuteOptions options = {}, bool downgrade = false) {
    PlanContext context;
    context.from_release = downgrade ? "2" : "1";
    context.to_release = target.vsn;
    context.downgrade = downgrade;
    context.target = &target;
    context.lib_root = root();
    context.back = back;
    return UpgradeExecutor(node_).Run(plan, context, options);
  }

  Term State(Pid pid) {
    auto s = node_.get_state(pid);
    INFO(s.status().ToString());
    REQUIRE(s.ok());
    return *s;
  }
  // The state through the mailbox (a :get call): unlike get_state it comes
  // after every message already queued, so it counts them all.
  Term Get(Pid pid) {
    auto s = node_.call(pid, Term::atom("get"));
    INFO(s.status().ToString());
    REQUIRE(s.ok());
    return *s;
  }
  std::string Vsn(Pid pid) {
    auto st = node_.get_status(pid);
    REQUIRE(st.ok());
    return st->vsn;
  }

 private:
  static Node::Options Options(const std::string& root) {
    Node::Options o;
    o.workers = 2;
    o.code_dir = root + "/code";
    o.log = [](LogLevel, std::string_view) {};
    return o;
  }

  ScratchDir root_;
  Node node_;
};

// relup.yaml for `modules` (counter, ledger, demo_server...) 1 <-> 2, as relup
// build compiles an appup `update` (with depends_on when several are given).
inline std::string CounterPlans(const std::vector<std::string>& modules,
                                const std::string& extra = "~", bool with_down = true,
                                int timeout_ms = 5000) {
  std::string list, loads2, loads1, changes_up, changes_down, purges;
  for (const auto& m : modules) {
    list += (list.empty() ? "" : ", ") + m;
    loads2 += std::string(loads2.empty() ? "" : ", ") + "{module: " + m + ", vsn: \"2\"}";
    loads1 += std::string(loads1.empty() ? "" : ", ") + "{module: " + m + ", vsn: \"1\"}";
    changes_up += "        - {op: code_change, module: " + m +
                  ", from_vsn: \"1\", to_vsn: \"2\", extra: " + extra + "}\n";
    changes_down += "        - {op: code_change, module: " + m +
                    ", from_vsn: \"2\", to_vsn: \"1\", down: true, extra: ~}\n";
    purges += "        - {op: purge, module: " + m + ", mode: soft}\n";
  }
  std::string t = std::to_string(timeout_ms);
  std::string yaml =
      "format: 1\nrelease: test\nvsn: \"2\"\nup:\n  - from: \"1\"\n    steps:\n"
      "        - {op: load_object_code, modules: [" +
      loads2 +
      "]}\n"
      "        - {op: point_of_no_return}\n"
      "        - {op: suspend, modules: [" +
      list + "], timeout: " + t + "}\n" + changes_up + "        - {op: resume, modules: [" + list +
      "]}\n" + purges;
  if (with_down) {
    yaml +=
        "down:\n  - to: \"1\"\n    steps:\n"
        "        - {op: load_object_code, modules: [" +
        loads1 +
        "]}\n"
        "        - {op: point_of_no_return}\n"
        "        - {op: suspend, modules: [" +
        list + "], timeout: " + t + "}\n" + changes_down + "        - {op: resume, modules: [" +
        list + "]}\n" + purges;
  }
  return yaml;
}

}  // namespace relup::test
