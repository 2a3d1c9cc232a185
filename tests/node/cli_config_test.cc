// Release configuration through the real binary: config: in the spec,
// ctx().config in a process, relup config, and upgrades that change it,
// with config_change told the changed, added and removed keys once per
// module, and a failing config_change rolling the whole upgrade back.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "apply_fixture.h"
#include "cli_harness.h"

namespace relup::test {
namespace {

constexpr const char* kSchema = R"(config_schema:
  rt_worker:
    greeting: {type: string, required: true}
    size: int
    old: int
    extra: any
    fail_config_change: bool
)";

std::string Spec(const std::string& vsn, const std::string& config, bool appup) {
  std::string s = "release: cfg\nvsn: \"" + vsn + "\"\n" +
                  "modules: [{name: rt_worker, vsn: \"1\"}]\n"
                  "processes:\n  - {module: rt_worker, name: w, args: {id: w}}\n" +
                  "config:\n  rt_worker: " + config + "\n" + kSchema;
  if (appup) {
    s += "appup:\n  up: [{from: \"1\", instructions: []}]\n"
         "  down: [{to: \"1\", instructions: []}]\n";
  }
  return s;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The node inherits the journal path config_change writes to (rt_worker).
struct Journal {
  std::string path;
  explicit Journal(const std::string& p) : path(p) {
    std::filesystem::remove(path);
    ::setenv("RELUP_TEST_CONFIG_JOURNAL", path.c_str(), 1);
  }
  ~Journal() { ::unsetenv("RELUP_TEST_CONFIG_JOURNAL"); }
};

}  // namespace

TEST_CASE("a config-only release is an ordinary upgrade: config_change gets the three lists",
          "[cli][node][config]") {
  NodeRoot root;
  const std::string r = root.path(), dir = r + "-spec";
  Journal journal(dir + "-journal");
  std::string one =
      BuildTestSpec(dir, "cfg-1", Spec("1", "{greeting: hello, size: 10, old: 1}", false));
  std::string two =
      BuildTestSpec(dir, "cfg-2", Spec("2", "{greeting: bonjour, size: 10, extra: [1, 2]}", true));
  root.start(one);
  CHECK(Trimmed(Relup({"call", "--root", r, "w", "{config: greeting}"}).out) == "hello");

  RunResult dry = Relup({"apply", "--root", r, two, "--dry-run"});
  INFO(dry.both());
  CHECK(Contains(dry.out, "rt_worker: greeting -> bonjour; +extra: [1, 2]; -old"));
  CHECK(ReadAll(journal.path).empty());  // a dry run tells no one

  RunResult up = Relup({"apply", "--root", r, two});
  INFO(up.both());
  REQUIRE(up.exit_code == 0);
  CHECK(Trimmed(Relup({"call", "--root", r, "w", "{config: greeting}"}).out) == "bonjour");
  CHECK(Trimmed(Relup({"config", "--root", r}).out) ==
        "{rt_worker: {extra: [1, 2], greeting: bonjour, size: 10}}");
  CHECK(Trimmed(Relup({"config", "--root", r, "rt_worker.extra"}).out) == "[1, 2]");
  RunResult missing = Relup({"config", "--root", r, "rt_worker.old"});
  CHECK(missing.exit_code == 1);
  CHECK(Contains(missing.err, "rt_worker.old is not in the running configuration"));
  CHECK(ReadAll(journal.path) ==
        "{added: {extra: [1, 2]}, changed: {greeting: bonjour}, removed: [:old]}\n");

  REQUIRE(Relup({"downgrade", "--root", r, "1"}).exit_code == 0);
  CHECK(Trimmed(Relup({"call", "--root", r, "w", "{config: greeting}"}).out) == "hello");
  CHECK(Contains(ReadAll(journal.path),
                 "{added: {old: 1}, changed: {greeting: hello}, removed: [:extra]}\n"));
  root.stop();
}

TEST_CASE("a config_change that fails rolls the upgrade back, and the old config is visible again",
          "[cli][node][config]") {
  NodeRoot root;
  const std::string r = root.path(), dir = r + "-spec";
  Journal journal(dir + "-journal");
  std::string one = BuildTestSpec(dir, "cfg-1", Spec("1", "{greeting: hello}", false));
  std::string bad =
      BuildTestSpec(dir, "cfg-2", Spec("2", "{greeting: bonjour, fail_config_change: true}", true));
  root.start(one);
  RunResult up = Relup({"apply", "--root", r, bad});
  INFO(up.both());
  CHECK(up.exit_code != 0);
  CHECK(Contains(up.out, "failed and rolled back"));
  CHECK(Contains(up.out, "config_change: rt_worker 1: config_change: told to fail config_change"));
  CHECK(Trimmed(Relup({"call", "--root", r, "w", "{config: greeting}"}).out) == "hello");
  CHECK(Trimmed(Relup({"config", "--root", r}).out) == "{rt_worker: {greeting: hello}}");
  CHECK(Contains(Relup({"status", "--root", r}).out, "release:   cfg 1"));
  // Told of the new config, then of the old one again.
  std::string told = ReadAll(journal.path);
  CHECK(Contains(told, "{added: {fail_config_change: true}, changed: {greeting: bonjour}"));
  root.stop();
}

TEST_CASE("a config value of the wrong type is refused by relup build at its line",
          "[cli][config]") {
  ScratchDir dir;
  std::string spec = dir.path() + "/bad.yaml";
  std::ofstream(spec) << Spec("1", "{greeting: 42}", false);
  RunResult b =
      Relup({"build", spec, "-o", dir.path() + "/bad.tar.gz", "--lib-dir", RELUP_TEST_MODULE_DIR});
  INFO(b.both());
  CHECK(b.exit_code != 0);
  CHECK(Contains(b.err, "bad.yaml:7:25:"));
  CHECK(Contains(b.err, "config.rt_worker.greeting must be string (config_schema), not an int 42"));
  CHECK(!std::filesystem::exists(dir.path() + "/bad.tar.gz"));

  std::ofstream(spec) << Spec("1", "{size: 3}", false);
  b = Relup({"build", spec, "-o", dir.path() + "/bad.tar.gz", "--lib-dir", RELUP_TEST_MODULE_DIR});
  CHECK(Contains(b.err, "config.rt_worker.greeting is required by config_schema but missing"));
  std::ofstream(spec) << Spec("1", "{greeting: hi, colour: red}", false);
  b = Relup({"build", spec, "-o", dir.path() + "/bad.tar.gz", "--lib-dir", RELUP_TEST_MODULE_DIR});
  CHECK(Contains(b.err, "config.rt_worker.colour is not in config_schema.rt_worker"));
}

TEST_CASE("a tarball whose config breaks its schema is refused at apply, before anything pauses",
          "[cli][node][config]") {
  NodeRoot root;
  const std::string r = root.path(), dir = r + "-spec";
  root.start(BuildTestSpec(dir, "cfg-1", Spec("1", "{greeting: hello}", false)));
  // Written by hand, as a hostile or broken pipeline might: relup build refuses it.
  Release two = MakeRelease("2", {{"rt_worker", "1"}});
  ReleaseProcess w;
  w.module = "rt_worker";
  w.name = "w";
  w.args = Map("{id: w}");
  two.processes = {w};
  two.name = "cfg";
  two.config = Map("{rt_worker: {greeting: 42}}");
  two.config_schema = Map("{rt_worker: {greeting: string}}");
  std::string tarball = WriteTarball(dir, two, "");
  RunResult up = Relup({"apply", "--root", r, tarball});
  INFO(up.both());
  CHECK(up.exit_code != 0);
  CHECK(Contains(up.err + up.out, "config.rt_worker.greeting must be string"));
  CHECK(Trimmed(Relup({"config", "--root", r}).out) == "{rt_worker: {greeting: hello}}");
  root.stop();
}

}  // namespace relup::test
