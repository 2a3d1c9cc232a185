#!/usr/bin/env bash
# The test command: installs and builds what is missing, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
ctest --test-dir "${RELUP_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)" "$@"
