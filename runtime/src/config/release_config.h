// Release configuration: the `config:` of a release spec, a map from module
// name to that module's map of keys, and the `config_schema:` that types it.
//
//   config:
//     kv_acceptor: {port: 6380, host: 127.0.0.1}
//   config_schema:
//     kv_acceptor:
//       port: {type: int, required: true}
//       host: string                    # short for {type: string}
//
// Types: int, float (an int is accepted), string, bool, atom, list, map,
// binary, any. Keys are words (atoms); a module with a schema may have only
// the keys it lists.
//
// The node holds the running configuration in a ConfigStore: processes read
// it through ProcessContext::config (lock-free, a snapshot), and an upgrade
// or a downgrade replaces it as part of its commit (config_change) and puts
// it back on a rollback.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "relup/status.h"
#include "relup/term.h"

namespace relup {

// Checks a release's config and schema against its module names (a module
// not in the release, a key of the wrong type, a required key missing, a
// key the schema does not list). Errors name the path ("config.kv_acceptor.
// port") and the fix. `modules` holds the release's module names.
Status CheckReleaseConfig(const Term& config, const Term& schema,
                          const std::vector<std::string>& modules);

// What an upgrade changes in one module's config map: {changed: {K: NEW},
// added: {K: V}, removed: [K...]}; each empty when the maps are equal.
struct ConfigDelta {
  Term changed = Term::map({});
  Term added = Term::map({});
  Term removed = Term::list({});
  bool empty() const { return changed.size() == 0 && added.size() == 0 && removed.size() == 0; }
};
ConfigDelta DiffModuleConfig(const Term& before, const Term& after);

// The running configuration of a node. Thread-safe: get() may run on every
// scheduler thread while set() replaces the whole map.
class ConfigStore {
 public:
  ConfigStore() : current_(std::make_shared<const Term>(Term::map({}))) {}
  // `module`'s value of `key`, nil when there is none.
  Term get(std::string_view module, std::string_view key) const;
  Term all() const { return *current_.load(std::memory_order_acquire); }
  void set(Term config) {
    current_.store(
        std::make_shared<const Term>(config.is_map() ? std::move(config) : Term::map({})),
        std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const Term>> current_;
};

}  // namespace relup
