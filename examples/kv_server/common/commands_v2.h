// The commands of kv_server version 2: version 1's, plus expiry.
#pragma once

#include "kv_server/common/conn.h"

namespace kv {

inline constexpr CommandSpec kCommandsV2[] = {
    {"GET", 2, Kind::kKey},          {"SET", -3, Kind::kKey},
    {"DEL", -2, Kind::kKeys, Join::kSum},
    {"EXISTS", -2, Kind::kKeys, Join::kSum},
    {"INCR", 2, Kind::kKey},         {"INCRBY", 3, Kind::kKey},
    {"DECR", 2, Kind::kKey},         {"DECRBY", 3, Kind::kKey},
    {"MGET", -2, Kind::kKeys, Join::kArray},
    {"MSET", -3, Kind::kPairs, Join::kOk},
    {"LPUSH", -3, Kind::kKey},       {"RPUSH", -3, Kind::kKey},
    {"LPOP", 2, Kind::kKey},         {"RPOP", 2, Kind::kKey},
    {"LRANGE", 4, Kind::kKey},       {"LLEN", 2, Kind::kKey},
    {"DBSIZE", 1, Kind::kAll, Join::kSum},
    {"FLUSHALL", -1, Kind::kAll, Join::kOk},
    {"EXPIRE", 3, Kind::kKey},       {"PEXPIRE", 3, Kind::kKey},
    {"TTL", 2, Kind::kKey},          {"PTTL", 2, Kind::kKey},
    {"PERSIST", 2, Kind::kKey},
    {"PING", -1, Kind::kLocal},      {"ECHO", 2, Kind::kLocal},
    {"SELECT", 2, Kind::kLocal},     {"CONFIG", -2, Kind::kLocal},
    {"QUIT", 1, Kind::kLocal},       {"INFO", -1, Kind::kLocal},
    {"COMMAND", -1, Kind::kLocal},
};

}  // namespace kv
