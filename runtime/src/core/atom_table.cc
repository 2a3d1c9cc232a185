// The program-wide atom table. Lookups of existing atoms take a shared lock
// only; the first use of a name takes the exclusive lock once.
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "term_body.h"

namespace relup::detail {
namespace {

struct AtomTable {
  std::shared_mutex mu;
  // Keys view the names owned by the (never freed) entries.
  std::unordered_map<std::string_view, const AtomEntry*> by_name;
};

AtomTable& Table() {
  // Leaked on purpose: atoms must outlive every static Term of every module.
  static AtomTable* table = new AtomTable;
  return *table;
}

}  // namespace

const AtomEntry* FindAtom(std::string_view name) {
  AtomTable& t = Table();
  std::shared_lock lock(t.mu);
  auto it = t.by_name.find(name);
  return it == t.by_name.end() ? nullptr : it->second;
}

const AtomEntry* InternAtom(std::string_view name) {
  if (const AtomEntry* e = FindAtom(name)) return e;
  AtomTable& t = Table();
  std::unique_lock lock(t.mu);
  auto it = t.by_name.find(name);
  if (it != t.by_name.end()) return it->second;
  auto* entry = new AtomEntry{std::string(name), std::hash<std::string_view>{}(name)};
  t.by_name.emplace(entry->name, entry);
  return entry;
}

}  // namespace relup::detail
