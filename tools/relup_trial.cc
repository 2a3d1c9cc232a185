// relup-trial: the helper process in which a node tries new module code
// (loading it, and every code_change on copies of process states) before
// it loads that code itself. Started by the node, never by hand; see
// runtime/src/trial/trial_helper.h.
//
//   relup-trial --code-dir DIR   (the socket is fd 3, the progress page fd 4)
#include <cstdio>
#include <string>
#include <string_view>

#include "trial/trial_helper.h"

int main(int argc, char** argv) {
  std::string code_dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string_view(argv[i]) == "--code-dir") code_dir = argv[i + 1];
  }
  if (code_dir.empty()) {
    std::fprintf(stderr,
                 "relup-trial is started by a relup node to try new module code; it is not run "
                 "by hand (usage: relup-trial --code-dir DIR)\n");
    return 2;
  }
  return relup::trial::RunTrialHelper(code_dir);
}
