#!/usr/bin/env bash
# The sanitizer job: builds the runtime tests with ThreadSanitizer into
# build-tsan/ and runs them (timers, links, monitors, exit signals, sockets,
# the scheduler and the sys operations all race by design; TSan checks that
# they race only through atomics and locks). .ci/run calls it after the
# tests. Idempotent; about 10 minutes on 2 cores from scratch.
#
#   scripts/sanitize.sh [catch test spec...]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null  # the packages (and build/, which the tests also use)

dir="${RELUP_TSAN_DIR:-build-tsan}"
flags="-fsanitize=thread -g"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread \
  -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread -DCMAKE_MODULE_LINKER_FLAGS=-fsanitize=thread \
  >/dev/null
cmake --build "$dir" -j"$(nproc)" --target runtime_tests
# halt_on_error: the first race fails the job, with its report on stderr.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
"$dir/tests/runtime_tests" "$@"
echo "sanitize.sh: runtime_tests are ThreadSanitizer-clean"
