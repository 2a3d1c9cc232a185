#include "relup/code_server.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "code/descriptor_check.h"
#include "code/library_file.h"
#include "relup/version.h"

namespace relup {
namespace {

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// dlerror() names the private copy; the user knows the library by its path.
std::string DlopenError(const std::string& path, const std::string& copy, const char* raw) {
  std::string err = raw != nullptr ? raw : "unknown error";
  for (size_t at = err.find(copy); at != std::string::npos; at = err.find(copy, at + path.size())) {
    err.replace(at, copy.size(), path);
  }
  std::string detail = " (dlopen: " + err + ")";
  if (Contains(err, "undefined symbol")) {
    return path + " uses a symbol that no loaded library defines" + detail +
           ": link the library that defines it into the module "
           "(relup_add_module links with -z defs to catch this at build time)";
  }
  if (Contains(err, "librelup_core.so.")) {
    // librelup_core's SONAME carries the module ABI (librelup_core.so.ABI):
    // a module built against another relup asks for another one.
    return path + " was built against another relup: it needs a librelup_core this node " +
           "does not have" + detail + ": rebuild it against relup " RELUP_VERSION " (module ABI " +
           std::to_string(kAbiVersion) + ")";
  }
  if (Contains(err, "invalid ELF header") || Contains(err, "file too short") ||
      Contains(err, "only ET_DYN and ET_EXEC") || Contains(err, "cannot dynamically load")) {
    return path + " is not a shared library" + detail;
  }
  if (Contains(err, "cannot read file data")) {
    return path + " is truncated or damaged" + detail + ": build or copy it again";
  }
  if (Contains(err, "wrong ELF class") || Contains(err, "ELF file OS ABI") ||
      Contains(err, "ELF file data encoding")) {
    return path + " was built for another platform" + detail + ": rebuild it for this machine";
  }
  if (Contains(err, "failed to map segment")) {
    return path + " cannot be mapped" + detail +
           ": is the code directory on a noexec filesystem? Choose another one";
  }
  return path + " cannot be loaded as a shared library" + detail;
}

}  // namespace

ModuleVersion::~ModuleVersion() {
  if (handle_ != nullptr) ::dlclose(handle_);
  if (!loaded_path_.empty()) ::unlink(loaded_path_.c_str());
}

CodeServer::CodeServer(std::string code_dir) : code_dir_(std::move(code_dir)) {
  std::error_code ec;
  if (!code_dir_.empty()) {
    // dlopen must never search: keep an absolute path whatever the cwd becomes.
    auto abs = std::filesystem::absolute(code_dir_, ec);
    if (!ec) code_dir_ = abs.lexically_normal().string();
    return;
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string base = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
  std::string templ = base + "/relup-code-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    code_dir_error_ =
        "cannot create a temporary code directory in " + base + ": " + std::strerror(errno);
    return;
  }
  code_dir_ = templ;
  owns_code_dir_ = true;
  // Removed when the code server and every version loaded from it are gone.
  code_dir_keeper_ = std::shared_ptr<void>(new std::string(code_dir_), [](void* p) {
    auto* dir = static_cast<std::string*>(p);
    std::error_code ignored;
    std::filesystem::remove_all(*dir, ignored);
    delete dir;
  });
}

CodeServer::~CodeServer() {
  // Versions still held elsewhere (by processes) stay loaded until released.
  versions_.clear();
}

Result<ModuleVersionPtr> CodeServer::load(const std::string& path, std::string_view expected_name) {
  return load_internal(path, expected_name, /*staged=*/false);
}

Result<ModuleVersionPtr> CodeServer::load_staged(const std::string& path,
                                                 std::string_view expected_name) {
  return load_internal(path, expected_name, /*staged=*/true);
}

Result<ModuleVersionPtr> CodeServer::add_builtin(const ModuleDescriptor& descriptor) {
  std::shared_ptr<ModuleVersion> version(new ModuleVersion);
  std::string where = std::string("built-in module ") + (descriptor.name ? descriptor.name : "?");
  RELUP_RETURN_IF_ERROR(code::CheckDescriptor(&descriptor, where, {}, &version->info_));
  version->info_.sha256 = "builtin";
  version->source_path_ = "builtin";
  version->descriptor_ = &descriptor;
  std::lock_guard<std::mutex> lock(mu_);
  version->serial_ = next_serial_++;
  for (const auto& v : versions_) {
    if (v->name() == version->name()) {
      return Status::AlreadyExists(where + ": a module of that name is loaded already");
    }
  }
  versions_.push_back(version);
  return ModuleVersionPtr(std::move(version));
}

Status CodeServer::make_current(std::string_view module, std::string_view vsn) {
  std::lock_guard<std::mutex> lock(mu_);
  bool is_loaded = std::any_of(versions_.begin(), versions_.end(), [&](const auto& v) {
    return v->name() == module && v->vsn() == vsn;
  });
  if (!is_loaded) {
    return Status::NotFound("cannot make " + std::string(module) + " " + std::string(vsn) +
                            " current: that version is not loaded");
  }
  for (auto& [m, v] : pinned_current_) {
    if (m == module) {
      v = std::string(vsn);
      return Status();
    }
  }
  pinned_current_.emplace_back(std::string(module), std::string(vsn));
  return Status();
}

Result<ModuleVersionPtr> CodeServer::load_internal(const std::string& path,
                                                   std::string_view expected_name, bool staged) {
  if (code_dir_.empty()) return Status::IOError(code_dir_error_);
  RELUP_ASSIGN_OR_RETURN(std::string bytes, code::ReadLibraryFile(path));
  const std::string sha = code::Sha256Hex(bytes);
  {
    // The same bytes are the same module version: no second copy, no second dlopen.
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& v : versions_) {
      if (v->info_.sha256 != sha) continue;
      if (!expected_name.empty() && expected_name != v->name()) {
        return Status::ModuleError(path + " is module '" + v->name() + "' but '" +
                                   std::string(expected_name) + "' was expected");
      }
      return ModuleVersionPtr(v);
    }
  }
  if (!code::LooksLikeElf(bytes)) {
    return Status::ModuleError(path +
                               " is not a shared library (no ELF header): give the .so that "
                               "relup_add_module builds");
  }
  RELUP_RETURN_IF_ERROR(code::EnsureDirectory(code_dir_));

  uint64_t serial = 0;
  auto next_serial = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    serial = next_serial_++;
    return serial;
  };
  RELUP_ASSIGN_OR_RETURN(std::string copy, code::WriteUniqueCopy(code_dir_, code::LibraryStem(path),
                                                                 sha, bytes, next_serial));

  // From here on, returning early destroys `version`, which closes the
  // library and removes the copy: a failed load leaves nothing behind.
  std::shared_ptr<ModuleVersion> version(new ModuleVersion);
  version->loaded_path_ = copy;
  version->source_path_ = path;
  version->serial_ = serial;
  version->code_dir_keeper_ = code_dir_keeper_;
  version->info_.sha256 = sha;

  ::dlerror();
  version->handle_ = ::dlopen(copy.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (version->handle_ == nullptr) {
    return Status::ModuleError(DlopenError(path, copy, ::dlerror()));
  }
  void* sym = ::dlsym(version->handle_, kModuleEntryPoint);
  if (sym == nullptr) {
    return Status::ModuleError(path + " has no " + kModuleEntryPoint +
                               " entry point: is it built with relup_add_module / RELUP_MODULE?");
  }
  const ModuleDescriptor* descriptor = reinterpret_cast<relup_module_entry_fn>(sym)();
  RELUP_RETURN_IF_ERROR(code::CheckDescriptor(descriptor, path, expected_name, &version->info_));
  version->descriptor_ = descriptor;

  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& v : versions_) {
    if (v->name() != version->name() || v->vsn() != version->vsn()) continue;
    if (v->info_.sha256 == sha) return ModuleVersionPtr(v);  // a concurrent load won
    return Status::AlreadyExists(path + " is " + version->name() + " " + version->vsn() + ", but " +
                                 v->name() + " " + v->vsn() + " is already loaded from " +
                                 v->source_path() + " with different content (sha256 " +
                                 v->info_.sha256.substr(0, 12) + " vs " + sha.substr(0, 12) +
                                 "): bump the module's vsn (RELUP_MODULE and relup_add_module) "
                                 "to load new code");
  }
  // A plain load makes the new version current; a staged one pins the
  // module's current version first (if it has one) so it stays current.
  auto pin = std::find_if(pinned_current_.begin(), pinned_current_.end(),
                          [&](const auto& p) { return p.first == version->name(); });
  if (!staged) {
    if (pin != pinned_current_.end()) pinned_current_.erase(pin);
  } else if (pin == pinned_current_.end()) {
    const ModuleVersion* newest = nullptr;
    for (const auto& v : versions_) {
      if (v->name() == version->name() && (!newest || v->load_serial() > newest->load_serial())) {
        newest = v.get();
      }
    }
    if (newest != nullptr) pinned_current_.emplace_back(newest->name(), newest->vsn());
  }
  versions_.push_back(version);
  return ModuleVersionPtr(std::move(version));
}

ModuleVersionPtr CodeServer::current(std::string_view module) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [m, vsn] : pinned_current_) {
    if (m != module) continue;
    for (const auto& v : versions_) {
      if (v->name() == module && v->vsn() == vsn) return v;
    }
  }
  ModuleVersionPtr best;  // no pin, or the pinned version was unloaded: the newest
  for (const auto& v : versions_) {
    if (v->name() == module && (!best || v->load_serial() > best->load_serial())) best = v;
  }
  return best;
}

ModuleVersionPtr CodeServer::find(std::string_view module, std::string_view vsn) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& v : versions_) {
    if (v->name() == module && v->vsn() == vsn) return v;
  }
  return nullptr;
}

std::vector<ModuleVersionPtr> CodeServer::loaded() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ModuleVersionPtr> out(versions_.begin(), versions_.end());
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a->load_serial() < b->load_serial(); });
  return out;
}

Status CodeServer::unload(std::string_view module, std::string_view vsn) {
  std::shared_ptr<ModuleVersion> dropped;  // released after the lock: dlclose runs destructors
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find_if(versions_.begin(), versions_.end(),
                         [&](const auto& v) { return v->name() == module && v->vsn() == vsn; });
  if (it == versions_.end()) {
    std::string loaded;
    for (const auto& v : versions_) {
      if (v->name() != module) continue;
      loaded += (loaded.empty() ? "" : ", ") + v->vsn();
    }
    return Status::NotFound("module " + std::string(module) + " " + std::string(vsn) +
                            " is not loaded" +
                            (loaded.empty() ? std::string(" (no version of it is)")
                                            : " (loaded versions: " + loaded + ")"));
  }
  dropped = std::move(*it);
  versions_.erase(it);
  // A pin on the unloaded version would otherwise revive it if it is loaded again.
  std::erase_if(pinned_current_,
                [&](const auto& p) { return p.first == module && p.second == vsn; });
  return Status();
}

Result<ModuleInfo> InspectModuleFile(const std::string& path, std::string_view expected_name) {
  CodeServer scratch;
  RELUP_ASSIGN_OR_RETURN(ModuleVersionPtr version, scratch.load(path, expected_name));
  return version->info();
}

}  // namespace relup
