// DiffTerms: how two terms differ, as a reader wants to see it in a failed
// check: map keys that went missing, appeared or changed, by their path
// (`profile.salary`), each as one line; other values compared whole.
//
//   - salary: 60000          (only in `want`)
//   + money: 60000           (only in `got`)
//   ~ history[2]: 5 -> 6     (in both, different)
//
// At most `max_lines` lines; a last line says how many more differ. Empty
// when the terms are equal. Pure; thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "relup/term.h"

namespace relup::check {

std::vector<std::string> DiffTerms(const Term& want, const Term& got, size_t max_lines = 20);

}  // namespace relup::check
