#include "code/descriptor_check.h"

#include <cstdio>

#include "relup/version.h"

namespace relup::code {
namespace {

std::string Hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

bool Empty(const char* s) {
  return s == nullptr || *s == '\0';
}

}  // namespace

Status CheckDescriptor(const ModuleDescriptor* d, const std::string& path,
                       std::string_view expected_name, ModuleInfo* info) {
  const std::string rebuild = ": rebuild it with relup_add_module / RELUP_MODULE";
  if (d == nullptr) {
    return Status::ModuleError(path + ": relup_module_descriptor returned no descriptor" + rebuild);
  }
  // magic, abi_version and term_size come first in every ABI version, so they
  // can be read before the rest of the layout is known to match.
  if (d->magic != kModuleMagic) {
    return Status::ModuleError(path + " is not a relup module (descriptor magic " +
                               Hex32(d->magic) + ", expected " + Hex32(kModuleMagic) + ")" +
                               rebuild);
  }
  if (d->abi_version != kAbiVersion) {
    return Status::ModuleError(path + ": built for module ABI " + std::to_string(d->abi_version) +
                               ", but this node is relup " RELUP_VERSION " (module ABI " +
                               std::to_string(kAbiVersion) +
                               "): rebuild the module against relup " RELUP_VERSION);
  }
  if (d->term_size != sizeof(Term)) {
    return Status::ModuleError(path + ": its Term is " + std::to_string(d->term_size) +
                               " bytes but this node's is " + std::to_string(sizeof(Term)) +
                               ": rebuild the module against relup " RELUP_VERSION);
  }
  if (Empty(d->name)) {
    return Status::ModuleError(path + ": the descriptor has an empty module name" + rebuild);
  }
  if (Empty(d->vsn)) {
    return Status::ModuleError(path + ": module '" + d->name +
                               "' has an empty version in its descriptor" + rebuild);
  }
  const ModuleCallbacks& cb = d->callbacks;
  const char* missing = cb.init == nullptr          ? "init"
                        : cb.handle_call == nullptr ? "handle_call"
                        : cb.handle_cast == nullptr ? "handle_cast"
                        : cb.handle_info == nullptr ? "handle_info"
                                                    : nullptr;
  if (missing != nullptr) {
    return Status::ModuleError(path + ": module '" + d->name + "' has no " + missing +
                               " callback in its descriptor" + rebuild);
  }
  if (!expected_name.empty() && expected_name != d->name) {
    return Status::ModuleError(path + " is module '" + d->name + "' but '" +
                               std::string(expected_name) + "' was expected");
  }
  info->name = d->name;
  info->vsn = d->vsn;
  info->build_id = d->build_id != nullptr ? d->build_id : "";
  info->has_code_change = cb.code_change != nullptr;
  return Status();
}

}  // namespace relup::code
