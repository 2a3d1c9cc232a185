// relup check OLD NEW: the CI gate that proves an upgrade round-trips, on a
// scratch node it boots and removes itself.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_harness.h"

namespace relup::test {
namespace {

namespace fs = std::filesystem;

// A scratch directory for specs, states files and tarballs.
class Dir {
 public:
  Dir() {
    char tmpl[] = "/tmp/relup-check-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// keeper release VSN with its library from test-modules/check[/lossy].
std::string KeeperTarball(const Dir& dir, const std::string& vsn, bool lossy = false) {
  std::string spec = "release: keeper\nvsn: \"" + vsn + "\"\nmodules:\n  - {name: keeper, vsn: \"" +
                     vsn + "\", library: keeper-" + vsn +
                     ".so}\nprocesses:\n  - {module: keeper, name: k, args: {name: k, note: "
                     "kept}}\n";
  if (vsn == "2") {
    spec +=
        "appup:\n  up:\n    - from: \"1\"\n      instructions: [{update: keeper}]\n  down:\n"
        "    - to: \"1\"\n      instructions: [{update: keeper}]\n";
  }
  std::string name = "keeper-" + vsn + (lossy ? "-lossy" : "");
  std::string path = dir.write(name + ".yaml", spec);
  std::string libs = std::string(RELUP_TEST_MODULE_DIR) + "/check" + (lossy ? "/lossy" : "");
  std::string out = dir.path() + "/" + name + ".tar.gz";
  RunResult r = Relup({"build", path, "-o", out, "--lib-dir", libs, "--lib-dir",
                       std::string(RELUP_TEST_MODULE_DIR) + "/check", "--quiet"});
  INFO(r.both());
  REQUIRE(r.exit_code == 0);
  return out;
}

}  // namespace

TEST_CASE("relup check passes on demo 1 -> 2, with each step's pause and time", "[cli][check]") {
  Dir tmp;  // the scratch root goes here, and is gone afterwards
  RunResult r = Relup({"check", DemoTarball(1), DemoTarball(2)}, std::chrono::seconds(60),
                      {"TMPDIR=" + tmp.path()});
  INFO(r.both());
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.out, "up 1 -> 2"));
  CHECK(Contains(r.out, "down 2 -> 1"));
  CHECK(Contains(r.out, "up again 1 -> 2"));
  CHECK(Contains(r.out, "PAUSE p50/p99/max us"));
  CHECK(Contains(r.out, "demo_server  1 -> 2  1          1        1                 1"));
  CHECK(Contains(r.out, "check passed"));
  CHECK(fs::is_empty(tmp.path()));

  RunResult json = Relup({"check", DemoTarball(1), DemoTarball(2), "--json"});
  CHECK(json.exit_code == 0);
  CHECK(Contains(json.out, "\"verdict\":\"ok\""));
  CHECK(Contains(json.out, "\"round_trip\":1"));
}

TEST_CASE("relup check covers the three-release chain: 1 -> 3 skipping 2, and 2 -> 3",
          "[cli][check]") {
  for (int from : {1, 2}) {
    RunResult r = Relup({"check", DemoTarball(from), DemoTarball(3)});
    INFO(r.both());
    CHECK(r.exit_code == 0);
    CHECK(Contains(r.out, "down 3 -> " + std::to_string(from)));
    CHECK(Contains(r.out, "check passed"));
  }
}

TEST_CASE(
    "relup check fails with exit 4 and a readable diff when version 2's down clause loses a "
    "field",
    "[cli][check]") {
  Dir dir;
  std::string v1 = KeeperTarball(dir, "1");
  std::string lossy = KeeperTarball(dir, "2", /*lossy=*/true);
  std::string states =
      dir.write("states.yaml", "keeper:\n  - {name: a, note: hello}\n  - {name: b}\n");
  RunResult r = Relup({"check", v1, lossy, "--states", states});
  INFO(r.both());
  CHECK(r.exit_code == 4);
  CHECK(Contains(r.out, "3 processes from the states file") == false);
  CHECK(Contains(r.out, "2 processes from the states file"));
  CHECK(Contains(r.out, "check failed: 4 problems; the first:"));  // a and k, both ways
  CHECK(Contains(r.out, "after up and down its state differs from before the upgrade"));
  CHECK(Contains(r.out, "- note: hello"));
  // The process without a note round-trips: 1 of the 3 processes of keeper.
  CHECK(Contains(r.out, "keeper  1 -> 2  3          3        1"));

  // The same gate right after building, as CI runs it.
  std::string spec = dir.write("keeper-2-again.yaml",
                               "release: keeper\nvsn: \"2\"\nmodules:\n  - {name: keeper, vsn: "
                               "\"2\"}\nappup:\n  up:\n    - from: \"1\"\n      instructions: "
                               "[{update: keeper}]\n  down:\n    - to: \"1\"\n      "
                               "instructions: [{update: keeper}]\n");
  RunResult built =
      Relup({"build", spec, "-o", dir.path() + "/again.tar.gz", "--lib-dir",
             std::string(RELUP_TEST_MODULE_DIR) + "/check/lossy", "--check-from", v1});
  INFO(built.both());
  CHECK(built.exit_code == 4);
  CHECK(Contains(built.out, "built keeper 2"));
  CHECK(Contains(built.out, "- note: kept"));

  std::string good = KeeperTarball(dir, "2");
  RunResult ok = Relup({"check", v1, good, "--states", states});
  INFO(ok.both());
  CHECK(ok.exit_code == 0);
}

TEST_CASE(
    "relup check --snapshot runs the round trip on a live node's states, taken with relup ps "
    "--states --yaml",
    "[cli][check]") {
  Dir dir;
  NodeRoot live;
  live.start(DemoTarball(1));
  auto snapshot = [&](const std::string& name) {
    RunResult ps = Relup({"ps", "--states", "--yaml", "--root", live.path()});
    REQUIRE(ps.exit_code == 0);
    return dir.write(name, ps.out);
  };
  // A state the spec's init never makes: atoms and tuples must come through.
  REQUIRE(Relup({"spawn", "--root", live.path(), "demo_server",
                 "{name: x, money: 5, tags: [:a, !tuple [1, 2]]}"})
              .exit_code == 0);
  std::string good = snapshot("good.yaml");
  RunResult ok = Relup({"check", DemoTarball(1), DemoTarball(2), "--snapshot", good});
  INFO(ok.both());
  CHECK(ok.exit_code == 0);
  CHECK(Contains(ok.out, "(2 processes from the snapshot)"));
  CHECK(Contains(ok.out, "demo_server  1 -> 2  3          3        3                 3"));
  CHECK(Contains(ok.out, "note: snapshot: relup_root (supervisor): a supervisor"));

  // Production has a state the new code_change cannot take: the check says
  // which, where the spec's init states passed.
  RunResult legacy = Relup({"spawn", "--root", live.path(), "demo_server", "{name: legacy}"});
  REQUIRE(legacy.exit_code == 0);
  std::string legacy_pid = Trimmed(legacy.out);
  RunResult refused =
      Relup({"check", DemoTarball(1), DemoTarball(2), "--snapshot", snapshot("legacy.yaml")});
  INFO(refused.both());
  CHECK(refused.exit_code == 3);
  CHECK(Contains(refused.out, "snapshot " + legacy_pid + " (demo_server), precheck"));
  CHECK(Contains(refused.out, "key :money not found in map {name: legacy}"));

  SECTION("--json output cannot give the states back, and says so") {
    RunResult ps = Relup({"ps", "--states", "--json", "--root", live.path()});
    std::string json = dir.write("live.json", ps.out);
    RunResult r = Relup({"check", DemoTarball(1), DemoTarball(2), "--snapshot", json});
    CHECK(r.exit_code == 2);
    CHECK(Contains(r.err, "snapshot " + json + ": this is `relup ps --json` output"));
  }
  SECTION("a snapshot of another release, or of another version, is refused by row") {
    std::string keeper1 = KeeperTarball(dir, "1");
    RunResult other = Relup({"check", keeper1, KeeperTarball(dir, "2"), "--snapshot", good});
    CHECK(other.exit_code == 2);
    CHECK(Contains(other.err,
                   "row 2 (blackode (demo_server)) runs module demo_server, which OLD "
                   "release keeper 1 does not have"));
    REQUIRE(Relup({"kill", "--root", live.path(), legacy_pid}).exit_code == 0);
    REQUIRE(Relup({"apply", DemoTarball(2), "--root", live.path()}).exit_code == 0);
    RunResult newer =
        Relup({"check", DemoTarball(1), DemoTarball(2), "--snapshot", snapshot("on-2.yaml")});
    CHECK(newer.exit_code == 2);
    CHECK(Contains(newer.err, "runs demo_server 2, but OLD release demo 1 has demo_server 1"));
  }
  SECTION(
      "a state holding a handle is left out with a note; a snapshot left with nothing is "
      "refused") {
    std::string mixed = dir.write(
        "mixed.yaml",
        "[{module: demo_server, name: a, pid: <0.7.0>, vsn: \"1\", server_state: {name: a, "
        "money: 1}}, {module: demo_server, name: \"\", pid: <0.8.0>, vsn: \"1\", "
        "server_state: {name: b, money: 2, peer: !pid <0.7.0>}}]");
    RunResult r = Relup({"check", DemoTarball(1), DemoTarball(2), "--snapshot", mixed});
    INFO(r.both());
    CHECK(r.exit_code == 0);
    CHECK(Contains(r.out, "(1 process from the snapshot)"));
    CHECK(Contains(r.out,
                   "note: snapshot: <0.8.0> (demo_server): its state holds !pid <0.7.0> "
                   "at peer"));
    std::string only = dir.write(
        "only.yaml",
        "[{module: demo_server, name: b, pid: <0.8.0>, vsn: \"1\", server_state: {peer: !pid "
        "<0.7.0>}}]");
    RunResult none = Relup({"check", DemoTarball(1), DemoTarball(2), "--snapshot", only});
    CHECK(none.exit_code == 2);
    CHECK(Contains(none.err, "no process in it can be checked"));
  }
  SECTION("a snapshot without states is refused: it would check nothing") {
    RunResult ps = Relup({"ps", "--yaml", "--root", live.path()});
    REQUIRE(ps.exit_code == 0);
    for (const std::string& file :
         {dir.write("no-states.yaml", ps.out), dir.write("empty.yaml", "[]")}) {
      RunResult r = Relup({"check", DemoTarball(1), DemoTarball(2), "--snapshot", file});
      CHECK(r.exit_code == 2);
      CHECK(Contains(r.err, "it holds no states: take it with `relup ps --states --yaml`"));
    }
    RunResult directory =
        Relup({"check", DemoTarball(1), DemoTarball(2), "--snapshot", dir.path()});
    CHECK(directory.exit_code == 2);
    CHECK(Contains(directory.err, "is not a regular file"));
  }
  SECTION("garbage is refused with where it stopped") {
    RunResult r = Relup({"check", DemoTarball(1), DemoTarball(2), "--snapshot",
                         dir.write("bad.yaml", "[{module: demo_server, pid: <0.2.0>, vsn: \"1\"")});
    CHECK(r.exit_code == 2);
    CHECK(Contains(r.err, "snapshot " + dir.path() + "/bad.yaml: "));
  }
}

TEST_CASE("relup check refuses what it cannot check, naming the files and the fix",
          "[cli][check]") {
  Dir dir;
  std::string keeper1 = KeeperTarball(dir, "1");

  RunResult names = Relup({"check", keeper1, DemoTarball(2)});
  CHECK(names.exit_code == 2);
  CHECK(Contains(names.err, "is release keeper 1 but NEW"));
  CHECK(Contains(names.err, "two tarballs of the same release name"));

  RunResult swapped = Relup({"check", DemoTarball(2), DemoTarball(1)});
  CHECK(swapped.exit_code == 2);
  CHECK(Contains(swapped.err, "OLD and NEW look swapped"));
  CHECK(Contains(swapped.err, "run relup check " + DemoTarball(1) + " " + DemoTarball(2)));

  // A demo 2 whose appup knows only a release 9: no path from 1 either way.
  std::string spec;
  {
    std::ifstream in(std::string(RELUP_SOURCE_DIR) + "/release-specs/demo-2.yaml");
    std::stringstream text;
    text << in.rdbuf();
    spec = text.str();
  }
  for (const std::string from : {"from: \"1\"", "to: \"1\""}) {
    spec.replace(spec.find(from), from.size(), from.substr(0, from.size() - 2) + "9\"");
  }
  std::string elsewhere = dir.path() + "/demo-2-from-9.tar.gz";
  REQUIRE(Relup({"build", dir.write("demo-2-from-9.yaml", spec), "-o", elsewhere, "--quiet"})
              .exit_code == 0);
  RunResult no_path = Relup({"check", DemoTarball(1), elsewhere});
  INFO(no_path.both());
  CHECK(no_path.exit_code == 2);
  CHECK(Contains(no_path.err, "(demo 2) has no upgrade from 1"));
  CHECK(Contains(no_path.err, "add `- from: \"1\"`"));

  std::string keeper2 = KeeperTarball(dir, "2");
  std::string unknown = dir.write("unknown.yaml", "ledger: [{name: a}]\n");
  RunResult bad_module = Relup({"check", keeper1, keeper2, "--states", unknown});
  CHECK(bad_module.exit_code == 2);
  CHECK(Contains(bad_module.err, "states file " + unknown + ": module ledger is not in OLD"));

  std::string refused = dir.write("refused.yaml", "keeper: [[1, 2]]\n");
  RunResult bad_entry = Relup({"check", keeper1, keeper2, "--states", refused});
  CHECK(bad_entry.exit_code == 2);
  CHECK(Contains(bad_entry.err, "keeper entry 1 ([1, 2]) was refused by keeper 1's init"));
  CHECK(Contains(bad_entry.err, "OLD's release.yaml starts it with {name: k, note: kept}"));

  std::string tampered = dir.path() + "/tampered.tar.gz";
  fs::copy_file(keeper2, tampered);
  {
    std::fstream f(tampered, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('X');
  }
  RunResult bad_tar = Relup({"check", keeper1, tampered});
  CHECK((bad_tar.exit_code == 6 || bad_tar.exit_code == 1));
  CHECK(Contains(bad_tar.err, "NEW tarball " + tampered));
}

TEST_CASE("a node on demo 1 goes to 3 skipping 2, back down to 1, and up the chain again",
          "[cli][check]") {
  NodeRoot root;
  root.start(DemoTarball(1));
  const std::string& r = root.path();
  auto state = [&] { return Trimmed(Relup({"state", "--root", r, "blackode"}).out); };
  REQUIRE(Relup({"call", "--root", r, "blackode", "{add: 5}"}).exit_code == 0);
  REQUIRE(Relup({"apply", DemoTarball(3), "--root", r}).exit_code == 0);
  CHECK(state() == "{currency: EUR, name: blackode, salary: 30005}");
  REQUIRE(Relup({"downgrade", "1", "--root", r}).exit_code == 0);
  CHECK(state() == "{money: 30005, name: blackode}");
  REQUIRE(Relup({"apply", DemoTarball(2), "--root", r}).exit_code == 0);
  REQUIRE(Relup({"apply", DemoTarball(3), "--root", r}).exit_code == 0);
  CHECK(state() == "{currency: EUR, name: blackode, salary: 30005}");
  REQUIRE(Relup({"downgrade", "2", "--root", r}).exit_code == 0);
  CHECK(state() == "{name: blackode, salary: 30005}");
  REQUIRE(Relup({"downgrade", "1", "--root", r}).exit_code == 0);
  CHECK(state() == "{money: 30005, name: blackode}");
}

}  // namespace relup::test
