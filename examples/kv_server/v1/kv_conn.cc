// kv_conn, version 1: one client connection of the kv_server (see
// kv_server/common/conn.h): RESP2 parsing with pipelining and commands cut
// across reads, the keys on the kv_shard processes.
#include "kv_server/common/commands_v1.h"

class KvConn : public relup::Server {
 public:
  using Impl = kv::Conn<kv::kCommandsV1, std::size(kv::kCommandsV1)>;
  relup::Term init(const relup::Term& args) { return Impl::Init(args); }
  relup::Result<relup::MessageOutcome> handle_info(const relup::Term& msg, relup::Term& state) {
    return Impl::Info(*this, msg, state);
  }
};

RELUP_MODULE(kv_conn, "1", KvConn)
