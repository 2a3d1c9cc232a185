// libFuzzer target: the readers of a release's own files, release.yaml and
// relup.yaml (the compiled plans), which a node reads from every tarball it
// is handed. Each must return, never crash, hang or exhaust memory, and a
// release.yaml it accepts must read back the same from ReleaseToYaml.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "relup/plan.h"
#include "relup/release.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto release = relup::ParseReleaseYaml(text, "fuzz/release.yaml");
  if (release.ok()) {
    auto back = relup::ParseReleaseYaml(relup::ReleaseToYaml(*release), "fuzz/printed.yaml");
    if (!back.ok()) {
      std::fprintf(stderr, "release.yaml accepted, but its printed form is refused: %s\n",
                   back.status().message().c_str());
      std::abort();
    }
  }
  (void)relup::ParsePlanSetYaml(text, "fuzz/relup.yaml");
  return 0;
}
