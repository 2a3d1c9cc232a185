// The frames between a node and its trial helper (relup-trial), over one
// AF_UNIX stream socket: [u32 little-endian length][u8 type][payload], the
// length counting the type byte and the payload. The node sends requests;
// the helper answers each one, in order, with exactly one reply.
//
// Requests (node -> helper):
//   kLoad    bytes path, bytes module name. The helper loads the library (its
//            static constructors run here, not in the node) and checks its
//            descriptor. Libraries get ids 0, 1, 2... in request order
//            whatever the reply; a failed one is unusable.
//   kCheck   varint to_lib, varint back_lib + 1 (0: no way back to try),
//            then the terms extra, back_old_vsn, back_extra, old_vsn, state
//            (core/term_binary.h). The helper runs to_lib's code_change on
//            the state and, with back_lib, back_lib's code_change on the
//            result with back_old_vsn.
// Replies (helper -> node):
//   kOk
//   kFailed      u8 StatusCode, bytes message: the load or code_change failed
//   kBackFailed  u8 StatusCode, bytes message: code_change worked, the way back did not
//
// The node trusts nothing the helper sends: module code runs there, and a
// frame longer than kMaxReplyBytes, of an unknown type, or damaged, ends
// the trial as a failure of the request it answers.
//
// Requests are numbered 0, 1, 2... in the order sent; see Progress below.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace relup::trial {

enum FrameType : uint8_t {
  kLoad = 'L',
  kCheck = 'C',
  kOk = 'K',
  kFailed = 'E',
  kBackFailed = 'B',
};

inline constexpr size_t kMaxReplyBytes = 64 * 1024;
inline constexpr size_t kMaxMessageBytes = 4000;  // a reply's message is cut to this
inline constexpr int kHelperFd = 3;               // the socket, in the helper
inline constexpr int kProgressFd = 4;             // the progress page, in the helper

// What the helper is doing, in a page both processes map (a memfd the node
// passes as kProgressFd): how many requests it has started and finished.
// Replies are sent in batches, so after a crash or during a hang this, not
// the replies, says which request it was running, and since when.
struct Progress {
  std::atomic<uint64_t> started{0};
  std::atomic<uint64_t> finished{0};
};

// Starts a frame of `type` in *out; FinishFrame writes its length once the
// payload is appended.
inline size_t BeginFrame(FrameType type, std::string* out) {
  size_t at = out->size();
  out->append(4, '\0');
  out->push_back(static_cast<char>(type));
  return at;
}

inline void FinishFrame(size_t at, std::string* out) {
  uint32_t n = static_cast<uint32_t>(out->size() - at - 4);
  for (int i = 0; i < 4; ++i) (*out)[at + i] = static_cast<char>(n >> (8 * i));
}

// Reads the length of the frame at the front of `in`; false while its
// 4-byte header has not all arrived.
inline bool PeekFrameLength(std::string_view in, uint32_t* n) {
  if (in.size() < 4) return false;
  *n = 0;
  for (int i = 3; i >= 0; --i) *n = (*n << 8) | static_cast<uint8_t>(in[i]);
  return true;
}

}  // namespace relup::trial
