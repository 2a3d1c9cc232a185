// Pid text forms: "<0.42.0>" (as Erlang prints pids) and the bare "42".
#include <charconv>

#include "relup/term.h"

namespace relup {

std::string Pid::to_string() const {
  return "<0." + std::to_string(id) + ".0>";
}

Result<Pid> Pid::parse(std::string_view text) {
  std::string_view digits = text;
  if (digits.size() > 5 && digits.substr(0, 3) == "<0." &&
      digits.substr(digits.size() - 3) == ".0>") {
    digits = digits.substr(3, digits.size() - 6);
  }
  uint64_t id = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || id == 0) {
    return Status::InvalidArgument(
        std::string("'").append(text) +
        "' is not a pid; write it as <0.42.0> or 42 (a positive number)");
  }
  return Pid{id};
}

}  // namespace relup
