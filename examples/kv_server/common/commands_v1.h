// The commands of kv_server version 1 (kv_server/common/conn.h).
#pragma once

#include "kv_server/common/conn.h"

namespace kv {

// Version 1's commands, as a list a later version's table starts from.
#define KV_COMMANDS_V1 \
    {"GET", 2, Kind::kKey},          {"SET", -3, Kind::kKey}, \
    {"DEL", -2, Kind::kKeys, Join::kSum}, \
    {"EXISTS", -2, Kind::kKeys, Join::kSum}, \
    {"INCR", 2, Kind::kKey},         {"INCRBY", 3, Kind::kKey}, \
    {"DECR", 2, Kind::kKey},         {"DECRBY", 3, Kind::kKey}, \
    {"MGET", -2, Kind::kKeys, Join::kArray}, \
    {"MSET", -3, Kind::kPairs, Join::kOk}, \
    {"LPUSH", -3, Kind::kKey},       {"RPUSH", -3, Kind::kKey}, \
    {"LPOP", 2, Kind::kKey},         {"RPOP", 2, Kind::kKey}, \
    {"LRANGE", 4, Kind::kKey},       {"LLEN", 2, Kind::kKey}, \
    {"DBSIZE", 1, Kind::kAll, Join::kSum}, \
    {"FLUSHALL", -1, Kind::kAll, Join::kOk}, \
    {"PING", -1, Kind::kLocal},      {"ECHO", 2, Kind::kLocal}, \
    {"SELECT", 2, Kind::kLocal},     {"CONFIG", -2, Kind::kLocal}, \
    {"QUIT", 1, Kind::kLocal},       {"INFO", -1, Kind::kLocal}, \
    {"COMMAND", -1, Kind::kLocal},

inline constexpr CommandSpec kCommandsV1[] = {KV_COMMANDS_V1};

}  // namespace kv
