#!/usr/bin/env bash
# Builds a team's relup release in CI: the modules out of tree, the tarball
# (with the appup generated from the previous release), the round-trip check
# against the previous release, the signature, and a JSON summary. The CI
# templates beside this script call it, and relup's own consumer test
# (tests/consumer/run.sh) runs it, so what the templates do is tested.
#
#   build-release.sh --source DIR --spec SPEC [--previous OLD.tar.gz]
#                    [--check-states FILE] [--check-snapshot FILE]
#                    [--sign-key KEYFILE]
#                    [--require-signing] [--trust PUBKEY] [--out DIR]
#                    [--build-dir DIR]
#                    [-- CMAKE_ARGS...]
#
#   --source      the CMake project with the modules (relup_add_module)
#   --spec        the release spec to build (YAML)
#   --previous    the tarball of the release the fleet runs now: the new
#                 release upgrades from it (relup build --from), and
#                 relup check applies it, goes back down and up again on a
#                 scratch node, and every state must round-trip
#   --check-states  states for that check (relup check --states): without
#                 them it checks the states init makes from the spec's args,
#                 which may be empty; give it states like production's
#   --check-snapshot  a live node's states for that check (relup check
#                 --snapshot): `relup ps --states --yaml` on a node that
#                 runs the previous release; production's own states
#   --sign-key    the Ed25519 private key (relup keygen); or put the key's
#                 PEM text in RELUP_SIGNING_KEY (a CI secret): it is written
#                 to a private temporary file and removed on exit
#   --require-signing  fail unless a key is given (a CI secret that is
#                 missing or misnamed must not ship an unsigned tarball)
#   --trust       a public key the tarball must be signed with; without it
#                 the tarball is verified against its MANIFEST only
#   --out         where the tarball and its JSON go (default dist/)
#   --build-dir   the CMake build directory (default build-release/)
#   CMAKE_ARGS    passed to cmake's configure step (-DCMAKE_PREFIX_PATH=...)
#
# RELUP names the relup executable (default: relup on PATH).
# Writes OUT/SPEC.tar.gz (SPEC: the spec's file name without .yaml),
# OUT/SPEC.json (relup build --json: path, digest, key id, vsn, upgrade-from
# list, diagnostics) and, with --previous, OUT/SPEC.check.json (relup check
# --json), and prints the tarball's path last. Any failure exits non-zero
# and leaves no tarball behind.
set -euo pipefail

die() { echo "build-release.sh: $*" >&2; exit 2; }

source_dir="" spec="" previous="" check_states="" check_snapshot="" sign_key="" require_signing=0 trust="" out="dist"
build_dir="build-release"
cmake_args=()
while (($#)); do
  case "$1" in
    --source) source_dir="${2:?--source needs a directory}"; shift 2 ;;
    --spec) spec="${2:?--spec needs a file}"; shift 2 ;;
    --previous) previous="${2:?--previous needs a tarball}"; shift 2 ;;
    --check-states) check_states="${2:?--check-states needs a file}"; shift 2 ;;
    --check-snapshot) check_snapshot="${2:?--check-snapshot needs a file}"; shift 2 ;;
    --sign-key) sign_key="${2:?--sign-key needs a key file}"; shift 2 ;;
    --require-signing) require_signing=1; shift ;;
    --trust) trust="${2:?--trust needs a public key}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --build-dir) build_dir="${2:?--build-dir needs a directory}"; shift 2 ;;
    --) shift; cmake_args=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[ -n "$source_dir" ] || die "--source is required: the CMake project with your modules"
[ -n "$spec" ] || die "--spec is required: the release spec to build"
[ -f "$source_dir/CMakeLists.txt" ] || die "--source $source_dir has no CMakeLists.txt"
[ -f "$spec" ] || die "--spec $spec: no such file"
[ -z "$previous" ] || [ -f "$previous" ] || die "--previous $previous: no such file"
[ -z "$check_states" ] || [ -n "$previous" ] || die "--check-states needs --previous (the release it checks against)"
[ -z "$check_states" ] || [ -f "$check_states" ] || die "--check-states $check_states: no such file"
[ -z "$check_snapshot" ] || [ -n "$previous" ] || die "--check-snapshot needs --previous (the release it checks against)"
[ -z "$check_snapshot" ] || [ -f "$check_snapshot" ] || die "--check-snapshot $check_snapshot: no such file"
relup="${RELUP:-relup}"
command -v "$relup" >/dev/null || die "no relup at '$relup': install relup (apt install ./relup_*.deb) or set RELUP"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ -z "$sign_key" ] && [ -n "${RELUP_SIGNING_KEY:-}" ]; then
  sign_key="$tmp/signing.key"
  (umask 077 && printf '%s\n' "$RELUP_SIGNING_KEY" > "$sign_key")
fi

if ((require_signing)) && [ -z "$sign_key" ]; then
  die "--require-signing: no key (give --sign-key KEYFILE, or the key's PEM text in RELUP_SIGNING_KEY; is the CI secret set for this job?)"
fi

echo "== building the modules ($source_dir -> $build_dir)" >&2
cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release ${cmake_args[@]+"${cmake_args[@]}"} >&2
cmake --build "$build_dir" -j"$(nproc)" >&2

mkdir -p "$out"
name="$(basename "$spec")"
name="${name%.yaml}"
name="${name%.yml}"
tarball="$out/$name.tar.gz"
# A failed run leaves nothing of an earlier one behind either.
rm -f "$tarball" "$out/$name.json" "$out/$name.check.json"
build_cmd=("$relup" build "$spec" -o "$tarball" --lib-dir "$build_dir/modules" --json)
[ -z "$previous" ] || build_cmd+=(--from "$previous")
[ -z "$sign_key" ] || build_cmd+=(--sign "$sign_key")
echo "== ${build_cmd[*]}" >&2
status=0
"${build_cmd[@]}" > "$tmp/build.json" || status=$?
if ((status != 0)); then
  cat "$tmp/build.json" >&2
  echo "build-release.sh: relup build failed (exit $status); nothing written" >&2
  exit "$status"
fi

if [ -n "$previous" ]; then
  echo "== $relup check $previous $tarball" >&2
  status=0
  check_cmd=("$relup" check "$previous" "$tarball" --json)
  [ -z "$check_states" ] || check_cmd+=(--states "$check_states")
  [ -z "$check_snapshot" ] || check_cmd+=(--snapshot "$check_snapshot")
  "${check_cmd[@]}" > "$out/$name.check.json" || status=$?
  if ((status != 0)); then
    cat "$out/$name.check.json" >&2
    rm -f "$tarball"
    echo "build-release.sh: relup check failed (exit $status): $tarball does not" \
      "round-trip from $previous; removed it" >&2
    exit "$status"
  fi
fi
verify_cmd=("$relup" verify "$tarball")
[ -z "$trust" ] || verify_cmd+=(--trust "$trust")
echo "== ${verify_cmd[*]}" >&2
status=0
"${verify_cmd[@]}" >&2 || status=$?
if ((status != 0)); then
  rm -f "$tarball" "$out/$name.check.json"
  echo "build-release.sh: $tarball does not verify${trust:+ against $trust} (exit $status); removed it" >&2
  exit "$status"
fi
mv "$tmp/build.json" "$out/$name.json"
echo "$tarball"
