#!/usr/bin/env bash
# relup against Erlang/OTP and redis-server, measured side by side in one run
# (issues 5 and 12).
#
#   tests/bench/run.sh [--quick] [--out FILE.json] [BENCH...]
#
# Installs what it needs (Erlang/OTP from Debian's erlang-base, and what
# scripts/setup.sh installs), builds relup in Release mode into
# build-release/ (RELUP_BUILD_DIR overrides), then runs the relup and the OTP
# version of each benchmark one after the other and prints one table with
# both, their ratio and relup's targets. Every figure is a median over
# repetitions: REPS (default 3) at N = 100,000, REPS_1M (default 1) at
# 1,000,000, where one OTP rolling upgrade alone takes minutes.
#
#   --quick         N = 100,000 (about 8 minutes on 2 cores once built)
#   (default)       N = 100,000 and 1,000,000 (about 16 minutes once built)
#   --out FILE      also write every figure as a JSON list of rows
#                   {"bench", "system", "n", "metric", "value", "unit"}
#   BENCH...        only these (upgrade_rolling upgrade_bulk request_reply
#                   idle_process apply_end_to_end build timer_set_fire
#                   timers_pending tcp_echo supervisor_restart kv_steady
#                   kv_upgrade)
#
# Sizes that do not follow N: build packages 50 modules; timer_set_fire
# chains 5,000 timers (OTP's 0 ms timer waits for its next 1 ms tick, so
# 5,000 take OTP about 6 s); timers_pending starts 1,000,000 timers (REPS
# repetitions, even without --quick); tcp_echo runs 50 connections of the
# load generator relup_echo_load (tests/bench/load/) against relup's
# example echo server and against an OTP echo server written the same way
# (otp/bench_tcp_echo.erl). These three take about a minute together.
# supervisor_restart runs a supervisor of 1,000 account servers, each
# registered by name: 1,000 one_for_one kills, then one kill under
# one_for_all, the same on both sides (otp/bench_supervisor.erl; a few
# seconds a side).
# kv_steady and kv_upgrade compare the example kv_server with Debian's
# redis-server (installed here with redis-tools), 50 clients each, REPS
# times: the same redis-benchmark command against both, and what clients see
# through `relup apply` kv-1 -> kv-2 against what they see through a
# redis-server restart (kv/kv_bench.py; about 3 minutes together).
# Exit status: 0 when every benchmark ran (targets missed or not), 1 when one
# failed to run, 2 on bad usage.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"

all=(upgrade_rolling upgrade_bulk request_reply idle_process apply_end_to_end build
     timer_set_fire timers_pending tcp_echo supervisor_restart kv_steady kv_upgrade)
quick=0
out=""
benches=()
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --out)
      [[ $# -ge 2 ]] || { echo "run.sh: --out needs a file name" >&2; exit 2; }
      out="$2"
      shift
      ;;
    --out=*) out="${1#--out=}" ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    -*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *)
      [[ " ${all[*]} " == *" $1 "* ]] || { echo "run.sh: unknown benchmark $1; one of: ${all[*]}" >&2; exit 2; }
      benches+=("$1")
      ;;
  esac
  shift
done
((${#benches[@]})) || benches=("${all[@]}")
if ((quick)); then sizes=(100000); else sizes=(100000 1000000); fi
reps="${REPS:-3}"
reps_1m="${REPS_1M:-1}"
[[ -n "$out" ]] && out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"

say() { echo "run.sh: $*" >&2; }
started=$SECONDS

# --- what it needs ----------------------------------------------------------
if ! command -v erl >/dev/null || ! command -v erlc >/dev/null; then
  say "installing Erlang/OTP (erlang-base)"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends erlang-base
fi
command -v python3 >/dev/null || { say "python3 is needed for the report"; exit 1; }
if [[ " ${benches[*]} " == *" kv_"* ]] && ! command -v redis-server >/dev/null; then
  say "installing redis-server (the kv benchmarks' peer)"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends redis-server redis-tools
fi

build_dir="${RELUP_BUILD_DIR:-build-release}"
say "building relup (Release) into $build_dir"
targets="relup relup_bench"
[[ " ${benches[*]} " == *" build "* ]] && targets+=" relup_bench_modules"
RELUP_BUILD_TYPE=Release RELUP_BUILD_DIR="$build_dir" RELUP_BUILD_TARGETS="$targets" \
  ./scripts/setup.sh >&2
bench_bin="$build_dir/bin/relup_bench"
echo_load="$(cd "$build_dir" && pwd)/bin/relup_echo_load"  # built with relup_bench
kv_load="$(cd "$build_dir" && pwd)/bin/relup_kv_load"      # so are this and kv_server
say "built in $((SECONDS - started)) s"

# --- the benchmarks ---------------------------------------------------------
rows="$(mktemp "${TMPDIR:-/tmp}/relup-bench-rows.XXXXXX")"
trap 'rm -f "$rows"' EXIT
failed=()

run() {  # SYSTEM BENCH N COMMAND...
  local system="$1" bench="$2" n="$3" t0=$SECONDS
  shift 3
  say "$bench n=$n: $system"
  if "$@" >>"$rows"; then
    say "$bench n=$n: $system done in $((SECONDS - t0)) s"
  else
    say "$bench n=$n: $system FAILED (see above)"
    failed+=("$bench/$system/n=$n")
  fi
}

for bench in "${benches[@]}"; do
  if [[ "$bench" == kv_* ]]; then
    # One run measures both servers, one after the other, each repetition.
    run "relup and redis" "$bench" 50 python3 "$here/kv/kv_bench.py" "$bench" \
      --relup "$build_dir/bin/relup" --lib-dir "$build_dir/modules" --kv-load "$kv_load" \
      --reps "$reps"
    continue
  fi
  bench_sizes=("${sizes[@]}")
  # 2 clients to 100,000 servers (and n = 1) is the request_reply shape; the
  # build benchmark's size is its 50 modules, on both sides (relup build
  # against systools:make_script + make_tar, see otp/bench_build.erl).
  [[ "$bench" == request_reply ]] && bench_sizes=(100000)
  [[ "$bench" == build ]] && bench_sizes=(50)
  # One OTP 0 ms timer takes a 1 ms tick: 5,000 in a chain take about 6 s.
  [[ "$bench" == timer_set_fire ]] && bench_sizes=(5000)
  # 1,000,000 pending timers take a second or two per repetition on each side.
  [[ "$bench" == timers_pending ]] && bench_sizes=(1000000)
  # 50 connections of the load generator, the same program on both sides.
  [[ "$bench" == tcp_echo ]] && bench_sizes=(50)
  # A supervisor of 1,000 children, on both sides.
  [[ "$bench" == supervisor_restart ]] && bench_sizes=(1000)
  for n in "${bench_sizes[@]}"; do
    r="$reps"
    ((n >= 1000000)) && [[ "$bench" != timers_pending ]] && r="$reps_1m"
    run relup "$bench" "$n" "$bench_bin" "$bench" "$n" --reps "$r"
    run otp "$bench" "$n" env REPS="$r" RELUP_ECHO_LOAD="$echo_load" \
      "$here/otp/run_otp.sh" "$n" "$bench"
  done
done

# --- the table --------------------------------------------------------------
report_args=("$rows" --reps "$reps")
((quick)) || report_args+=(--reps-1m "$reps_1m")
[[ -n "$out" ]] && report_args+=(--out "$out")
python3 "$here/report.py" "${report_args[@]}"
say "finished in $((SECONDS - started)) s"
if ((${#failed[@]})); then
  say "these did not run to the end: ${failed[*]}"
  exit 1
fi
