#!/usr/bin/env bash
# The consumer test: a team outside this repository uses an installed relup.
#
#   tests/consumer/run.sh --prefix PREFIX           relup installed at PREFIX
#   tests/consumer/run.sh --install-from BUILD      cmake --install BUILD into a
#                                                   temporary prefix first
#   [--subdirectory]                                also build the modules with
#                                                   add_subdirectory(relup)
#
# From that prefix only (its bin/relup and its CMake package), it:
#   1. makes a signing key (relup keygen) and a node's trusted_keys/;
#   2. builds tally 1 and tally 2 out of tree with examples/ci/build-release.sh
#      (find_package(relup 0.2), relup_add_module), signs them, runs relup
#      check of 2 against 1, and reads relup build --json;
#   3. checks the modules carry no RUNPATH and need librelup_core.so.ABI;
#   4. boots a node that trusts the key with tally 1 (--first-release), has
#      it refuse an unsigned tally 2 (exit 6, nothing unpacked), applies the
#      signed one, sees the state migrated, and downgrades again; then
#      checks tally 2 against that node's states (relup ps --states --yaml,
#      build-release.sh --check-snapshot), as CI does with production's;
#   5. sees a module without RELUP_MODULE fail to link, and
#      find_package(relup 9.0) refused.
# Exits non-zero, naming the step, on the first failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

prefix="" install_from="" subdirectory=0
while (($#)); do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --install-from) install_from="$2"; shift 2 ;;
    --subdirectory) subdirectory=1; shift ;;
    *) echo "consumer: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

work="$(mktemp -d "${TMPDIR:-/tmp}/relup-consumer.XXXXXX")"
node_root="$work/node"
cleanup() {
  if [ -S "$node_root/node.sock" ]; then
    "$relup" node stop --root "$node_root" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
step() { echo "== consumer: $*"; }
fail() { echo "consumer: FAILED: $*" >&2; exit 1; }

if [ -n "$install_from" ]; then
  prefix="$work/prefix"
  step "installing $install_from into $prefix"
  cmake --install "$install_from" --prefix "$prefix" >/dev/null
fi
[ -n "$prefix" ] || fail "give --prefix PREFIX or --install-from BUILD"
relup="$prefix/bin/relup"
[ -x "$relup" ] || fail "$relup is not there: is relup installed at $prefix?"
export RELUP="$relup"
"$relup" --version

step "keygen"
"$relup" keygen -o "$work/keys" >/dev/null
mkdir -p "$node_root/trusted_keys"
cp "$work/keys/relup.pub" "$node_root/trusted_keys/ci.pub"

step "release 1: build out of tree, sign"
"$repo/examples/ci/build-release.sh" --source "$here" --spec "$here/release-specs/tally-1.yaml" \
  --sign-key "$work/keys/relup.key" --trust "$work/keys/relup.pub" \
  --out "$work/dist" --build-dir "$work/build" -- -DCMAKE_PREFIX_PATH="$prefix" > "$work/out1"
[ "$(tail -1 "$work/out1")" = "$work/dist/tally-1.tar.gz" ] || fail "build-release.sh printed $(tail -1 "$work/out1")"

step "release 2: --previous release 1, key from RELUP_SIGNING_KEY (as a CI secret)"
RELUP_SIGNING_KEY="$(cat "$work/keys/relup.key")" \
  "$repo/examples/ci/build-release.sh" --source "$here" --spec "$here/release-specs/tally-2.yaml" \
  --previous "$work/dist/tally-1.tar.gz" --trust "$work/keys/relup.pub" --require-signing \
  --out "$work/dist" --build-dir "$work/build" -- -DCMAKE_PREFIX_PATH="$prefix" > "$work/out2"
# The same with the secret missing: refused before anything is built.
if RELUP_SIGNING_KEY="" "$repo/examples/ci/build-release.sh" --source "$here" \
    --spec "$here/release-specs/tally-2.yaml" --require-signing --out "$work/nokey" \
    --build-dir "$work/build" -- -DCMAKE_PREFIX_PATH="$prefix" > "$work/nokey.log" 2>&1; then
  fail "build-release.sh --require-signing built without a key"
fi
grep -q "no key" "$work/nokey.log" || fail "--require-signing without a key: $(cat "$work/nokey.log")"
[ ! -e "$work/nokey/tally-2.tar.gz" ] || fail "--require-signing without a key left a tarball"
json="$(cat "$work/dist/tally-2.json")"
key_id="$("$relup" inspect "$work/dist/tally-2.tar.gz" | sed -n 's/.*signed by key \([0-9a-f]\{16\}\).*/\1/p' | head -1)"
[ -n "$key_id" ] || fail "relup inspect does not say who signed tally-2.tar.gz"
for want in '"ok":true' "\"key_id\":\"$key_id\"" '"vsn":"2"' \
            '"upgrade_from":[{"generated":true,"vsn":"1"}]' '"diagnostics":[]' \
            "\"sha256\":\"$(sha256sum "$work/dist/tally-2.tar.gz" | cut -d' ' -f1)\""; do
  [[ "$json" == *"$want"* ]] || fail "tally-2.json lacks $want: $json"
done
[ -s "$work/dist/tally-2.check.json" ] || fail "no relup check result"
grep -q '"verdict":"ok"' "$work/dist/tally-2.check.json" || fail "relup check: $(cat "$work/dist/tally-2.check.json")"

step "the modules carry no path into any build tree"
abi="$(sed -n 's/^set(RELUP_ABI_VERSION \([0-9]*\))$/\1/p' "$prefix"/lib*/cmake/relup/relupConfig.cmake)"
for so in "$work/build/modules/tally-1.so" "$work/build/modules/tally-2.so"; do
  dyn="$(readelf -d "$so")"
  [[ "$dyn" != *RUNPATH* && "$dyn" != *RPATH* ]] || fail "$so has a RUNPATH: $dyn"
  [[ "$dyn" == *"librelup_core.so.$abi]"* ]] || fail "$so does not need librelup_core.so.$abi"
done

step "a node that trusts the key: refuses unsigned, applies signed, downgrades"
"$relup" node start --root "$node_root" --first-release "$work/dist/tally-1.tar.gz" >/dev/null
for event in login login logout; do
  "$relup" call --root "$node_root" tally "{hit: $event}" >/dev/null
done
"$relup" build "$here/release-specs/tally-2.yaml" -o "$work/unsigned-2.tar.gz" \
  --lib-dir "$work/build/modules" --from "$work/dist/tally-1.tar.gz" --quiet
status=0
"$relup" apply --root "$node_root" "$work/unsigned-2.tar.gz" > "$work/refused" 2>&1 || status=$?
[ "$status" -eq 6 ] || fail "an unsigned tarball: exit $status, not 6: $(cat "$work/refused")"
[ ! -e "$node_root/releases/2" ] || fail "the refused release was unpacked"
"$relup" apply --root "$node_root" "$work/dist/tally-2.tar.gz" >/dev/null
[ "$("$relup" call --root "$node_root" tally :total)" = 3 ] || fail "tally 2 did not migrate the state"
[ "$("$relup" state --root "$node_root" tally)" = '{counts: {"login": 2, "logout": 1}, total: 3}' ] ||
  fail "state after the upgrade: $("$relup" state --root "$node_root" tally)"
"$relup" downgrade --root "$node_root" 1 >/dev/null
[ "$("$relup" state --root "$node_root" tally)" = '{counts: {"login": 2, "logout": 1}}' ] ||
  fail "state after the downgrade: $("$relup" state --root "$node_root" tally)"

step "CI checks release 2 against the live node's states (--check-snapshot)"
"$relup" ps --states --yaml --root "$node_root" > "$work/live.yaml"
"$repo/examples/ci/build-release.sh" --source "$here" --spec "$here/release-specs/tally-2.yaml" \
  --previous "$work/dist/tally-1.tar.gz" --check-snapshot "$work/live.yaml" \
  --out "$work/dist-snapshot" --build-dir "$work/build" -- -DCMAKE_PREFIX_PATH="$prefix" \
  > "$work/out-snapshot" 2>&1 || fail "build-release.sh --check-snapshot: $(cat "$work/out-snapshot")"
grep -q '"from_snapshot":1' "$work/dist-snapshot/tally-2.check.json" ||
  fail "relup check --snapshot: $(cat "$work/dist-snapshot/tally-2.check.json")"
"$relup" node stop --root "$node_root" >/dev/null

step "a module without RELUP_MODULE fails to link, saying so"
cmake -S "$here" -B "$work/broken" -DCMAKE_PREFIX_PATH="$prefix" -DTALLY_BROKEN_MODULE=ON >/dev/null
if cmake --build "$work/broken" --target no_module_v1 > "$work/broken.log" 2>&1; then
  fail "no_module-1.so linked without RELUP_MODULE"
fi
grep -q "required symbol .relup_module_descriptor. not defined" "$work/broken.log" ||
  fail "no_module: $(cat "$work/broken.log")"

step "find_package(relup 9.0) is refused"
mkdir -p "$work/too-new"
cat > "$work/too-new/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
project(too_new LANGUAGES CXX)
find_package(relup 9.0 REQUIRED)
CMAKE
if cmake -S "$work/too-new" -B "$work/too-new/build" -DCMAKE_PREFIX_PATH="$prefix" \
    > "$work/too-new.log" 2>&1; then
  fail "find_package(relup 9.0) succeeded"
fi
grep -q 'with requested version "9.0"' "$work/too-new.log" ||
  fail "find_package(relup 9.0): $(cat "$work/too-new.log")"

if ((subdirectory)); then
  step "add_subdirectory(relup): the modules build with relup's sources, without its tests"
  cmake -S "$here" -B "$work/sub" -DRELUP_SOURCE_DIR="$repo" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$work/sub" -j"$(nproc)" --target tally_v1 tally_v2 >/dev/null
  [ -f "$work/sub/modules/tally-2.so" ] || fail "add_subdirectory: no modules/tally-2.so"
  [ ! -e "$work/sub/relup/tests" ] || fail "add_subdirectory configured relup's tests"
  dyn="$(readelf -d "$work/sub/modules/tally-2.so")"
  [[ "$dyn" != *RUNPATH* ]] || fail "add_subdirectory: tally-2.so has a RUNPATH: $dyn"
fi
step "ok"
