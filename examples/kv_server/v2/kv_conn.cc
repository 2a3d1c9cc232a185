// kv_conn, version 2: version 1's connection (kv_server/common/conn.h) with
// the expiry commands (EXPIRE, PEXPIRE, TTL, PTTL, PERSIST; SET's EX/PX go
// to the shard as they are).
//
// The state layout is version 1's: code_change, both ways, keeps it as it
// is, so a connection upgraded between two reads keeps its socket and any
// half-read pipelined command in `pending`, and the next read completes it.
#include "kv_server/common/commands_v2.h"

class KvConn : public relup::Server {
 public:
  using Impl = kv::Conn<kv::kCommandsV2, std::size(kv::kCommandsV2)>;
  relup::Term init(const relup::Term& args) { return Impl::Init(args); }
  relup::Result<relup::MessageOutcome> handle_info(const relup::Term& msg, relup::Term& state) {
    return Impl::Info(*this, msg, state);
  }
  relup::Result<relup::Term> code_change(const relup::Term& old_vsn, const relup::Term& state,
                                         const relup::Term&) {
    if (old_vsn == relup::Term("1") || old_vsn == relup::DownVsn("1")) return state;
    return error("kv_conn 2 changes up from \"1\" or down to it, not " + old_vsn.to_yaml());
  }
};

RELUP_MODULE(kv_conn, "2", KvConn)
