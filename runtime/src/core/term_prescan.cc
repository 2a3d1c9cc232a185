// PrescanTermText: see term_prescan.h.
#include "term_prescan.h"

namespace relup::detail {

Status PrescanTermText(std::string_view text, int max_depth, const std::string& depth_limit) {
  int depth = 0;
  size_t values = 0;
  int line = 1, column = 0;
  char prev = '\n';  // the last character outside a quoted scalar that was not a space
  auto where = [&] {
    return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": ";
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    ++column;
    if (c == '\n') {
      ++line;
      column = 0;
      prev = '\n';
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') continue;
    bool scalar_start = prev == '\n' || prev == '[' || prev == '{' || prev == ',' || prev == ':' ||
                        prev == '-' || prev == '?' ||
                        (i > 0 && (text[i - 1] == ' ' || text[i - 1] == '\t'));
    if ((c == '\'' || c == '"') && scalar_start) {
      // A quoted scalar: skip to its end ('' and \" do not end it).
      char q = c;
      for (++i; i < text.size(); ++i) {
        ++column;
        if (text[i] == '\n') {
          ++line;
          column = 0;
        } else if (q == '"' && text[i] == '\\') {
          ++i;
          ++column;
        } else if (text[i] == q) {
          if (q == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
            ++i;
            ++column;
            continue;
          }
          break;
        }
      }
      prev = q;
      continue;
    }
    if (c == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t' || prev == '\n')) {
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;  // a comment
      continue;
    }
    if (c == '[' || c == '{') {
      if (++depth > max_depth) return Status::InvalidArgument(where() + depth_limit);
      if (++values > kMaxTextValues) {
        return Status::InvalidArgument(where() + "the text holds more than " +
                                       std::to_string(kMaxTextValues) +
                                       " values (the limit for a term); split the data");
      }
    } else if (c == ']' || c == '}') {
      if (depth > 0) --depth;
    } else if (c == ',') {
      if (++values > kMaxTextValues) {
        return Status::InvalidArgument(where() + "the text holds more than " +
                                       std::to_string(kMaxTextValues) +
                                       " values (the limit for a term); split the data");
      }
    }
    prev = c;
  }
  return Status();
}

}  // namespace relup::detail
