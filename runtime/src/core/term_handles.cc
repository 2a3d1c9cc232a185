#include "term_handles.h"

#include <vector>

namespace relup {
namespace {

std::string KeyText(const Term& key) {
  if (key.is_atom()) return std::string(key.as_atom());
  if (key.is_string()) return key.as_string();
  return key.to_yaml();
}

std::string Join(const std::string& path, const std::string& step) {
  return path.empty() ? step : path + "." + step;
}

}  // namespace

std::string FoundHandle::ToString() const {
  return text + (path.empty() ? std::string() : " at " + path);
}

std::optional<FoundHandle> FirstHandle(const Term& root) {
  // Iterative, so a deeply nested term cannot exhaust the stack.
  struct Item {
    const Term* term;
    std::string path;
  };
  std::vector<Item> stack{{&root, ""}};
  while (!stack.empty()) {
    Item item = std::move(stack.back());
    stack.pop_back();
    const Term& t = *item.term;
    if (t.is_pid() || t.is_ref()) return FoundHandle{item.path, t.to_yaml()};
    if (t.is_list() || t.is_tuple()) {
      const auto& es = t.elements();
      for (size_t i = es.size(); i > 0; --i) {
        stack.push_back({&es[i - 1], item.path + "[" + std::to_string(i - 1) + "]"});
      }
    } else if (t.is_map()) {
      const auto& es = t.entries();
      for (size_t i = es.size(); i > 0; --i) {
        std::string at = Join(item.path, KeyText(es[i - 1].first));
        stack.push_back({&es[i - 1].second, at});
        stack.push_back({&es[i - 1].first, at + " (its key)"});
      }
    }
  }
  return std::nullopt;
}

}  // namespace relup
