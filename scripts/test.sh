#!/usr/bin/env bash
# The test command: installs and builds what is missing, then runs every test,
# then the Debian package test (tests/package/deb_test.sh: builds the .deb,
# installs it, runs the consumer test against /usr, purges it again).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
ctest --test-dir "${RELUP_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)" "$@"
if (($# == 0)); then
  tests/package/deb_test.sh "${RELUP_BUILD_DIR:-build}"
fi
