// Checks a module descriptor before anything else in it is used.
#pragma once

#include <string>
#include <string_view>

#include "relup/code_server.h"
#include "relup/module_abi.h"
#include "relup/status.h"

namespace relup::code {

// Checks magic, ABI version, term size, name and vsn, the required callbacks
// and, when given, the expected name; fills info's name, vsn, build_id and
// has_code_change. `path` is the library's path as the user gave it, for errors.
Status CheckDescriptor(const ModuleDescriptor* d, const std::string& path,
                       std::string_view expected_name, ModuleInfo* info);

}  // namespace relup::code
