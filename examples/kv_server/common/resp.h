// RESP2, Redis's wire protocol, for the kv_server modules: a parser of
// client commands that works on whatever bytes have arrived so far, and the
// reply encoders. Header-only: each module version compiles its own copy.
//
// A command is a RESP array of bulk strings (*2\r\n$3\r\nGET\r\n$1\r\nk\r\n),
// as redis-cli and redis-benchmark send, or an inline line (PING\r\n), as a
// person types into telnet. ParseCommand reads one from the front of a
// buffer:
//   kComplete    args holds it; `consumed` bytes may be dropped.
//   kIncomplete  more bytes are needed; nothing is consumed. Nothing is ever
//                allocated for a length a client only announced.
//   kError       a protocol error; `error` is Redis's own reply text. The
//                connection must be closed after sending it (as Redis does):
//                its byte stream can no longer be trusted.
// Limits (Redis's are larger; these bound what one client can make a
// connection process hold): kMaxArgs arguments per command, kMaxBulk bytes per
// argument, kMaxInline bytes per inline line.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kv::resp {

inline constexpr int64_t kMaxArgs = 1024 * 1024;
inline constexpr int64_t kMaxBulk = 64 * 1024 * 1024;
inline constexpr size_t kMaxInline = 64 * 1024;

enum class Parse { kComplete, kIncomplete, kError };

struct Command {
  Parse status = Parse::kIncomplete;
  std::vector<std::string> args;
  size_t consumed = 0;
  std::string error;  // kError: the reply, without "-" and CRLF
};

namespace detail {

// The integer of a header line "<c>N\r\n" starting at `at`; false if the
// line is not complete yet. `*bad` when it is complete but not an integer.
inline bool HeaderInt(std::string_view buf, size_t at, int64_t* value, size_t* next, bool* bad) {
  size_t cr = buf.find('\r', at + 1);
  if (cr == std::string_view::npos || cr + 1 >= buf.size()) {
    // A header longer than any sane number is an error, not a wait.
    *bad = buf.size() - at > 32;
    return *bad;
  }
  const char* first = buf.data() + at + 1;
  const char* last = buf.data() + cr;
  auto [ptr, ec] = std::from_chars(first, last, *value);
  *bad = ec != std::errc() || ptr != last || first == last || buf[cr + 1] != '\n';
  *next = cr + 2;
  return true;
}

inline Command Error(std::string text) {
  Command c;
  c.status = Parse::kError;
  c.error = std::move(text);
  return c;
}

inline Command Inline(std::string_view buf) {
  size_t nl = buf.find('\n');
  if (nl == std::string_view::npos) {
    if (buf.size() > kMaxInline) return Error("ERR Protocol error: too big inline request");
    return {};
  }
  if (nl > kMaxInline) return Error("ERR Protocol error: too big inline request");
  std::string_view line = buf.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  Command c;
  c.status = Parse::kComplete;
  c.consumed = nl + 1;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) c.args.emplace_back(line.substr(start, i - start));
  }
  return c;  // an empty line is a command with no args: skipped by the caller
}

}  // namespace detail

inline Command ParseCommand(std::string_view buf) {
  if (buf.empty()) return {};
  if (buf[0] != '*') return detail::Inline(buf);
  int64_t count = 0;
  size_t at = 0;
  bool bad = false;
  if (!detail::HeaderInt(buf, 0, &count, &at, &bad)) return {};
  if (bad || count > kMaxArgs) return detail::Error("ERR Protocol error: invalid multibulk length");
  Command c;
  if (count <= 0) {  // *0 and *-1: nothing to do, as Redis
    c.status = Parse::kComplete;
    c.consumed = at;
    return c;
  }
  // Arguments are only stored once the whole command is here.
  std::vector<std::pair<size_t, size_t>> spans;
  spans.reserve(static_cast<size_t>(std::min<int64_t>(count, 64)));
  for (int64_t i = 0; i < count; ++i) {
    if (at >= buf.size()) return {};
    if (buf[at] != '$') {
      return detail::Error(std::string("ERR Protocol error: expected '$', got '") + buf[at] + "'");
    }
    int64_t len = 0;
    size_t data = 0;
    if (!detail::HeaderInt(buf, at, &len, &data, &bad)) return {};
    if (bad || len < 0 || len > kMaxBulk) {
      return detail::Error("ERR Protocol error: invalid bulk length");
    }
    size_t end = data + static_cast<size_t>(len);
    if (end + 2 > buf.size()) return {};
    if (buf[end] != '\r' || buf[end + 1] != '\n') {
      return detail::Error("ERR Protocol error: bulk string not terminated by CRLF");
    }
    spans.emplace_back(data, static_cast<size_t>(len));
    at = end + 2;
  }
  c.status = Parse::kComplete;
  c.consumed = at;
  c.args.reserve(spans.size());
  for (auto [off, len] : spans) c.args.emplace_back(buf.substr(off, len));
  return c;
}

// Command names and flags are case-insensitive (ASCII).
inline std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return s;
}
inline std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return s;
}

// --- Replies ---
inline void Simple(std::string& out, std::string_view s) { (out += '+').append(s) += "\r\n"; }
inline void Error(std::string& out, std::string_view s) { (out += '-').append(s) += "\r\n"; }
inline void Integer(std::string& out, int64_t n) { (out += ':').append(std::to_string(n)) += "\r\n"; }
inline void Bulk(std::string& out, std::string_view s) {
  (out += '$').append(std::to_string(s.size())) += "\r\n";
  out.append(s) += "\r\n";
}
inline void Null(std::string& out) { out += "$-1\r\n"; }
inline void ArrayHeader(std::string& out, size_t n) {
  (out += '*').append(std::to_string(n)) += "\r\n";
}

}  // namespace kv::resp
