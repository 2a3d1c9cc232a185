// Stands in for the librelup_core of an older relup (see CMakeLists.txt).
extern "C" int relup_test_old_core_marker() {
  return 2;
}
