// A module that needs the librelup_core of an older relup (see CMakeLists.txt).
extern "C" int relup_test_old_core_marker();
extern "C" __attribute__((visibility("default"))) int relup_test_uses_old_core() {
  return relup_test_old_core_marker();
}
