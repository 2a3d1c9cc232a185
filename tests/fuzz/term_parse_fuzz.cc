// libFuzzer target: Term::parse on any bytes (control frames, command-line
// terms and every file's terms go through it). It must return, never crash,
// hang or exhaust memory, and what it accepts must survive the round trip
// the text form promises: parse(to_yaml(t), kAllow) == t.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "relup/term.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (relup::ParseHandles handles : {relup::ParseHandles::kRefuse, relup::ParseHandles::kAllow}) {
    auto t = relup::Term::parse(text, handles);
    if (!t.ok()) continue;
    std::string printed = t->to_yaml();
    auto back = relup::Term::parse(printed, relup::ParseHandles::kAllow);
    if (!back.ok() || !(*back == *t)) {
      std::fprintf(stderr, "round trip failed\n  input:   %.*s\n  printed: %s\n  back:    %s\n",
                   static_cast<int>(size), text.data(), printed.c_str(),
                   back.ok() ? back->to_yaml().c_str() : back.status().message().c_str());
      std::abort();
    }
  }
  return 0;
}
