// CheckRootPermissions: whether a node may trust its root directory, the way
// ssh's StrictModes decides whether to trust a user's ~/.ssh.
//
// A node loads code from ROOT/lib and ROOT/releases and runs it with its own
// privileges, so anyone who can write there, or swap one of those
// directories for a symlink of their own, can run code as the node's user
// (as root, for a node run as root). The root is refused when:
//   - it, or releases/, lib/ or code/ inside it, is writable by group or
//     others, or owned by a user other than the node's or root;
//   - one of those is a symlink owned by another user;
//   - the same holds for what is inside releases/ and lib/: each
//     releases/VSN/ and lib/NAME-VSN/ and each file in them;
//   - a directory above it is writable by group or others without the
//     sticky bit (as /tmp has), or is owned by another user: such a parent
//     lets its writers rename the root away and put their own in its place.
// The message names the path, what is wrong and the command that fixes it.
#pragma once

#include <string>

#include "relup/status.h"

namespace relup {

// `root` as the user gave it (it may be a symlink); it must exist.
Status CheckRootPermissions(const std::string& root);

}  // namespace relup
