// The commands of kv_server version 2: version 1's, plus expiry.
#pragma once

#include "kv_server/common/commands_v1.h"

namespace kv {

inline constexpr CommandSpec kCommandsV2[] = {
    KV_COMMANDS_V1
    {"EXPIRE", 3, Kind::kKey},       {"PEXPIRE", 3, Kind::kKey},
    {"TTL", 2, Kind::kKey},          {"PTTL", 2, Kind::kKey},
    {"PERSIST", 2, Kind::kKey},
};

}  // namespace kv
