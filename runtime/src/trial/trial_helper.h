// The trial helper: the separate process (relup-trial) in which a node
// loads new module code and tries every code_change before the upgrade
// touches anything, so that a module that crashes, exits or hangs there
// takes down only the helper. The node side is trial_session.h; the frames
// are trial_frames.h.
//
// RunTrialHelper serves requests on kHelperFd until the node closes
// its end, then returns 0. It records its progress in the page mapped from
// kProgressFd. It returns 2 on a damaged request (the node sent something it
// does not understand), after a message on stderr. Libraries are copied
// into, and loaded from, `code_dir` (removed by the node afterwards).
// Before serving, it closes every other descriptor above kProgressFd, moves stdout
// onto stderr (module output must not reach the frame stream), disables
// core dumps, and asks to be killed if the node's thread that started it
// ends.
#pragma once

#include <string>

namespace relup::trial {

int RunTrialHelper(const std::string& code_dir);

}  // namespace relup::trial
