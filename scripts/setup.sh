#!/usr/bin/env bash
# Installs what relup needs (Debian packages) if missing, then configures and
# builds it into build/. Idempotent: a second run installs nothing and only
# rebuilds what changed. Sourced or run by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

# libasio-dev: the event loop of the runtime's timers and sockets (runtime/src/io).
# redis-tools: redis-cli and redis-benchmark, the real clients the kv_server's
# tests talk to (tests/node/kv_server_test.cc).
# ansible-core, openssh-server: the fleet test (tests/fleet) rolls the kv
# service out with the relup.fleet collection over real ssh.
packages=(build-essential cmake pkg-config libcli11-dev libyaml-cpp-dev libarchive-dev
          libssl-dev catch2 libasio-dev redis-tools ansible-core openssh-server)
# RELUP_EXTRA_PACKAGES="a b": more to install the same way (scripts/fuzz.sh: clang).
read -r -a extra <<< "${RELUP_EXTRA_PACKAGES:-}"
packages+=(${extra[@]+"${extra[@]}"})
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "relup setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build_type="${RELUP_BUILD_TYPE:-RelWithDebInfo}"
build_dir="${RELUP_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
# RELUP_BUILD_TARGETS="a b": build only those targets (tests/bench/run.sh).
targets=()
for t in ${RELUP_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j"$(nproc)" ${targets[@]+"${targets[@]}"}
