// ReleaseStore: release states as in OTP's release_handler, persisted in one
// file that is replaced atomically.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "release/release_store.h"

namespace relup {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/relup-store-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string path;
};

std::unique_ptr<ReleaseStore> OpenStore(const std::string& root) {
  auto store = ReleaseStore::Open(root);
  REQUIRE(store.ok());
  return std::move(store).value();
}

ReleaseState StateOf(const ReleaseStore& store, const std::string& vsn) {
  auto e = store.find(vsn);
  REQUIRE(e.has_value());
  return e->state;
}

// A root whose first release is installed: 1 permanent (and running).
std::unique_ptr<ReleaseStore> FirstRelease(const std::string& root) {
  auto store = OpenStore(root);
  REQUIRE(store->add_unpacked("demo", "1").ok());
  REQUIRE(store->set_running("1").ok());
  REQUIRE(store->make_permanent("1").ok());
  return store;
}

TEST_CASE("a new root has an empty store and no file until the first change", "[store]") {
  TempDir dir;
  auto store = OpenStore(dir.path);
  CHECK(store->empty());
  CHECK_FALSE(store->running().has_value());
  CHECK(fs::is_directory(dir.path + "/releases"));
  CHECK_FALSE(fs::exists(store->file_path()));
}

TEST_CASE("the first release goes unpacked -> current -> permanent", "[store]") {
  TempDir dir;
  auto store = OpenStore(dir.path);
  REQUIRE(store->add_unpacked("demo", "1").ok());
  CHECK(StateOf(*store, "1") == ReleaseState::kUnpacked);
  CHECK_FALSE(store->running().has_value());
  REQUIRE(store->set_running("1").ok());
  CHECK(StateOf(*store, "1") == ReleaseState::kCurrent);
  REQUIRE(store->make_permanent().ok());
  CHECK(StateOf(*store, "1") == ReleaseState::kPermanent);
  CHECK(store->running()->vsn == "1");
}

TEST_CASE("an upgrade makes the new release current while the old one stays permanent", "[store]") {
  TempDir dir;
  auto store = FirstRelease(dir.path);
  REQUIRE(store->add_unpacked("demo", "2").ok());
  REQUIRE(store->set_running("2").ok());
  CHECK(StateOf(*store, "2") == ReleaseState::kCurrent);
  CHECK(StateOf(*store, "1") == ReleaseState::kPermanent);
  CHECK(store->running()->vsn == "2");
  CHECK(store->permanent()->vsn == "1");

  SECTION("make_permanent makes the previous permanent release old") {
    REQUIRE(store->make_permanent("2").ok());
    CHECK(StateOf(*store, "2") == ReleaseState::kPermanent);
    CHECK(StateOf(*store, "1") == ReleaseState::kOld);
  }
  SECTION("a downgrade back to the permanent release leaves the other one unpacked") {
    REQUIRE(store->set_running("1").ok());
    CHECK(StateOf(*store, "1") == ReleaseState::kPermanent);
    CHECK(StateOf(*store, "2") == ReleaseState::kUnpacked);
    CHECK(store->running()->vsn == "1");
  }
  SECTION("at boot a release never made permanent goes back to unpacked") {
    REQUIRE(store->revert_to_permanent().ok());
    CHECK(StateOf(*store, "2") == ReleaseState::kUnpacked);
    CHECK(store->running()->vsn == "1");
  }
}

TEST_CASE("a release that was permanent once stays old when it runs again and is left", "[store]") {
  TempDir dir;
  auto store = FirstRelease(dir.path);
  REQUIRE(store->add_unpacked("demo", "2").ok());
  REQUIRE(store->set_running("2").ok());
  REQUIRE(store->make_permanent("2").ok());
  REQUIRE(StateOf(*store, "1") == ReleaseState::kOld);

  REQUIRE(store->set_running("1").ok());  // a downgrade to the old release
  CHECK(StateOf(*store, "1") == ReleaseState::kCurrent);
  CHECK(StateOf(*store, "2") == ReleaseState::kPermanent);

  SECTION("making the permanent release permanent while another runs says what to do") {
    Status s = store->make_permanent("2");
    CHECK(s.code() == StatusCode::kFailedPrecondition);
    CHECK(s.message().find("release 2 is permanent already (a restart boots it), but the node "
                           "runs 1") != std::string::npos);
  }
  SECTION("a restart boots the permanent release and 1 is old again, on disk too") {
    REQUIRE(store->revert_to_permanent().ok());
    CHECK(StateOf(*store, "1") == ReleaseState::kOld);
    auto reopened = OpenStore(dir.path);
    CHECK(StateOf(*reopened, "1") == ReleaseState::kOld);
    CHECK(reopened->running()->vsn == "2");
  }
  SECTION("an upgrade away from it leaves it old") {
    REQUIRE(store->add_unpacked("demo", "3").ok());
    REQUIRE(store->set_running("3").ok());
    CHECK(StateOf(*store, "1") == ReleaseState::kOld);
  }
  SECTION("a release never permanent still goes back to unpacked") {
    REQUIRE(store->add_unpacked("demo", "3").ok());
    REQUIRE(store->set_running("3").ok());
    REQUIRE(store->set_running("1").ok());
    CHECK(StateOf(*store, "3") == ReleaseState::kUnpacked);
  }
}

TEST_CASE("a store file written before was_permanent reads it from the state", "[store]") {
  TempDir dir;
  fs::create_directories(dir.path + "/releases");
  std::ofstream(dir.path + "/releases/RELEASES.yaml") << "format: 1\nreleases:\n"
                                                         "  - {name: demo, vsn: '1', state: old}\n"
                                                         "  - {name: demo, vsn: '2', state: "
                                                         "permanent}\n";
  auto store = OpenStore(dir.path);
  CHECK(store->find("1")->was_permanent);
  CHECK(store->find("2")->was_permanent);
  REQUIRE(store->set_running("1").ok());
  REQUIRE(store->revert_to_permanent().ok());
  CHECK(StateOf(*store, "1") == ReleaseState::kOld);
}

TEST_CASE("only the running release can be made permanent", "[store]") {
  TempDir dir;
  auto store = FirstRelease(dir.path);
  REQUIRE(store->add_unpacked("demo", "2").ok());
  Status s = store->make_permanent("2");
  CHECK(s.code() == StatusCode::kFailedPrecondition);
  CHECK(s.message().find("relup apply") != std::string::npos);
  CHECK(store->make_permanent("9").code() == StatusCode::kNotFound);
}

TEST_CASE("remove refuses the running and the permanent release and deletes the others",
          "[store]") {
  TempDir dir;
  auto store = FirstRelease(dir.path);
  REQUIRE(store->add_unpacked("demo", "2").ok());
  REQUIRE(store->add_unpacked("demo", "3").ok());
  REQUIRE(store->set_running("2").ok());
  fs::create_directories(store->release_dir("3"));
  std::ofstream(store->release_dir("3") + "/release.yaml") << "x";

  CHECK(store->remove("1").code() == StatusCode::kFailedPrecondition);
  CHECK(store->remove("2").code() == StatusCode::kFailedPrecondition);
  CHECK(store->remove("4").code() == StatusCode::kNotFound);
  REQUIRE(store->remove("3").ok());
  CHECK_FALSE(store->find("3").has_value());
  CHECK_FALSE(fs::exists(store->release_dir("3")));
}

TEST_CASE("every change is on disk: a reopened store sees the same releases", "[store]") {
  TempDir dir;
  {
    auto store = FirstRelease(dir.path);
    REQUIRE(store->add_unpacked("demo", "2").ok());
    REQUIRE(store->set_running("2").ok());
  }
  auto reopened = OpenStore(dir.path);
  auto all = reopened->releases();
  REQUIRE(all.size() == 2);
  CHECK(all[0].vsn == "1");
  CHECK(all[0].state == ReleaseState::kPermanent);
  CHECK(all[1].vsn == "2");
  CHECK(all[1].state == ReleaseState::kCurrent);
  CHECK_FALSE(all[1].unpacked_at.empty());

  auto read = ReleaseStore::ReadFile(dir.path);
  REQUIRE(read.ok());
  CHECK(read->size() == 2);
}

TEST_CASE(
    "whether a release ever ran is kept on disk, and a store written before that was recorded "
    "reads as ran (the safe side)",
    "[store]") {
  TempDir dir;
  {
    auto store = FirstRelease(dir.path);
    REQUIRE(store->add_unpacked("demo", "2").ok());
    REQUIRE(store->add_unpacked("demo", "3").ok());
    REQUIRE(store->set_running("2").ok());
    REQUIRE(store->set_running("1").ok());
  }
  auto reopened = OpenStore(dir.path);
  CHECK(reopened->find("1")->ran);
  CHECK(reopened->find("2")->ran);
  CHECK(reopened->find("2")->state == ReleaseState::kUnpacked);
  CHECK_FALSE(reopened->find("3")->ran);

  std::ofstream(dir.path + "/releases/RELEASES.yaml")
      << "format: 1\nreleases:\n  - {name: demo, vsn: \"1\", state: permanent}\n"
         "  - {name: demo, vsn: \"2\", state: unpacked}\n";
  CHECK(OpenStore(dir.path)->find("2")->ran);
}

TEST_CASE("a failed write changes neither the file nor the store in memory", "[store]") {
  TempDir dir;
  auto store = FirstRelease(dir.path);
  // A directory where the temporary file must go: the write fails, even as root.
  std::string tmp = store->file_path() + ".tmp-" + std::to_string(::getpid());
  fs::create_directories(tmp);
  Status s = store->add_unpacked("demo", "2");
  fs::remove_all(tmp);
  CHECK(s.code() == StatusCode::kIOError);
  CHECK(s.message().find(tmp) != std::string::npos);
  CHECK_FALSE(store->find("2").has_value());
  CHECK(OpenStore(dir.path)->releases().size() == 1);
}

TEST_CASE("a malformed store file is refused naming the file and the field", "[store]") {
  TempDir dir;
  fs::create_directories(dir.path + "/releases");
  std::ofstream(dir.path + "/releases/RELEASES.yaml")
      << "format: 1\nreleases:\n  - {name: demo, vsn: \"1\", state: running}\n";
  auto store = ReleaseStore::Open(dir.path);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == StatusCode::kCorruption);
  CHECK(store.status().message().find("RELEASES.yaml") != std::string::npos);
  CHECK(store.status().message().find("releases[0].state") != std::string::npos);
}

TEST_CASE("a release vsn must be usable as one directory name", "[store]") {
  TempDir dir;
  auto store = OpenStore(dir.path);
  CHECK(store->add_unpacked("demo", "../1").code() == StatusCode::kInvalidArgument);
  CHECK(store->add_unpacked("demo", ".hidden").code() == StatusCode::kInvalidArgument);
  CHECK(store->add_unpacked("demo", "").code() == StatusCode::kInvalidArgument);
  CHECK(store->add_unpacked("demo", "1.2.3-rc1+b7").ok());
}

TEST_CASE("unpacking a known unpacked release again is a no-op but under another name is refused",
          "[store]") {
  TempDir dir;
  auto store = OpenStore(dir.path);
  REQUIRE(store->add_unpacked("demo", "1").ok());
  CHECK(store->add_unpacked("demo", "1").ok());
  CHECK(store->add_unpacked("other", "1").code() == StatusCode::kAlreadyExists);
  REQUIRE(store->set_running("1").ok());
  CHECK(store->add_unpacked("demo", "1").code() == StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace relup
