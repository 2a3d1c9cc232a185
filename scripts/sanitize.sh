#!/usr/bin/env bash
# The sanitizer jobs, which .ci/run calls after the tests:
#   thread    ThreadSanitizer over the runtime tests and the in-process node
#             tests (build-tsan/): timers, links, monitors, exit signals,
#             sockets, the scheduler, the sys operations, the control server
#             and the upgrade executor all race by design; TSan checks that
#             they race only through atomics and locks. The node tests that
#             drive the relup binary ([cli]) are left to the address job:
#             under TSan their timeouts measure the sanitizer, not relup.
#   address   AddressSanitizer and UndefinedBehaviorSanitizer over the whole
#             suite (build-asan/, -O1 with line tables: it builds a third
#             faster than -O2 -g and reports the same), the relup binary,
#             relup-trial and every module included, with leak checking.
#             .ci/run runs it last.
# Idempotent; each job takes about 15 to 20 minutes on 2 cores from scratch.
#
#   scripts/sanitize.sh [thread|address]...   (default: thread)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null  # the packages (and build/, which the tests also use)
jobs=("$@")
((${#jobs[@]})) || jobs=(thread)

configure() {  # DIR SANITIZER-FLAGS [OPTIMIZATION-FLAGS]
  local dir=$1 san=$2 opt=${3:--O2 -g}
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS="$san" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$opt -DNDEBUG" \
    -DCMAKE_EXE_LINKER_FLAGS="$san" -DCMAKE_SHARED_LINKER_FLAGS="$san" \
    -DCMAKE_MODULE_LINKER_FLAGS="$san" >/dev/null
}

for job in "${jobs[@]}"; do
  case "$job" in
    thread)
      dir="${RELUP_TSAN_DIR:-build-tsan}"
      configure "$dir" "-fsanitize=thread"
      cmake --build "$dir" -j"$(nproc)" --target runtime_tests node_tests
      # halt_on_error: the first race fails the job, with its report on stderr.
      export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
      "$dir/tests/runtime_tests"
      "$dir/tests/node_tests" "~[cli]"
      echo "sanitize.sh: runtime and node tests are ThreadSanitizer-clean"
      ;;
    address)
      dir="${RELUP_ASAN_DIR:-build-asan}"
      configure "$dir" "-fsanitize=address,undefined -fno-sanitize-recover=undefined" "-O1 -g1"
      # The test suites (they depend on relup, relup-trial and every module);
      # not the benchmarks.
      cmake --build "$dir" -j"$(nproc)" --target runtime_tests tools_tests node_tests \
        examples_tests
      export ASAN_OPTIONS="detect_leaks=1 abort_on_error=1 ${ASAN_OPTIONS:-}"
      export UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1 ${UBSAN_OPTIONS:-}"
      # Not the consumer test: it installs relup and builds a project of its
      # own with the machine's plain compiler flags (test.sh runs it).
      (cd "$dir" && ctest -j"$(nproc)" --output-on-failure --timeout 300 -E '^consumer: ')
      echo "sanitize.sh: the whole suite is AddressSanitizer- and UBSan-clean"
      ;;
    *)
      echo "sanitize.sh: unknown job '$job' (thread or address)" >&2
      exit 2
      ;;
  esac
done
