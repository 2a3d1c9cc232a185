#!/usr/bin/env bash
# OTP side of the relup benchmarks. Compiles the Erlang modules here into a
# temporary directory and runs each benchmark in a fresh emulator; prints one
# JSON row per line on stdout: {"bench", "system": "otp", "n", "metric",
# "value", "unit"}.
#
#   run_otp.sh N [BENCH...]      N processes (default 100000), all benches by default
#   run_otp.sh --quick [BENCH...] N=100000, fewer repetitions
#
# Benches: upgrade_rolling upgrade_bulk apply_end_to_end request_reply idle_process build
#          timer_set_fire timers_pending tcp_echo supervisor_restart
# build always packages its 50 modules (n=50 in its rows), whatever N is.
# N is the number of timers for the timer benches, of connections for
# tcp_echo and of a supervisor's children for supervisor_restart
# (tests/bench/run.sh passes 5000 to timer_set_fire, 1000000 to
# timers_pending, 50 to tcp_echo and 1000 to supervisor_restart).
# REPS=K overrides the number of repetitions (the median is reported).
# tcp_echo runs the C++ load generator relup_echo_load: RELUP_ECHO_LOAD names
# it (default: build-release/bin/relup_echo_load, or RELUP_BUILD_DIR's).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
all=(idle_process request_reply upgrade_rolling upgrade_bulk apply_end_to_end build
     timer_set_fire timers_pending tcp_echo supervisor_restart)

n=100000
reps="${REPS:-3}"
if [[ $# -gt 0 && "$1" == "--quick" ]]; then
  reps="${REPS:-1}"
  shift
elif [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
  n="$1"
  shift
fi
benches=("$@")
[[ ${#benches[@]} -eq 0 ]] && benches=("${all[@]}")

command -v erl >/dev/null && command -v erlc >/dev/null || {
  echo "run_otp.sh: erl and erlc (Erlang/OTP) are needed" >&2
  exit 2
}

repo="$(cd "$here/../../.." && pwd)"
build_dir="${RELUP_BUILD_DIR:-build-release}"
[[ "$build_dir" == /* ]] || build_dir="$repo/$build_dir"
export RELUP_ECHO_LOAD="${RELUP_ECHO_LOAD:-$build_dir/bin/relup_echo_load}"

work="$(mktemp -d "${TMPDIR:-/tmp}/relup-otp-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ebin" "$work/v1" "$work/v2" "$work/app"
erlc -o "$work/ebin" "$here"/*.erl
erlc -o "$work/v1" "$here/v1/bench_account.erl"
erlc -o "$work/v2" "$here/v2/bench_account.erl"
erlc -o "$work/app" "$here"/app/*.erl

max_procs=$((n * 2 + 100000))
(( max_procs < 262144 )) && max_procs=262144
for bench in "${benches[@]}"; do
  erl -noshell +P "$max_procs" -pa "$work/ebin" \
    -run relup_bench main "$bench" "$n" "$work" "$reps"
done
