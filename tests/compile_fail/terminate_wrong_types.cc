// Must not compile: terminate taking the state by value of the wrong type.
#include "relup/server.h"

class Sessions : public relup::Server {
 public:
  void terminate(int reason, const relup::Term& state) {}
};
RELUP_MODULE(sessions, "1", Sessions)
