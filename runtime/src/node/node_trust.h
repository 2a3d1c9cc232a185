// Which keys a node trusts to sign the release tarballs it unpacks.
//
// A node trusts the union of the keys in every `relup node start --trust
// PATH` (a NAME.pub file or a directory of *.pub) and those in
// ROOT/trusted_keys/ (*.pub), when that directory exists. The keys are read
// at start and again for every tarball (ReleaseHandler::trusted_keys), so a
// key is added or removed without a restart. Several keys may be trusted at
// once, so a new signing key can be rolled out before the old one is
// retired. With no trusted key at all the node accepts unsigned tarballs, as
// before signing existed; with one or more it refuses any tarball not signed
// by one of them (release/signing.h, CheckSignature). A node that started
// with keys never falls back to accepting unsigned tarballs while it runs.
//
// Anyone who can add a .pub file where the node reads them can make it run
// their code, so a trust source (the directory and each key file) is refused,
// naming it and the fix, as the root itself is (root_check.h), when it or a
// directory above it is owned by anyone but the node's user or root, or is
// writable by group or others (a sticky directory above it, like /tmp, may
// be). A ROOT/trusted_keys that is there but unreadable (a dangling symlink)
// is an error, never "no keys".
//
// Signatures cover tarballs: what `relup load PATH` loads, and releases
// already unpacked in the root, are trusted as the node's own user's.
#pragma once

#include <string>
#include <vector>

#include "release/signing_keys.h"
#include "relup/status.h"

namespace relup {

// The trusted_keys directory of a node root.
std::string TrustedKeysDir(const std::string& root);

// The keys trusted by a node at `root` started with `trust` (see above).
// Empty: the node does not require signatures.
Result<std::vector<PublicKey>> LoadNodeTrust(const std::vector<std::string>& trust,
                                             const std::string& root);

}  // namespace relup
