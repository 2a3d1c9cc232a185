// libFuzzer target: a node's first look at a release tarball, on any bytes:
// unpacking in memory (gzip, tar, paths, sizes), the MANIFEST check (with
// the strict parse of a SIGNATURE entry), then release.yaml, the layout and
// relup.yaml, as `relup apply` does before it writes anything. It must
// return, never crash, hang or exhaust memory.
#include <cstddef>
#include <cstdint>
#include <string>

#include "release/release_unpack.h"
#include "release/tarball.h"
#include "relup/plan.h"
#include "relup/release.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  auto files = relup::ReadTarballBytes(bytes, "fuzz.tar.gz");
  if (!files.ok()) return 0;
  if (!relup::VerifyManifest(*files).empty()) return 0;
  auto release = relup::ReleaseFromFiles(*files, "fuzz.tar.gz");
  if (!release.ok()) return 0;
  if (!relup::CheckReleaseLayout(*files, *release, "fuzz.tar.gz").ok()) return 0;
  auto relup_yaml = files->find(relup::RelupYamlPath(release->vsn));
  if (relup_yaml != files->end()) (void)relup::ParsePlanSetYaml(relup_yaml->second, "fuzz");
  return 0;
}
