// relup keygen -o KEYDIR [--name NAME]: a new Ed25519 key pair for signed
// release tarballs (release/signing.h): KEYDIR/NAME.key (private, 0600) and
// KEYDIR/NAME.pub (public, 0644), NAME "relup" by default. Never overwrites
// a key. Prints the key id.
#include <string>

#include "cmd/node_client_util.h"
#include "command.h"
#include "release/signing_keys.h"

namespace relup::cli {
namespace {

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string dir;
    std::string name{kDefaultKeyName};
  };
  auto args = std::make_shared<Args>();
  sub.add_option("-o,--output", args->dir,
                 "directory for the key files (created with mode 0700 if missing)")
      ->required();
  sub.add_option("--name", args->name, "key file name: NAME.key and NAME.pub (default: relup)");
  return [args] {
    auto keys = GenerateKeyFiles(args->dir, args->name);
    if (!keys.ok()) {
      return keys.status().code() == StatusCode::kInvalidArgument
                 ? UsageError("keygen", keys.status())
                 : ReportError("keygen", keys.status());
    }
    PrintLine("key id " + keys->id);
    PrintLine("private key: " + keys->private_path +
              " (mode 0600: keep it secret; sign with relup build SPEC -o OUT --sign " +
              keys->private_path + ")");
    PrintLine("public key:  " + keys->public_path +
              " (give it to nodes: relup node start --trust " + keys->public_path +
              ", or copy it into ROOT/trusted_keys/; relup verify --trust " + keys->public_path +
              ")");
    return static_cast<int>(kExitOk);
  };
}

RELUP_COMMAND("keygen", "make an Ed25519 key pair for signing release tarballs", Setup);

}  // namespace
}  // namespace relup::cli
