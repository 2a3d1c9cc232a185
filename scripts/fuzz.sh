#!/usr/bin/env bash
# The fuzzing job: builds the libFuzzer targets of tests/fuzz with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer into build-fuzz/, and runs
# each for SECONDS (default 60) from its checked-in seed corpus
# (tests/fuzz/corpus/NAME; what the run finds goes to build-fuzz/corpus/NAME,
# not into the repository). .ci/run calls it after the tests. A crash, a
# leak, a sanitizer report or a timeout fails the job, with the input that
# caused it in build-fuzz/ (reproduce: build-fuzz/tests/fuzz/NAME FILE).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
((${#targets[@]})) ||
  targets=(term_parse_fuzz term_binary_fuzz spec_fuzz release_files_fuzz tarball_fuzz
           control_frame_fuzz resp_fuzz)

# clang and libFuzzer's runtime, installed by setup.sh's installer with the rest.
RELUP_EXTRA_PACKAGES="clang libclang-rt-14-dev" ./scripts/setup.sh >/dev/null

dir="${RELUP_FUZZ_DIR:-build-fuzz}"
flags="-fsanitize=address,undefined -fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined -g -O1"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DRELUP_FUZZ=ON -DRELUP_BUILD_TESTS=OFF -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$dir" -j"$(nproc)" --target "${targets[@]}"
for t in "${targets[@]}"; do
  name="${t%_fuzz}"
  work="$dir/corpus/$name"
  mkdir -p "$work"
  # A tarball seed is a few KiB of tar before any mutation.
  max_len=4096
  [[ $t == tarball_fuzz ]] && max_len=65536
  echo "fuzz.sh: $t for ${seconds}s"
  (cd "$dir" && "./tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -max_len="$max_len" -print_final_stats=1 "corpus/$name" "../tests/fuzz/corpus/$name")
done
echo "fuzz.sh: no crash, leak or sanitizer report in ${#targets[@]} target(s)"
