// A shared library that is not a relup module: no relup_module_descriptor.
extern "C" __attribute__((visibility("default"))) int relup_test_not_a_module() {
  return 1;
}
