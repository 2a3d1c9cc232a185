// Finding handles (pids and refs: timers, monitors, sockets) inside a Term.
// A handle means something only on the node that made it, so a state that
// holds one cannot be moved to another node (Node::adopt refuses it, and
// `relup check --snapshot` leaves such a process out, saying where it is).
#pragma once

#include <optional>
#include <string>

#include "relup/term.h"

namespace relup {

struct FoundHandle {
  std::string path;              // where in the term: "conns[2].socket", "" for the term itself
  std::string text;              // the handle as YAML: "!socket 7"
  std::string ToString() const;  // "!socket 7 at conns[2].socket"
};

// The first handle in `t`, depth first (map keys and values, list and tuple
// elements in order); nullopt if it holds none.
std::optional<FoundHandle> FirstHandle(const Term& t);

}  // namespace relup
