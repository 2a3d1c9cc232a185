// CodeServer: every version at its own path, every bad library refused with a
// message that says what to fix and nothing left behind, libraries closed
// only when nothing holds them.
#include "relup/code_server.h"

#include <link.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "relup/version.h"

namespace fs = std::filesystem;
using relup::CodeServer;
using relup::ModuleVersionPtr;
using relup::StatusCode;

namespace {

const std::string kDemo1 = RELUP_MODULE_DIR "/demo_server-1.so";
const std::string kDemo2 = RELUP_MODULE_DIR "/demo_server-2.so";
const std::string kTestModules = RELUP_TEST_MODULE_DIR;

// A fresh directory, removed with everything in it at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "relup-code-test-XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    path = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().string());
  return out;
}

// Whether the dynamic linker has an object mapped from this path.
bool IsMapped(const std::string& path) {
  struct Search {
    const std::string* path;
    bool found = false;
  } search{&path};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* s = static_cast<Search*>(data);
        if (info->dlpi_name != nullptr && *s->path == info->dlpi_name) s->found = true;
        return 0;
      },
      &search);
  return search.found;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("a loaded version reports its descriptor and the library's sha256") {
  TempDir dir;
  CodeServer code(dir.path);
  auto v = code.load(kDemo1);
  REQUIRE(v.ok());
  CHECK((*v)->name() == "demo_server");
  CHECK((*v)->vsn() == "1");
  CHECK_FALSE((*v)->info().build_id.empty());
  CHECK((*v)->info().build_id != "dev");      // relup_add_module passes a content-derived id
  CHECK_FALSE((*v)->info().has_code_change);  // like the seed's: version 2's runs both ways
  auto sha = relup::Sha256File(kDemo1);
  REQUIRE(sha.ok());
  CHECK((*v)->info().sha256 == *sha);
  CHECK((*v)->source_path() == kDemo1);
}

TEST_CASE("every loaded version runs from its own new file in the code directory") {
  TempDir dir;
  CodeServer code(dir.path);
  auto v1 = code.load(kDemo1);
  auto v2 = code.load(kDemo2);
  REQUIRE(v1.ok());
  REQUIRE(v2.ok());
  CHECK((*v1)->loaded_path() != (*v2)->loaded_path());
  for (const auto& v : {*v1, *v2}) {
    CHECK(fs::path(v->loaded_path()).parent_path() == fs::path(dir.path));
    CHECK(IsMapped(v->loaded_path()));
    CHECK_FALSE(IsMapped(v->source_path()));  // never the build output itself
    // The copy's name says what it is: <stem>-<serial>-<sha8>.so
    std::string name = fs::path(v->loaded_path()).filename().string();
    CHECK_THAT(name,
               Catch::StartsWith(fs::path(v->source_path()).stem().string() + "-") &&
                   Catch::EndsWith(std::string("-").append(v->info().sha256.substr(0, 8)) + ".so"));
  }
  CHECK((*v2)->load_serial() > (*v1)->load_serial());
}

TEST_CASE("loading the same library again returns the loaded version and makes no copy") {
  TempDir dir;
  CodeServer code(dir.path);
  auto first = code.load(kDemo1);
  REQUIRE(first.ok());
  // Same bytes under another path are the same version too.
  TempDir elsewhere;
  fs::copy_file(kDemo1, elsewhere.file("renamed.so"));
  auto again = code.load(kDemo1);
  auto renamed = code.load(elsewhere.file("renamed.so"));
  REQUIRE(again.ok());
  REQUIRE(renamed.ok());
  CHECK(again->get() == first->get());
  CHECK(renamed->get() == first->get());
  CHECK(code.loaded().size() == 1);
  CHECK(FilesIn(dir.path).size() == 1);
}

TEST_CASE("the same name and vsn with different content is refused: bump the vsn") {
  TempDir dir;
  CodeServer code(dir.path);
  auto a = code.load(kTestModules + "/twin-a/twin-1.so");
  REQUIRE(a.ok());
  auto b = code.load(kTestModules + "/twin-b/twin-1.so");
  REQUIRE_FALSE(b.ok());
  CHECK(b.status().code() == StatusCode::kAlreadyExists);
  CHECK_THAT(b.status().message(),
             Catch::Contains("twin-b/twin-1.so is twin 1") &&
                 Catch::Contains("already loaded from " + kTestModules + "/twin-a/twin-1.so") &&
                 Catch::Contains("bump the module's vsn"));
  CHECK(code.loaded().size() == 1);
  CHECK(FilesIn(dir.path) == std::vector<std::string>{(*a)->loaded_path()});
}

TEST_CASE("every bad library is refused with a message that says what to fix") {
  struct Case {
    std::string path;
    StatusCode code;
    std::vector<std::string> says;
  };
  TempDir scratch;
  WriteFile(scratch.file("notes.so"), "these are not machine instructions\n");
  std::string elf = ReadFile(kDemo1);
  WriteFile(scratch.file("truncated.so"), elf.substr(0, 64));
  const std::string abi = std::to_string(relup::kAbiVersion);
  const std::vector<Case> cases = {
      {scratch.file("missing.so"), StatusCode::kNotFound, {"does not exist"}},
      {scratch.path, StatusCode::kInvalidArgument, {"is not a regular file"}},
      {scratch.file("notes.so"), StatusCode::kModuleError, {"notes.so is not a shared library"}},
      {scratch.file("truncated.so"),
       StatusCode::kModuleError,
       {"truncated.so is truncated or damaged", "dlopen:"}},
      {kTestModules + "/old-core.so",
       StatusCode::kModuleError,
       {"old-core.so was built against another relup", "librelup_core.so.2",
        "rebuild it against relup " RELUP_VERSION " (module ABI " + abi + ")"}},
      {kTestModules + "/no-entry-point.so",
       StatusCode::kModuleError,
       {kTestModules + "/no-entry-point.so has no relup_module_descriptor entry point: "
                       "is it built with relup_add_module / RELUP_MODULE?"}},
      {kTestModules + "/missing-symbol.so",
       StatusCode::kModuleError,
       {kTestModules + "/missing-symbol.so uses a symbol that no loaded library defines",
        "relup_test_function_nobody_defines", "dlopen: " + kTestModules + "/missing-symbol.so"}},
      {kTestModules + "/bad-magic.so",
       StatusCode::kModuleError,
       {"bad-magic.so is not a relup module (descriptor magic 0xDEADBEEF"}},
      {kTestModules + "/bad-abi.so",
       StatusCode::kModuleError,
       {"bad-abi.so: built for module ABI " + std::to_string(relup::kAbiVersion - 1) +
        ", but this node is relup " RELUP_VERSION " (module ABI " + abi +
        "): rebuild the module against relup " RELUP_VERSION}},
      {kTestModules + "/bad-term-size.so",
       StatusCode::kModuleError,
       {"bad-term-size.so: its Term is", "rebuild the module against relup " RELUP_VERSION}},
      {kTestModules + "/empty-name.so", StatusCode::kModuleError, {"empty module name"}},
      {kTestModules + "/null-descriptor.so", StatusCode::kModuleError, {"returned no descriptor"}},
      {kTestModules + "/no-init.so", StatusCode::kModuleError, {"has no init callback"}},
  };
  for (const Case& c : cases) {
    INFO("loading " << c.path);
    TempDir dir;
    CodeServer code(dir.path);
    auto v = code.load(c.path);
    REQUIRE_FALSE(v.ok());
    INFO("got: " << v.status().ToString());
    CHECK(v.status().code() == c.code);
    for (const auto& part : c.says) CHECK_THAT(v.status().message(), Catch::Contains(part));
    // Nothing stays loaded, no copy is left behind.
    CHECK(code.loaded().empty());
    CHECK(FilesIn(dir.path).empty());
  }
}

TEST_CASE("a library that is not the expected module is refused and not kept") {
  TempDir dir;
  CodeServer code(dir.path);
  auto v = code.load(kDemo1, "payments");
  REQUIRE_FALSE(v.ok());
  CHECK(v.status().code() == StatusCode::kModuleError);
  CHECK(v.status().message() == kDemo1 + " is module 'demo_server' but 'payments' was expected");
  CHECK(code.loaded().empty());
  CHECK(FilesIn(dir.path).empty());
  // Also when the same bytes are already loaded.
  REQUIRE(code.load(kDemo1).ok());
  auto again = code.load(kDemo1, "payments");
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == StatusCode::kModuleError);
}

TEST_CASE("a version stays loaded while anything holds it and is closed after") {
  TempDir dir;
  CodeServer code(dir.path);
  ModuleVersionPtr held = *code.load(kDemo2);
  const std::string copy = held->loaded_path();
  REQUIRE(code.unload("demo_server", "2").ok());
  CHECK(code.find("demo_server", "2") == nullptr);
  CHECK(code.loaded().empty());
  // A process still runs it: its code must stay callable.
  CHECK(IsMapped(copy));
  relup::Term state;
  CHECK(held->callbacks()
            .code_change(relup::DownVsn("1"),
                         relup::Term::map(
                             {{relup::Term::atom("name"), "x"}, {relup::Term::atom("salary"), 1}}),
                         relup::Term(), &state)
            .ok());
  held.reset();
  CHECK_FALSE(IsMapped(copy));
  CHECK_FALSE(fs::exists(copy));
}

TEST_CASE("unloading a version that is not loaded says which versions are") {
  TempDir dir;
  CodeServer code(dir.path);
  REQUIRE(code.load(kDemo1).ok());
  relup::Status s = code.unload("demo_server", "7");
  CHECK(s.code() == StatusCode::kNotFound);
  CHECK(s.message() == "module demo_server 7 is not loaded (loaded versions: 1)");
  CHECK(code.unload("nope", "1").message() == "module nope 1 is not loaded (no version of it is)");
}

TEST_CASE("current is the newest loaded version, and find and loaded list what is loaded") {
  TempDir dir;
  CodeServer code(dir.path);
  CHECK(code.current("demo_server") == nullptr);
  auto v1 = *code.load(kDemo1);
  CHECK(code.current("demo_server") == v1);
  auto v2 = *code.load(kDemo2);
  CHECK(code.current("demo_server") == v2);
  CHECK(code.find("demo_server", "1") == v1);
  CHECK(code.find("demo_server", "3") == nullptr);
  CHECK(code.loaded() == std::vector<ModuleVersionPtr>{v1, v2});
  REQUIRE(code.unload("demo_server", "2").ok());
  CHECK(code.current("demo_server") == v1);
}

TEST_CASE("a file already in the code directory is never overwritten") {
  TempDir dir;
  auto sha = relup::Sha256File(kDemo1);
  REQUIRE(sha.ok());
  // Copies an earlier node left behind, under the names this one would pick first.
  std::set<std::string> planted;
  for (int serial = 1; serial <= 3; ++serial) {
    std::string name =
        dir.file("demo_server-1-" + std::to_string(serial) + "-" + sha->substr(0, 8) + ".so");
    WriteFile(name, "left behind");
    planted.insert(name);
  }
  CodeServer code(dir.path);
  auto v = code.load(kDemo1);
  REQUIRE(v.ok());
  CHECK(planted.count((*v)->loaded_path()) == 0);
  for (const auto& p : planted) CHECK(ReadFile(p) == "left behind");
}

TEST_CASE("the code directory is created when missing") {
  TempDir dir;
  CodeServer code(dir.file("a/b/code"));
  auto v = code.load(kDemo1);
  REQUIRE(v.ok());
  CHECK(fs::path((*v)->loaded_path()).parent_path() == fs::path(dir.file("a/b/code")));
}

TEST_CASE(
    "a code server without a code directory uses a temporary one, gone with its last version") {
  std::string code_dir;
  ModuleVersionPtr survivor;
  {
    CodeServer code;
    code_dir = code.code_dir();
    REQUIRE(fs::is_directory(code_dir));
    survivor = *code.load(kDemo1);
  }
  // The code server is gone but a process still runs the version.
  CHECK(fs::exists(survivor->loaded_path()));
  survivor.reset();
  CHECK_FALSE(fs::exists(code_dir));
}

TEST_CASE("InspectModuleFile reads a library's descriptor and keeps nothing loaded") {
  auto info = relup::InspectModuleFile(kDemo2, "demo_server");
  REQUIRE(info.ok());
  CHECK(info->name == "demo_server");
  CHECK(info->vsn == "2");
  CHECK(info->has_code_change);
  CHECK(info->sha256 == *relup::Sha256File(kDemo2));
  auto twin = relup::InspectModuleFile(kTestModules + "/twin-a/twin-1.so");
  REQUIRE(twin.ok());
  CHECK_FALSE(twin->has_code_change);
  auto bad = relup::InspectModuleFile(kTestModules + "/bad-abi.so");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(),
             Catch::Contains("built for module ABI " + std::to_string(relup::kAbiVersion - 1)));
  auto wrong = relup::InspectModuleFile(kDemo1, "payments");
  REQUIRE_FALSE(wrong.ok());
  CHECK_THAT(wrong.status().message(), Catch::Contains("but 'payments' was expected"));
}

TEST_CASE("concurrent loads of one library give one version and one copy") {
  TempDir dir;
  CodeServer code(dir.path);
  std::vector<ModuleVersionPtr> got(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&, i] {
      auto v = code.load(kDemo2);
      if (v.ok()) got[i] = *v;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& v : got) {
    REQUIRE(v != nullptr);
    CHECK(v == got[0]);
  }
  CHECK(code.loaded().size() == 1);
  CHECK(FilesIn(dir.path).size() == 1);
}

TEST_CASE("Sha256File hashes a file's bytes and names a missing file") {
  TempDir dir;
  WriteFile(dir.file("abc"), "abc");
  auto sha = relup::Sha256File(dir.file("abc"));
  REQUIRE(sha.ok());
  // The FIPS 180-2 test vector for "abc".
  CHECK(*sha == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto missing = relup::Sha256File(dir.file("nope"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kNotFound);
  CHECK_THAT(missing.status().message(), Catch::Contains(dir.file("nope")));
}

TEST_CASE("a staged load keeps the module's current version until make_current") {
  TempDir dir;
  CodeServer code(dir.path);
  auto v1 = *code.load(kDemo1);
  auto v2 = code.load_staged(kDemo2);
  REQUIRE(v2.ok());
  CHECK(code.current("demo_server") == v1);
  REQUIRE(code.make_current("demo_server", "2").ok());
  CHECK(code.current("demo_server") == *v2);
  // And back, whatever the load order (a rollback).
  REQUIRE(code.make_current("demo_server", "1").ok());
  CHECK(code.current("demo_server") == v1);
}

TEST_CASE("the first staged load of a module is its current version at once") {
  TempDir dir;
  CodeServer code(dir.path);
  auto v = code.load_staged(kDemo2);
  REQUIRE(v.ok());
  CHECK(code.current("demo_server") == *v);
}

TEST_CASE("make_current on a version that is not loaded is NotFound and changes nothing") {
  TempDir dir;
  CodeServer code(dir.path);
  auto v1 = *code.load(kDemo1);
  relup::Status s = code.make_current("demo_server", "9");
  CHECK(s.code() == StatusCode::kNotFound);
  CHECK_THAT(s.message(), Catch::Contains("demo_server 9"));
  CHECK(code.current("demo_server") == v1);
}

TEST_CASE("unloading the pinned current version falls back to the newest loaded one") {
  TempDir dir;
  CodeServer code(dir.path);
  auto v1 = *code.load(kDemo1);
  auto v2 = *code.load_staged(kDemo2);
  REQUIRE(code.current("demo_server") == v1);
  REQUIRE(code.unload("demo_server", "1").ok());
  CHECK(code.current("demo_server") == v2);
}
