// A first pass over a term's text, before yaml-cpp sees it (term_parse.cc).
//
// yaml-cpp tokenizes a whole flow collection before it emits its first event
// (the collection might turn out to be a key), at about 100 bytes per token:
// a 64 MiB frame of '[' would take gigabytes before any limit of the event
// builder could act. This pass counts flow brackets and separators outside
// quoted scalars and comments, and refuses more nesting than max_depth (with
// `depth_limit` as the reason) or more than kMaxTextValues values, at
// "line L, column C". Text whose quotes it misreads is only counted less,
// never refused more: yaml-cpp's own parse still applies every rule.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "relup/status.h"

namespace relup::detail {

inline constexpr size_t kMaxTextValues = 1'000'000;

Status PrescanTermText(std::string_view text, int max_depth, const std::string& depth_limit);

}  // namespace relup::detail
