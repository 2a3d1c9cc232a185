// CodeServer: loads, checks, tracks and unloads versions of server modules.
//
// load(path) copies the library to a fresh, unique file under the code
// directory (glibc would otherwise hand back an already-loaded object with the
// same path, SONAME or inode), opens it with RTLD_NOW | RTLD_LOCAL (so a
// missing symbol fails here, before any process is touched), and checks the
// descriptor: entry point present, magic, ABI version, term size, name and vsn
// non-empty, the expected name when one is given. Loading the same name and
// vsn again with the same content returns the loaded version; with different
// content it is refused.
//
// A ModuleVersion stays loaded (dlopen'ed) while anything holds a
// shared_ptr to it: processes hold one for the version they run, so a version
// is dlclose'd only once no process runs it and the code server has dropped it
// (unload). The newest loaded version of a module is its "current" version:
// the one new processes start on and change_code moves processes to.
//
// Thread-safe: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "relup/module_abi.h"
#include "relup/status.h"

namespace relup {

// What a library's descriptor says, plus its content hash.
struct ModuleInfo {
  std::string name;
  std::string vsn;
  std::string build_id;
  std::string sha256;  // hex SHA-256 of the library file's bytes
  bool has_code_change = false;
};

// Reads and checks a library's descriptor without keeping it loaded (for
// `relup build`, `relup inspect`). Same checks and errors as CodeServer::load.
Result<ModuleInfo> InspectModuleFile(const std::string& path, std::string_view expected_name = {});

// Hex SHA-256 of a file's bytes.
Result<std::string> Sha256File(const std::string& path);

// One loaded version of a module. Immutable once loaded.
class ModuleVersion {
 public:
  ~ModuleVersion();  // dlclose and remove the unique copy
  ModuleVersion(const ModuleVersion&) = delete;
  ModuleVersion& operator=(const ModuleVersion&) = delete;

  const ModuleInfo& info() const { return info_; }
  const std::string& name() const { return info_.name; }
  const std::string& vsn() const { return info_.vsn; }
  const ModuleCallbacks& callbacks() const { return descriptor_->callbacks; }
  const std::string& loaded_path() const { return loaded_path_; }
  const std::string& source_path() const { return source_path_; }  // the path given to load()
  uint64_t load_serial() const { return serial_; }  // increases with every load

 private:
  friend class CodeServer;
  ModuleVersion() = default;

  ModuleInfo info_;
  std::string loaded_path_;
  std::string source_path_;
  void* handle_ = nullptr;
  const ModuleDescriptor* descriptor_ = nullptr;
  uint64_t serial_ = 0;
  // Keeps a code server's temporary code_dir until its last copy is gone.
  std::shared_ptr<void> code_dir_keeper_;
};

using ModuleVersionPtr = std::shared_ptr<const ModuleVersion>;

class CodeServer {
 public:
  // code_dir: where unique copies of loaded libraries are written; created if
  // missing. Empty: a fresh directory under $TMPDIR, removed on destruction.
  explicit CodeServer(std::string code_dir = {});
  ~CodeServer();
  CodeServer(const CodeServer&) = delete;
  CodeServer& operator=(const CodeServer&) = delete;

  // Loads and checks a library (see above). expected_name: refuse any other.
  // A library whose content (sha256) is already loaded returns that version
  // without loading it again; it does not become "current" again.
  Result<ModuleVersionPtr> load(const std::string& path, std::string_view expected_name = {});

  // Like load(), but the module's current version stays what it was until
  // make_current() (a module with no loaded version yet gets this one as
  // current at once). The upgrade executor loads new code this way so that
  // processes spawned while an upgrade is checked and rolled out start on the
  // old code, where the upgrade then finds them, and so that a refused or
  // rolled-back upgrade never leaves new processes on code it unloads.
  Result<ModuleVersionPtr> load_staged(const std::string& path,
                                       std::string_view expected_name = {});
  // Adds a module compiled into this program (no library: never copied,
  // opened or closed), as its module's current version: the node's built-in
  // `supervisor`. Its info's sha256 is "builtin". AlreadyExists if a module of
  // that name is loaded.
  Result<ModuleVersionPtr> add_builtin(const ModuleDescriptor& descriptor);
  // Makes a loaded version its module's current version, whatever the load
  // order, until the next load() of a new version of that module or until
  // that version is unloaded. NotFound if that version is not loaded.
  Status make_current(std::string_view module, std::string_view vsn);

  // The current version of `module` (the newest loaded, unless make_current
  // or load_staged said otherwise; once the version they chose is unloaded,
  // the newest loaded again), or nullptr.
  ModuleVersionPtr current(std::string_view module) const;
  // A given loaded version, or nullptr.
  ModuleVersionPtr find(std::string_view module, std::string_view vsn) const;
  // Every loaded version of every module, oldest load first.
  std::vector<ModuleVersionPtr> loaded() const;

  // Drops the code server's reference to a version. The library is closed
  // when the last process running it is gone. Callers that must not leave
  // processes on it (purge) check first. NotFound if not loaded.
  Status unload(std::string_view module, std::string_view vsn);

  const std::string& code_dir() const { return code_dir_; }

 private:
  mutable std::mutex mu_;
  std::string code_dir_;
  bool owns_code_dir_ = false;
  std::string code_dir_error_;  // why the temporary code_dir could not be made
  std::shared_ptr<void> code_dir_keeper_;  // owned temporary code_dir, removed when last copy goes
  uint64_t next_serial_ = 1;
  std::vector<std::shared_ptr<ModuleVersion>> versions_;  // guarded by mu_
  // module -> vsn chosen as current by make_current / load_staged; guarded by mu_.
  std::vector<std::pair<std::string, std::string>> pinned_current_;

  Result<ModuleVersionPtr> load_internal(const std::string& path, std::string_view expected_name,
                                         bool staged);
};

}  // namespace relup
