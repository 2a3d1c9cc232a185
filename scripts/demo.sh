#!/usr/bin/env bash
# The seed story, live: a node runs DemoServer 1, we add money to blackode,
# upgrade the running node to DemoServer 2 (money becomes salary) without
# stopping it, and add money again. Every command is shown as it runs.
#
#   ./scripts/demo.sh
#
# Installs and builds what is missing (scripts/setup.sh), builds the two
# release tarballs into dist/, runs the node in a temporary root and always
# stops it and removes the root at the end, even on failure. Exits non-zero
# if any step does not print what the story expects.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
build_dir="${RELUP_BUILD_DIR:-build}"
relup="$PWD/$build_dir/bin/relup"

root="$(mktemp -d /tmp/relup-demo.XXXXXX)"
cleanup() {
  "$relup" node stop --root "$root" >/dev/null 2>&1 || true
  # A node that did not answer still holds its lock: kill it by its pid.
  if command -v flock >/dev/null && [ -e "$root/node.lock" ] &&
     ! flock -n "$root/node.lock" true 2>/dev/null; then
    kill -9 "$(cat "$root/node.lock")" 2>/dev/null || true
  fi
  rm -rf "$root"
}
trap cleanup EXIT

# Shows a command as typed (arguments with spaces or braces quoted), runs it.
show() {
  local line="\$ relup"
  for arg in "$@"; do
    case "$arg" in
      *[[:space:]{}\[\]\"\']*) line+=" '$arg'" ;;
      *) line+=" $arg" ;;
    esac
  done
  printf '\n%s\n' "$line"
}

# run ARGS...: show and run. expect TEXT ARGS...: the same, and the output
# must be exactly TEXT.
run() {
  show "$@"
  "$relup" "$@"
}
expect() {
  local want="$1"
  shift
  show "$@"
  local got
  got="$("$relup" "$@")"
  printf '%s\n' "$got"
  if [ "$got" != "$want" ]; then
    printf 'demo: expected: %s\n' "$want" >&2
    exit 1
  fi
}

say() { printf '\n# %s\n' "$*"; }

say "CI builds two releases of the demo service (release-specs/demo-1.yaml, demo-2.yaml)."
mkdir -p dist
run build release-specs/demo-1.yaml -o dist/demo-1.tar.gz
run build release-specs/demo-2.yaml -o dist/demo-2.tar.gz

say "The CI gate: a scratch node applies 2, goes back down to 1 and up again; every state must round-trip."
run check dist/demo-1.tar.gz dist/demo-2.tar.gz

export RELUP_ROOT="$root"
say "Start a node on release 1: it starts blackode with {name: blackode, money: 30000}."
printf '\n$ export RELUP_ROOT=%s\n' "$root"
run node start --release dist/demo-1.tar.gz

say "DemoServer.add_money(pid, 30000)"
expect '"30000 added to blackode "' call blackode '{add: 30000}'
say ":sys.get_state(pid)"
expect '{money: 60000, name: blackode}' state blackode

say "Upgrade the live node to release 2: suspend, load, code_change (money -> salary), resume."
run apply dist/demo-2.tar.gz

say "DemoServer 2 answers with the whole state; nothing was lost."
expect '{name: blackode, salary: 160000}' call blackode '{add: 100000}'
expect '{name: blackode, salary: 160000}' state blackode

say "And back to release 1: version 2's code_change runs with old_vsn {down, \"1\"} (salary -> money); version 1, like the seed's, has none."
run downgrade 1
expect '{money: 160000, name: blackode}' state blackode
expect '"1 added to blackode "' call blackode '{add: 1}'

say "Forward again, as a retry after the fix would: the state comes through both ways."
run apply dist/demo-2.tar.gz
expect '{name: blackode, salary: 160001}' state blackode

run status
run node stop
