// libFuzzer target: what a node does with the bytes a client sends on its
// control socket. The input goes through a real socket into the frame
// reader (length header, size limit, admission), the Term parser and the
// node's request handler, against a live node with a scratch root. Every
// input must get a reply or a clean refusal; nothing may crash, hang or
// exhaust memory.
//
// Commands that take a path on this machine (apply, downgrade, load) are
// left out: a path is the client's to choose, and reading what it names is
// what they are for.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>

#include "node/control_protocol.h"
#include "node/node_service.h"
#include "node/release_handler.h"
#include "release/release_store.h"
#include "relup/node.h"

namespace {

struct World {
  std::string root;
  relup::Node* node;
  std::unique_ptr<relup::ReleaseStore> store;
  relup::ReleaseHandler* handler;
  relup::NodeService* service;

  World() {
    char tmpl[] = "/tmp/relup-fuzz-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    root = tmpl;
    relup::Node::Options o;
    o.workers = 1;
    o.code_dir = root + "/code";
    o.log = [](relup::LogLevel, std::string_view) {};
    node = new relup::Node(o);
    auto s = relup::ReleaseStore::Open(root);
    if (!s.ok()) std::abort();
    store = std::move(*s);
    handler = new relup::ReleaseHandler(*node, *store, root);
    service = new relup::NodeService(*node, *store, *handler, [] {});
  }
};

bool Skipped(const relup::Term& request) {
  const relup::Term* cmd = request.is_map() ? request.find("cmd") : nullptr;
  if (cmd == nullptr) return false;
  std::string name = cmd->is_atom()     ? std::string(cmd->as_atom())
                     : cmd->is_string() ? cmd->as_string()
                                        : "";
  return name == "apply" || name == "downgrade" || name == "load";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
  // The writer may block on a full socket buffer: it runs beside the reader.
  std::thread writer([&] {
    size_t off = 0;
    while (off < size) {
      ssize_t n = ::send(sv[0], data + off, size - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    ::shutdown(sv[0], SHUT_WR);
  });
  for (int frames = 0; frames < 4; ++frames) {
    auto payload = relup::control::ReadFrame(
        sv[1], [](uint32_t) { return relup::Status::Ok(); }, std::chrono::milliseconds(200));
    if (!payload.ok()) break;
    auto request = relup::Term::parse(*payload);
    if (!request.ok() || Skipped(*request)) continue;
    (void)world->service->handle(*request, [](relup::Term) {});
  }
  ::shutdown(sv[1], SHUT_RDWR);
  writer.join();
  ::close(sv[0]);
  ::close(sv[1]);
  return 0;
}
