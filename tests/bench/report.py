#!/usr/bin/env python3
"""Merges the benchmark rows of relup and its peers into one table (tests/bench/run.sh).

    report.py ROWS [--out FILE.json] [--reps R]

ROWS holds one JSON object per line, {"bench", "system", "n", "metric",
"value", "unit"}, as printed by relup_bench, otp/run_otp.sh and
kv/kv_bench.py. A row's system is "relup" or its peer in that benchmark:
"otp" (Erlang/OTP) or "redis" (redis-server). Prints a Markdown table: both
figures, their ratio (relup / peer) and relup's target from issues 5 and 12,
marked met or MISSED; then the machine it ran on. With --out, writes every
row as one JSON list.
"""
import argparse
import json
import os
import platform
import subprocess
import sys

ORDER = ["upgrade_rolling", "upgrade_bulk", "apply_end_to_end", "request_reply",
         "idle_process", "build", "timer_set_fire", "timers_pending", "tcp_echo",
         "supervisor_restart", "kv_steady", "kv_upgrade"]
PEERS = {"otp": "OTP", "redis": "redis-server"}

# (bench, n or None for every n, metric, kind, bound, text)
#   kind "le"/"lt"/"eq": relup's figure against bound;
#   "le_peer"/"ge_peer": relup's figure against bound x the peer's figure in
#   this run (OTP's or redis-server's).
TARGETS = [
    ("upgrade_rolling", 100000, "total_ms", "le_otp", 0.25, "<= 1/4 of OTP"),
    ("upgrade_rolling", 100000, "pause_p99_us", "le", 10, "<= 10 us"),
    ("upgrade_rolling", 100000, "pause_max_us", "le", 1000, "<= 1 ms"),
    ("upgrade_rolling", None, "lost", "eq", 0, "= 0"),
    ("upgrade_rolling", None, "crashed", "eq", 0, "= 0"),
    ("upgrade_rolling", 1000000, "total_ms", "lt", 1000, "< 1 s"),
    ("upgrade_bulk", None, "lost", "eq", 0, "= 0"),
    ("upgrade_bulk", None, "crashed", "eq", 0, "= 0"),
    ("upgrade_bulk", 1000000, "total_ms", "lt", 1000, "< 1 s"),
    ("apply_end_to_end", 100000, "total_ms", "le_otp", 0.2, "<= 1/5 of OTP"),
    ("apply_end_to_end", None, "migrated", "eq_n", None, "= n"),
    ("request_reply", None, "per_sec", "ge_otp", 2, ">= 2x OTP"),
    ("idle_process", None, "bytes_per_process", "le", 1024, "<= 1 KB"),
    ("tcp_echo", None, "per_sec", "ge_otp", 2, ">= 2x OTP"),
    ("supervisor_restart", None, "restart_us_p50", "le_otp", 1, "<= OTP"),
    ("supervisor_restart", None, "restart_us_p99", "le_otp", 1, "<= OTP"),
    ("supervisor_restart", None, "restart_all_ms", "le_otp", 1, "<= OTP"),
    ("kv_steady", None, "set_per_sec", "ge_peer", 0.8, ">= 0.8x redis-server"),
    ("kv_steady", None, "get_per_sec", "ge_peer", 0.8, ">= 0.8x redis-server"),
    ("kv_upgrade", None, "errors", "eq", 0, "= 0"),
    ("kv_upgrade", None, "dropped", "eq", 0, "= 0"),
    ("kv_upgrade", None, "keys_lost", "eq", 0, "= 0"),
    ("kv_upgrade", None, "window_max_ms", "le", 10, "<= 10 ms"),
]


def load_rows(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                rows.append(json.loads(line))
    return rows


def fmt(v):
    if v is None:
        return "—"
    if isinstance(v, float) and not v.is_integer():
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 1:
            return f"{v:.2f}".rstrip("0").rstrip(".")
        return f"{v:.3g}"
    return f"{int(v):,}"


def target_for(bench, n, metric):
    for t in TARGETS:
        if t[0] == bench and (t[1] is None or t[1] == n) and t[2] == metric:
            return t
    return None


def judge(target, n, relup, peer):
    """(text shown in the target column, 'met' / 'MISSED' / '')."""
    _, _, _, kind, bound, text = target
    if relup is None:
        return text, "no figure"
    kind = kind.replace("_otp", "_peer")
    if kind in ("le_peer", "ge_peer"):
        if peer is None:
            return text, "no peer figure"
        limit = bound * peer
        ok = relup <= limit if kind == "le_peer" else relup >= limit
        return f"{text} ({'<=' if kind == 'le_peer' else '>='} {fmt(limit)})", "met" if ok else "MISSED"
    if kind == "eq_n":
        return text, "met" if relup == n else "MISSED"
    ok = {"le": relup <= bound, "lt": relup < bound, "eq": relup == bound}[kind]
    return text, "met" if ok else "MISSED"


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        otp = subprocess.run(
            ["erl", "-noshell", "-eval",
             'io:format("~s (erts ~s)", [erlang:system_info(otp_release), '
             'erlang:system_info(version)]), halt().'],
            capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        otp = "unknown"
    try:
        redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True,
                               timeout=10).stdout.split()
        redis = next((w[2:] for w in redis if w.startswith("v=")), "unknown")
    except (OSError, subprocess.SubprocessError):
        redis = "not installed"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    try:
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
        mem = f"{mem_kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        mem = "unknown RAM"
    return (f"{os.cpu_count()} cores ({cpu}), {mem}, Linux {platform.release()}, "
            f"OTP {otp}, redis-server {redis}, relup {commit}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows")
    ap.add_argument("--out")
    ap.add_argument("--reps", type=int, default=0)
    ap.add_argument("--reps-1m", type=int, default=0)
    args = ap.parse_args()
    rows = load_rows(args.rows)

    table = {}  # (bench, n, metric) -> {"relup": v, "peer": v, "peer_name": s, "unit": u}
    for r in rows:
        key = (r["bench"], r["n"], r["metric"])
        entry = table.setdefault(key, {"unit": r["unit"]})
        if r["system"] == "relup":
            entry["relup"] = r["value"]
        else:
            entry["peer"] = r["value"]
            entry["peer_name"] = PEERS.get(r["system"], r["system"])

    def sort_key(key):
        bench, n, _ = key
        return (ORDER.index(bench) if bench in ORDER else len(ORDER), bench, n)

    keys = sorted(table, key=sort_key)  # stable: metrics keep their printed order
    lines = ["| bench | n | metric | relup | peer | peer figure | relup/peer | relup target | |",
             "|---|--:|---|--:|---|--:|--:|---|---|"]
    missed = []
    for key in keys:
        bench, n, metric = key
        e = table[key]
        relup, peer = e.get("relup"), e.get("peer")
        ratio = "—"
        if relup is not None and peer not in (None, 0):
            ratio = f"{relup / peer:.3g}"
        target, verdict = "", ""
        t = target_for(bench, n, metric)
        if t is not None:
            target, verdict = judge(t, n, relup, peer)
            if verdict != "met":
                missed.append(f"{bench} n={n} {metric}: {fmt(relup)} {e['unit']}, target {target}")
        lines.append(f"| {bench} | {n:,} | {metric} ({e['unit']}) | {fmt(relup)} | "
                     f"{e.get('peer_name', '—')} | {fmt(peer)} | {ratio} | {target} | {verdict} |")
    print()
    print("\n".join(lines))
    print()
    reps = f"medians of {args.reps} runs" if args.reps else ""
    if reps and args.reps_1m and any(r["n"] >= 1000000 for r in rows):
        reps += f" ({args.reps_1m} at n = 1,000,000)"
    reps += "; " if reps else ""
    print(f"Machine: {machine()}. ({reps}relup/peer < 1 is better for relup except per_sec.)")
    if missed:
        print("\nTargets missed:")
        for m in missed:
            print(f"  - {m}")
    else:
        print("\nEvery target met.")

    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)
            f.write("\n")
        print(f"\nwrote {len(rows)} rows to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
