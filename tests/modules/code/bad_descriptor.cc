// Hand-written descriptors, each wrong in one way (chosen by a define), to
// test the code server's checks. A real module uses RELUP_MODULE instead.
#include "relup/module_abi.h"

namespace {

relup::Status Init(relup::ProcessContext&, const relup::Term& args, relup::Term* state) noexcept {
  *state = args;
  return relup::Status();
}
relup::Status Call(relup::ProcessContext&, const relup::Term&, const relup::From&, relup::Term*,
                   relup::CallOutcome*) noexcept {
  return relup::Status();
}
relup::Status Message(relup::ProcessContext&, const relup::Term&, relup::Term*,
                      relup::MessageOutcome*) noexcept {
  return relup::Status();
}

relup::ModuleDescriptor MakeDescriptor() {
  relup::ModuleDescriptor d{};
  d.magic = relup::kModuleMagic;
  d.abi_version = relup::kAbiVersion;
  d.term_size = sizeof(relup::Term);
  d.name = "bad";
  d.vsn = "1";
  d.build_id = "test";
  d.callbacks.init = &Init;
  d.callbacks.handle_call = &Call;
  d.callbacks.handle_cast = &Message;
  d.callbacks.handle_info = &Message;
#if defined(RELUP_TEST_BAD_MAGIC)
  d.magic = 0xDEADBEEF;
#elif defined(RELUP_TEST_BAD_ABI)
  d.abi_version = relup::kAbiVersion - 1;  // built against the previous relup
#elif defined(RELUP_TEST_BAD_TERM_SIZE)
  d.term_size = sizeof(relup::Term) + 8;
#elif defined(RELUP_TEST_EMPTY_NAME)
  d.name = "";
#elif defined(RELUP_TEST_NO_INIT)
  d.callbacks.init = nullptr;
#endif
  return d;
}

const relup::ModuleDescriptor kDescriptor = MakeDescriptor();

}  // namespace

extern "C" __attribute__((visibility("default"))) const relup::ModuleDescriptor*
relup_module_descriptor() {
#if defined(RELUP_TEST_NULL_DESCRIPTOR)
  return nullptr;
#else
  return &kDescriptor;
#endif
}
