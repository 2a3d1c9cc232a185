// A module source without RELUP_MODULE(...): relup_add_module must refuse to
// link it (tests/consumer/run.sh builds it with -DTALLY_BROKEN_MODULE=ON).
int tally_helper() { return 1; }
