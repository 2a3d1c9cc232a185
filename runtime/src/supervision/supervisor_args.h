// The supervisor's vocabulary and the checks of its start arguments, shared
// by the supervisor process (supervisor.cc) and, through
// CheckSupervisorArgs, by `relup build`.
//
// Words (strategy, restart, shutdown, type) may be atoms (:one_for_one) or,
// as a release spec's bare YAML words read, strings; the supervisor's state
// keeps them as atoms (Normalized, AsAtom).
#pragma once

#include <initializer_list>
#include <string>

#include "relup/status.h"
#include "relup/term.h"

namespace relup::supervision {

bool IsWord(const Term& t, const char* word);
bool OneOf(const Term& t, std::initializer_list<const char*> words);
Term AsAtom(const Term& t);       // a string word as the atom of that name
std::string Show(const Term& t);  // YAML
// An id, a name, a module or a word as written: no atom colon, pids as
// <0.42.0>. Shared by the CLI's tree, sup and inspect output.
std::string Text(const Term& t);

// One child spec; `where` names it in errors ("children[2]"). A template
// (simple_one_for_one) has no id and no registered name.
Status CheckChild(const Term& c, const std::string& where, bool is_template);
// A checked child spec with every default filled in, its words as atoms.
Term Normalized(const Term& c);

}  // namespace relup::supervision
