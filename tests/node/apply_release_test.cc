// ReleaseHandler against an in-process node and a real release store: apply
// a tarball, refuse what must be refused without writing anything, dry runs,
// downgrades, and booting a release.
#include <unistd.h>

#include <filesystem>
#include <future>

#include "apply_fixture.h"
#include "node/release_handler.h"
#include "release/release_store.h"

namespace relup::test {
namespace {

namespace fs = std::filesystem;

// demo_server 1 <-> 2, as relup build compiles an appup `update`.
std::string DemoPlans() {
  return CounterPlans({"demo_server"});
}

ReleaseProcess Blackode() {
  ReleaseProcess p;
  p.module = "demo_server";
  p.name = "blackode";
  p.args = Map("{name: blackode, money: 30000}");
  return p;
}

// A node booted on release 1 of `modules`, with its store and handler.
class ReleaseFixture {
 public:
  explicit ReleaseFixture(Release r1) : release1_(std::move(r1)) {
    auto store = ReleaseStore::Open(f_.root());
    REQUIRE(store.ok());
    store_ = std::move(*store);
    handler_ = std::make_unique<ReleaseHandler>(f_.node(), *store_, f_.root());
    std::string t1 = WriteTarball(tarballs_.path(), release1_, "");
    auto vsn = handler_->Unpack(t1);
    INFO(vsn.status().ToString());
    REQUIRE(vsn.ok());
    Status booted = handler_->Boot(*vsn);
    INFO(booted.ToString());
    REQUIRE(booted.ok());
    REQUIRE(handler_->MakePermanent(*vsn).ok());
  }

  Node& node() { return f_.node(); }
  ReleaseStore& store() { return *store_; }
  ReleaseHandler& handler() { return *handler_; }
  const std::string& root() const { return f_.root(); }
  std::string Tarball(const Release& r, const std::string& relup_yaml) {
    return WriteTarball(tarballs_.path(), r, relup_yaml);
  }
  Term State(const std::string& name) {
    auto s = f_.node().get_state(ProcessRef(std::string_view(name)));
    REQUIRE(s.ok());
    return *s;
  }
  std::string Running() { return store_->running()->vsn; }

 private:
  UpgradeFixture f_;
  ScratchDir tarballs_;
  Release release1_;
  std::unique_ptr<ReleaseStore> store_;
  std::unique_ptr<ReleaseHandler> handler_;
};

TEST_CASE("Booting a release loads its modules, starts the processes it lists and makes it run") {
  ReleaseFixture rf(MakeRelease("1", {{"demo_server", "1"}}, {Blackode()}));
  CHECK(rf.State("blackode") == Map("{name: blackode, money: 30000}"));
  CHECK(rf.Running() == "1");
  CHECK(rf.store().permanent()->vsn == "1");
  CHECK(fs::exists(rf.root() + "/releases/1/release.yaml"));
  CHECK(fs::exists(rf.root() + "/lib/demo_server-1/demo_server.so"));
}

TEST_CASE(
    "The seed story: apply demo 2 migrates blackode's money to salary, downgrade 1 brings it "
    "back") {
  ReleaseFixture rf(MakeRelease("1", {{"demo_server", "1"}}, {Blackode()}));
  REQUIRE(rf.node().call("blackode", Map("{add: 30000}")).ok());
  CHECK(rf.State("blackode") == Map("{money: 60000, name: blackode}"));
  std::string t2 = rf.Tarball(MakeRelease("2", {{"demo_server", "2"}}, {Blackode()}), DemoPlans());

  UpgradeReport up = rf.handler().Apply(t2);

  INFO(up.status().ToString());
  REQUIRE(up.outcome == UpgradeOutcome::kOk);
  CHECK(up.from_release == "1");
  CHECK(up.to_release == "2");
  CHECK(rf.State("blackode") == Map("{name: blackode, salary: 60000}"));
  auto reply = rf.node().call("blackode", Map("{add: 100000}"));
  REQUIRE(reply.ok());
  CHECK(*reply == Map("{name: blackode, salary: 160000}"));
  CHECK(rf.Running() == "2");
  CHECK(rf.store().permanent()->vsn == "1");  // not made permanent: a restart boots 1
  CHECK(fs::exists(rf.root() + "/releases/2/relup.yaml"));
  CHECK(fs::exists(rf.root() + "/lib/demo_server-2/demo_server.so"));

  UpgradeReport down = rf.handler().Downgrade("1");

  INFO(down.status().ToString());
  REQUIRE(down.outcome == UpgradeOutcome::kOk);
  CHECK(down.downgrade);
  CHECK(rf.State("blackode") == Map("{money: 160000, name: blackode}"));
  CHECK(rf.Running() == "1");
  CHECK(rf.node().processes_running("demo_server", "1").size() == 1);
  // New processes start on the version the node runs now.
  auto fresh = rf.node().spawn("demo_server", Map("{name: x, money: 1}"));
  REQUIRE(fresh.ok());
  CHECK(rf.node().get_status(*fresh)->vsn == "1");

  SECTION("a downgrade to 2, the newer one, is refused and says to apply it") {
    UpgradeReport wrong = rf.handler().Downgrade("2");
    CHECK(wrong.outcome == UpgradeOutcome::kRefused);
    CHECK_THAT(wrong.status().message(),
               Catch::Contains("2 is the newer one (it upgrades from 1), so go up to it with "
                               "`relup apply` of its tarball"));
  }
  SECTION("and applying 2 again, permanently, upgrades and records it as permanent") {
    ApplyOptions options;
    options.permanent = true;
    UpgradeReport again = rf.handler().Apply(t2, options);
    INFO(again.status().ToString());
    REQUIRE(again.outcome == UpgradeOutcome::kOk);
    CHECK(rf.store().permanent()->vsn == "2");
  }
}

TEST_CASE(
    "A release whose plan does not upgrade from the running one is refused, naming both, and "
    "nothing is written") {
  ReleaseFixture rf(MakeRelease("1", {{"demo_server", "1"}}, {Blackode()}));
  std::string plans = DemoPlans();
  plans.replace(plans.find("from: \"1\""), 9, "from: \"0.9\"");
  std::string t2 = rf.Tarball(MakeRelease("2", {{"demo_server", "2"}}), plans);

  UpgradeReport report = rf.handler().Apply(t2);

  REQUIRE(report.outcome == UpgradeOutcome::kRefused);
  CHECK(report.failures[0].step == "from_version");
  CHECK_THAT(report.status().message(), Catch::Contains("upgrades from 0.9"));
  CHECK_THAT(report.status().message(), Catch::Contains("runs release test 1"));
  CHECK(!fs::exists(rf.root() + "/releases/2"));
  CHECK(!fs::exists(rf.root() + "/lib/demo_server-2"));
  CHECK(!rf.store().find("2"));
  CHECK(rf.State("blackode") == Map("{name: blackode, money: 30000}"));
}

TEST_CASE(
    "Remove deletes a release's directory and the module libraries no other release uses, as "
    "OTP's remove_release does") {
  ReleaseFixture rf(MakeRelease("1", {{"demo_server", "1"}}, {Blackode()}));
  // 2 and 3 both hold demo_server 2: they share lib/demo_server-2.
  for (const char* vsn : {"2", "3"}) {
    auto unpacked = rf.handler().Unpack(
        rf.Tarball(MakeRelease(vsn, {{"demo_server", "2"}}, {Blackode()}), DemoPlans()));
    INFO(unpacked.status().ToString());
    REQUIRE(unpacked.ok());
  }
  const std::string lib2 = rf.root() + "/lib/demo_server-2";

  auto removed2 = rf.handler().Remove("2");
  REQUIRE(removed2.ok());
  CHECK(removed2->empty());  // 3 still uses demo_server 2
  CHECK_FALSE(fs::exists(rf.root() + "/releases/2"));
  CHECK(fs::exists(lib2 + "/demo_server.so"));

  auto removed3 = rf.handler().Remove("3");
  REQUIRE(removed3.ok());
  CHECK(*removed3 == std::vector<std::string>{"demo_server-2"});
  CHECK_FALSE(fs::exists(lib2));

  // The permanent release is refused, and its library stays.
  auto refused = rf.handler().Remove("1");
  CHECK(refused.status().code() == StatusCode::kFailedPrecondition);
  CHECK(fs::exists(rf.root() + "/lib/demo_server-1/demo_server.so"));
  CHECK(rf.node().call("blackode", Map("{add: 1}")).ok());
}

TEST_CASE("A tampered tarball is refused, naming the file, and nothing is written") {
  ReleaseFixture rf(MakeRelease("1", {{"demo_server", "1"}}, {Blackode()}));
  Release r2 = MakeRelease("2", {{"demo_server", "2"}});
  ReleaseFiles files = ReleaseTarballFiles(r2, DemoPlans());
  files["lib/demo_server-2/demo_server.so"][100] ^= 1;
  ScratchDir dir;
  std::string t2 = dir.path() + "/tampered.tar.gz";
  REQUIRE(WriteTarballAtomically(t2, files).ok());

  UpgradeReport report = rf.handler().Apply(t2);

  REQUIRE(report.outcome == UpgradeOutcome::kRefused);
  CHECK(report.failures[0].step == "verify");
  CHECK_THAT(report.status().message(), Catch::Contains("lib/demo_server-2/demo_server.so"));
  CHECK(!fs::exists(rf.root() + "/releases/2"));
  CHECK(!fs::exists(rf.root() + "/lib/demo_server-2"));
  CHECK(rf.Running() == "1");
}

TEST_CASE(
    "A dry run of a tarball reports what would change and leaves the root and the node as they "
    "were") {
  ReleaseFixture rf(MakeRelease("1", {{"demo_server", "1"}}, {Blackode()}));
  std::string t2 = rf.Tarball(MakeRelease("2", {{"demo_server", "2"}}, {Blackode()}), DemoPlans());
  auto entries_before = rf.store().releases();
  ApplyOptions options;
  options.dry_run = true;

  UpgradeReport report = rf.handler().Apply(t2, options);

  INFO(report.status().ToString());
  REQUIRE(report.outcome == UpgradeOutcome::kOk);
  CHECK(report.dry_run);
  REQUIRE(report.modules.size() == 1);
  CHECK(report.modules[0].processes == 1);
  CHECK(report.touched.size() == 1);
  CHECK(report.touched[0].name == "blackode");
  CHECK(rf.store().releases().size() == entries_before.size());
  CHECK(!fs::exists(rf.root() + "/releases/2"));
  CHECK(!fs::exists(rf.root() + "/lib/demo_server-2"));
  for (const auto& e : fs::directory_iterator(rf.root())) {
    CHECK(e.path().filename().string().rfind(".dry-run", 0) != 0);
  }
  CHECK(rf.State("blackode") == Map("{name: blackode, money: 30000}"));
  CHECK(rf.node().code_server().find("demo_server", "2") == nullptr);
}

TEST_CASE(
    "A release store that cannot record the upgrade rolls it back: old code, old state, and the "
    "node stays on its old release") {
  ReleaseFixture rf(MakeRelease("1", {{"demo_server", "1"}}, {Blackode()}));
  REQUIRE(rf.node().call("blackode", Map("{add: 30000}")).ok());
  std::string t2 = rf.Tarball(MakeRelease("2", {{"demo_server", "2"}}, {Blackode()}), DemoPlans());
  REQUIRE(rf.handler().Unpack(t2).ok());
  // The store writes RELEASES.yaml through RELEASES.yaml.tmp-<pid>: a
  // directory there makes that write fail, even for root.
  std::string blocker = rf.store().file_path() + ".tmp-" + std::to_string(::getpid());
  REQUIRE(fs::create_directory(blocker));

  UpgradeReport report = rf.handler().Install("2");

  INFO(report.status().ToString());
  REQUIRE(report.outcome == UpgradeOutcome::kRolledBack);
  CHECK(report.failures[0].step == "record");
  CHECK_THAT(report.status().message(), Catch::Contains("recording release 2 as running"));
  CHECK_THAT(report.status().message(), Catch::Contains("RELEASES.yaml"));
  CHECK(rf.Running() == "1");
  CHECK(rf.State("blackode") == Map("{money: 60000, name: blackode}"));
  CHECK(rf.node().get_status("blackode")->vsn == "1");
  CHECK(rf.node().code_server().current("demo_server")->vsn() == "1");

  SECTION("and once the store can be written, the same install goes through") {
    fs::remove(blocker);
    UpgradeReport again = rf.handler().Install("2");
    INFO(again.status().ToString());
    REQUIRE(again.outcome == UpgradeOutcome::kOk);
    CHECK(rf.Running() == "2");
    CHECK(rf.State("blackode") == Map("{name: blackode, salary: 60000}"));
  }
}

TEST_CASE("A downgrade to a release that is not installed is refused, naming it") {
  ReleaseFixture rf(MakeRelease("1", {{"demo_server", "1"}}, {Blackode()}));
  UpgradeReport report = rf.handler().Downgrade("0.5");
  REQUIRE(report.outcome == UpgradeOutcome::kRefused);
  CHECK_THAT(report.status().message(), Catch::Contains("0.5"));
  CHECK_THAT(report.status().message(), Catch::Contains("not installed"));
}

TEST_CASE("A second upgrade while one is running is refused at once, not queued") {
  ReleaseFixture rf(MakeRelease("1", {{"demo_server", "1"}}, {Blackode()}));
  std::string t2 = rf.Tarball(MakeRelease("2", {{"demo_server", "2"}}, {Blackode()}), DemoPlans());
  UpgradeReport second;
  ApplyOptions options;
  options.progress = [&, armed = false](size_t done, size_t) mutable {
    if (done != 0 || armed) return;
    armed = true;
    second = std::async(std::launch::async, [&] { return rf.handler().Apply(t2); }).get();
  };

  UpgradeReport first = rf.handler().Apply(t2, options);

  CHECK(first.outcome == UpgradeOutcome::kOk);
  REQUIRE(second.outcome == UpgradeOutcome::kRefused);
  CHECK_THAT(second.status().message(), Catch::Contains("in progress"));
}

TEST_CASE(
    "Unpacking a tarball a second time is a no-op, one with other content under the same vsn "
    "replaces a release that never ran, and is refused once that release has run") {
  ReleaseFixture rf(MakeRelease("1", {{"demo_server", "1"}}, {Blackode()}));
  Release r2 = MakeRelease("2", {{"demo_server", "2"}}, {Blackode()});
  std::string t2 = rf.Tarball(r2, DemoPlans());
  REQUIRE(rf.handler().Unpack(t2).ok());
  REQUIRE(rf.handler().Unpack(t2).ok());
  CHECK(rf.store().find("2")->state == ReleaseState::kUnpacked);
  CHECK_FALSE(rf.store().find("2")->ran);

  Release other = r2;
  other.processes.clear();
  ScratchDir dir;
  std::string t2b = WriteTarball(dir.path(), other, DemoPlans());
  REQUIRE(rf.handler().Unpack(t2b).ok());
  auto on_disk = ReadBytes(rf.store().release_dir("2") + "/release.yaml");
  CHECK(on_disk == ReleaseToYaml(other));

  REQUIRE(rf.handler().Install("2").ok());
  CHECK(rf.store().find("2")->ran);
  REQUIRE(rf.handler().Downgrade("1").ok());
  auto refused = rf.handler().Unpack(t2);
  REQUIRE(!refused.ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("has run on this node"));
  CHECK_THAT(refused.status().message(), Catch::Contains("relup remove 2"));
}

}  // namespace
}  // namespace relup::test
