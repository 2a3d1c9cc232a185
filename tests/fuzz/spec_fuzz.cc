// libFuzzer target: the release spec reader (`relup build`'s input, with its
// appup) on any text. It must return with diagnostics, never crash, hang or
// exhaust memory.
#include <cstddef>
#include <cstdint>
#include <string>

#include "builder/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  relup::build::Diagnostics diags;
  auto spec = relup::build::ParseSpec(text, "/nonexistent/fuzz/spec.yaml", &diags);
  if (spec) (void)relup::build::AppupToYaml(spec->appup);
  return 0;
}
