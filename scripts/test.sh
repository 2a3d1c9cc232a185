#!/usr/bin/env bash
# The test command: installs and builds what is missing, then runs every test,
# then the Debian package test (tests/package/deb_test.sh: builds the .deb,
# installs it, runs the consumer test against /usr, purges it again) and the
# fleet test (tests/fleet/fleet_test.sh: the relup.fleet rollout playbook
# over ssh across three network-namespace hosts). Both need root and say
# SKIPPED without it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
ctest --test-dir "${RELUP_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)" "$@"
if (($# == 0)); then
  tests/package/deb_test.sh "${RELUP_BUILD_DIR:-build}"
  tests/fleet/fleet_test.sh "${RELUP_BUILD_DIR:-build}"
fi
