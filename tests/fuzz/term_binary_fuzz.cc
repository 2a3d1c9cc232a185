// libFuzzer target: the binary term decoder that the trial helper and the
// node use between them (core/term_binary.h). Damaged bytes must be an
// error, never a crash or an allocation the input cannot back, and what it
// accepts must encode back to a term that decodes equal.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/term_binary.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto t = relup::detail::DecodeTerm(&in);
  if (!t.ok()) return 0;
  std::string again;
  relup::detail::EncodeTerm(*t, &again);
  std::string_view view = again;
  auto back = relup::detail::DecodeTerm(&view);
  if (!back.ok() || !(*back == *t) || !view.empty()) std::abort();
  return 0;
}
