// The program-wide atom table. A per-thread direct-mapped cache answers most
// lookups without touching shared state (entries are never freed, so a cached
// pointer stays valid); a miss takes the table's shared lock, and only the
// first use of a name takes the exclusive lock.
#include <array>
#include <atomic>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "term_body.h"

namespace relup::detail {
namespace {

// FNV-1a: atom names are short, where this beats std::hash's Murmur.
size_t HashName(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return static_cast<size_t>(h);
}

struct NameHash {
  size_t operator()(std::string_view name) const { return HashName(name); }
};

struct AtomTable {
  std::shared_mutex mu;
  // Keys view the names owned by the (never freed) entries.
  std::unordered_map<std::string_view, const AtomEntry*, NameHash> by_name;
};

AtomTable& Table() {
  // Leaked on purpose: atoms must outlive every static Term of every module.
  static AtomTable* table = new AtomTable;
  return *table;
}

thread_local bool tls_text_atoms = false;
std::atomic<size_t> g_text_atom_limit{kMaxAtomsForText};

constexpr size_t kCacheSlots = 256;
thread_local std::array<const AtomEntry*, kCacheSlots> tls_cache{};

const AtomEntry*& CacheSlot(size_t hash) {
  return tls_cache[hash % kCacheSlots];
}

}  // namespace

const AtomEntry* FindAtom(std::string_view name) {
  size_t hash = HashName(name);
  const AtomEntry*& slot = CacheSlot(hash);
  if (slot != nullptr && slot->hash == hash && slot->name == name) return slot;
  AtomTable& t = Table();
  std::shared_lock lock(t.mu);
  auto it = t.by_name.find(name);
  if (it == t.by_name.end()) return nullptr;
  slot = it->second;
  return slot;
}

TextAtoms::TextAtoms() : prev_(std::exchange(tls_text_atoms, true)) {}
TextAtoms::~TextAtoms() {
  tls_text_atoms = prev_;
}

size_t SetAtomLimitForText(size_t limit) {
  return g_text_atom_limit.exchange(limit);
}

size_t AtomCount() {
  AtomTable& t = Table();
  std::shared_lock lock(t.mu);
  return t.by_name.size();
}

const AtomEntry* InternAtom(std::string_view name) {
  if (const AtomEntry* e = FindAtom(name)) return e;
  AtomTable& t = Table();
  std::unique_lock lock(t.mu);
  auto it = t.by_name.find(name);
  if (it != t.by_name.end()) return it->second;
  if (tls_text_atoms && name.size() > kMaxAtomBytesForText) {
    throw AtomLimitReached("an atom's name from text may be at most " +
                           std::to_string(kMaxAtomBytesForText) + " bytes, and this one has " +
                           std::to_string(name.size()) +
                           " (atoms are never freed); write it quoted (a string) instead");
  }
  size_t limit = g_text_atom_limit.load(std::memory_order_relaxed);
  if (tls_text_atoms && t.by_name.size() >= limit) {
    std::string shown(name.substr(0, 40));
    throw AtomLimitReached(
        "the atom table already holds " + std::to_string(t.by_name.size()) +
        " atoms, and text may not add more (atoms are never freed; the limit is " +
        std::to_string(limit) + "): '" + shown + (name.size() > 40 ? "...'" : "'") +
        " is a new one; write it quoted (a string) instead");
  }
  auto* entry = new AtomEntry{std::string(name), HashName(name)};
  t.by_name.emplace(entry->name, entry);
  CacheSlot(entry->hash) = entry;
  return entry;
}

}  // namespace relup::detail
