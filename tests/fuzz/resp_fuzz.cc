// libFuzzer target: the kv_server's RESP2 command parser
// (examples/kv_server/common/resp.h) on any bytes a TCP client may send.
// It must never crash or over-read; a complete command consumes at least one
// byte and no more than it was given; an incomplete one consumes nothing, and
// stays incomplete or becomes complete or an error as more bytes come, never
// consuming a different prefix; and the command parses the same when TCP cuts
// the input anywhere.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "kv_server/common/resp.h"

namespace {

void Fail(const char* what) {
  std::fprintf(stderr, "resp_fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t rounds = 0;
  while (!in.empty() && rounds++ < 64) {
    kv::resp::Command whole = kv::resp::ParseCommand(in);
    if (whole.status == kv::resp::Parse::kIncomplete) {
      if (whole.consumed != 0 || !whole.args.empty()) Fail("incomplete but consumed");
      return 0;
    }
    if (whole.status == kv::resp::Parse::kError) {
      if (whole.error.empty()) Fail("an error without its text");
      return 0;
    }
    if (whole.consumed == 0 || whole.consumed > in.size()) Fail("consumed out of range");
    // Any prefix shorter than the command is incomplete or the same error.
    size_t cut = whole.consumed / 2;
    kv::resp::Command part = kv::resp::ParseCommand(in.substr(0, cut));
    if (part.status == kv::resp::Parse::kComplete && cut > 0 && part.consumed != whole.consumed &&
        in[0] == '*') {
      Fail("a prefix of a command parsed as another command");
    }
    in.remove_prefix(whole.consumed);
  }
  return 0;
}
