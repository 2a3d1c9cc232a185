// The module ABI as seen from outside a built library: a module exports its
// entry point and nothing else (relup_add_module links it with a version
// script), and every example module still loads and runs that way.
//
// The dynamic symbol table is read straight from the ELF file (<elf.h>), so
// the test needs no binutils and checks exactly what the dynamic linker sees.
#include <elf.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "relup/code_server.h"
#include "relup/module_abi.h"
#include "runtime_test_util.h"

namespace fs = std::filesystem;
using namespace relup;
using relup::test::Contains;
using relup::test::ExampleModule;
using relup::test::TestModule;
using relup::test::TestNode;
using relup::test::Yaml;

namespace {

// The example modules the README documents; the directory may hold more.
const std::vector<std::string> kKnownExamples = {"counter-1.so", "counter-2.so", "demo_server-1.so",
                                                 "demo_server-2.so"};

// Test modules built by relup_add_module that throw inside the module, where
// exception type information matters most.
const std::vector<std::string> kThrowingTestModules = {"thrower-1.so", "rt_crasher-1.so"};

std::vector<std::string> ExampleModulePaths() {
  std::vector<std::string> paths;
  for (const auto& entry : fs::directory_iterator(RELUP_MODULE_DIR)) {
    if (entry.path().extension() == ".so") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

template <class T>
bool ReadAt(const std::vector<char>& file, uint64_t offset, T* out) {
  if (offset > file.size() || file.size() - offset < sizeof(T)) return false;
  std::memcpy(out, file.data() + offset, sizeof(T));
  return true;
}

// Names of the symbols a 64-bit ELF shared library defines and lets other
// objects bind to: in .dynsym, defined (st_shndx != SHN_UNDEF), bound GLOBAL,
// WEAK or GNU_UNIQUE, visibility default or protected. A malformed file fails
// the test with what was wrong.
std::vector<std::string> ExportedSymbols(const std::string& path) {
  INFO(path);
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::vector<char> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  Elf64_Ehdr eh;
  REQUIRE(ReadAt(file, 0, &eh));
  REQUIRE(std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0);
  REQUIRE(eh.e_ident[EI_CLASS] == ELFCLASS64);
  REQUIRE(eh.e_shentsize == sizeof(Elf64_Shdr));

  auto section = [&](uint64_t index) {
    Elf64_Shdr sh;
    REQUIRE(index < eh.e_shnum);
    REQUIRE(ReadAt(file, eh.e_shoff + index * sizeof(Elf64_Shdr), &sh));
    return sh;
  };

  std::vector<std::string> names;
  int dynsym_sections = 0;
  for (uint64_t i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr symtab = section(i);
    if (symtab.sh_type != SHT_DYNSYM) continue;
    ++dynsym_sections;
    REQUIRE(symtab.sh_entsize == sizeof(Elf64_Sym));
    Elf64_Shdr strtab = section(symtab.sh_link);
    REQUIRE(strtab.sh_type == SHT_STRTAB);
    REQUIRE(strtab.sh_offset <= file.size());
    REQUIRE(strtab.sh_size <= file.size() - strtab.sh_offset);
    // Entry 0 is the reserved null symbol.
    for (uint64_t s = 1; s < symtab.sh_size / sizeof(Elf64_Sym); ++s) {
      Elf64_Sym sym;
      REQUIRE(ReadAt(file, symtab.sh_offset + s * sizeof(Elf64_Sym), &sym));
      int bind = ELF64_ST_BIND(sym.st_info);
      int visibility = ELF64_ST_VISIBILITY(sym.st_other);
      bool exported_binding = bind == STB_GLOBAL || bind == STB_WEAK || bind == STB_GNU_UNIQUE;
      bool exported_visibility = visibility == STV_DEFAULT || visibility == STV_PROTECTED;
      if (sym.st_shndx == SHN_UNDEF || !exported_binding || !exported_visibility) continue;
      REQUIRE(sym.st_name < strtab.sh_size);
      const char* name = file.data() + strtab.sh_offset + sym.st_name;
      names.emplace_back(name, strnlen(name, strtab.sh_size - sym.st_name));
    }
  }
  REQUIRE(dynsym_sections == 1);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("every example module exports its entry point and no other symbol") {
  std::vector<std::string> paths = ExampleModulePaths();
  for (const auto& known : kKnownExamples) {
    INFO("example module missing from " RELUP_MODULE_DIR ": " << known);
    CHECK(std::find(paths.begin(), paths.end(), ExampleModule(known)) != paths.end());
  }
  for (const auto& path : paths) {
    INFO(path);
    CHECK(ExportedSymbols(path) == std::vector<std::string>{kModuleEntryPoint});
  }
}

TEST_CASE("a test module that throws inside itself exports only its entry point too") {
  for (const auto& file : kThrowingTestModules) {
    INFO(TestModule(file));
    CHECK(ExportedSymbols(TestModule(file)) == std::vector<std::string>{kModuleEntryPoint});
  }
}

TEST_CASE("every example module loads, and its descriptor matches its file name") {
  CodeServer server;
  for (const auto& path : ExampleModulePaths()) {
    INFO(path);
    auto version = server.load(path);
    INFO(version.status().ToString());
    REQUIRE(version.ok());
    CHECK(fs::path(path).filename().string() ==
          (*version)->name() + "-" + (*version)->vsn() + ".so");
  }
}

TEST_CASE(
    "the counter examples run, and a type error inside one is caught in the module by its type") {
  for (const char* file : {"counter-1.so", "counter-2.so"}) {
    INFO(file);
    TestNode node({ExampleModule(file)});
    auto pid = node->spawn("counter", Yaml("{count: 0}"));
    REQUIRE(pid.ok());
    auto added = node->call(*pid, Yaml("{add: 5}"));
    INFO(added.status().ToString());
    REQUIRE(added.ok());
    CHECK(*added == Term(5));

    // Term::as_int throws BadTermAccess from librelup_core; the module's own
    // trampoline must still catch it by its type (the message then has no
    // "threw").
    auto bad = node->call(*pid, Yaml("{add: five}"));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().code() == StatusCode::kCallbackError);
    CHECK(Contains(bad.status().message(), "handle_call: "));
    CHECK_FALSE(Contains(bad.status().message(), "threw"));
  }
}
