#include "accounts.h"

namespace relup::bench {

Status LoadModule(Node& node, const Config& config, std::string_view name, std::string_view vsn) {
  auto loaded = node.code_server().load(config.module(name, vsn), name);
  if (!loaded.ok()) return loaded.status().WithContext("loading the benchmark module");
  return Status();
}

Term AccountArgs() {
  return Term::map({{Term::atom("name"), Term(std::string("blackode"))},
                    {Term::atom("money"), Term(static_cast<long long>(kInitialMoney))}});
}

Result<std::vector<Pid>> SpawnAccounts(Node& node, int64_t n) {
  std::vector<Pid> pids;
  pids.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    auto pid = node.spawn("bench_account", AccountArgs());
    if (!pid.ok()) return pid.status().WithContext("spawning account " + std::to_string(i));
    pids.push_back(*pid);
  }
  return pids;
}

Result<int64_t> Balance(const Term& state) {
  for (const char* key : {"money", "salary"}) {
    if (const Term* v = state.find(key); v != nullptr && v->is_int()) return v->as_int();
  }
  return Status::Internal("an account state without money or salary: " + state.to_yaml());
}

}  // namespace relup::bench
