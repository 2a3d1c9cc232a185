// Account servers (modules/account.cc) for the benchmarks: loading a version
// and spawning N of them, each with its own state {name: blackode, money: 30000}
// (as each OTP process holds its own copy of #{name => <<"blackode">>,
// money => 30000}).
#pragma once

#include <cstdint>
#include <vector>

#include "bench_util.h"
#include "relup/node.h"

namespace relup::bench {

inline constexpr int64_t kInitialMoney = 30000;

Status LoadModule(Node& node, const Config& config, std::string_view name, std::string_view vsn);
// A fresh args map per process: states share nothing.
Term AccountArgs();
Result<std::vector<Pid>> SpawnAccounts(Node& node, int64_t n);
// The balance in an account state (money in version 1, salary in version 2).
Result<int64_t> Balance(const Term& state);

}  // namespace relup::bench
