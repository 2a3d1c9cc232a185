#!/usr/bin/env python3
"""The kv benchmarks: relup's examples/kv_server beside Debian's redis-server.

    kv_bench.py BENCH --relup BIN --lib-dir DIR --kv-load BIN [--reps R]

BENCH is one of:
  kv_steady   the same redis-benchmark command against both servers, one
              after the other, R times: 50 clients, SET and GET on 10,000
              keys, without pipelining (-n 200000) and with -P 16
              (-n 1000000). Figures: requests/s, p50 and p99 latency (ms).
  kv_upgrade  what a client sees while the server changes under it, R times.
              relup: a node on kv-1 with 10,000 keys; relup_kv_load (50
              connections, SET/GET) runs for 6 s, and after 2 s `relup apply`
              takes the node to kv-2 (a new state layout in every shard and
              every connection). redis-server: the same data and load, and
              what a Redis user does instead of an upgrade: SHUTDOWN SAVE and
              start it again on the same dump.
              Figures: errors and wrong answers, dropped connections, the
              longest outage a connection saw, the max and p99 latency of the
              requests in flight during the change (the window) and the max of
              the others (the same load without the change), the change's own
              time (apply; shutdown to serving again), and keys lost (the
              10,000 preloaded keys read back afterwards).

Prints one JSON row per figure on stdout, {"bench", "system" ("relup" or
"redis"), "n" (clients), "metric", "value", "unit"}, each the median over the
repetitions; progress goes to stderr. tests/bench/run.sh calls it and
report.py prints the table. Exit status 0, 1 when something could not run.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
CLIENTS = 50
KEYS = 10000


def say(msg):
    print(f"kv_bench: {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


def run(cmd, timeout=600, **kw):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{' '.join(cmd)} did not finish in {timeout} s")
    if r.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- a minimal RESP client, for the preload and the read-back -------------

def resp_command(*args):
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class Resp:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise BenchError("the server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise BenchError("the server closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest.decode()
        if kind == b"-":
            raise BenchError(f"error reply: {rest.decode()}")
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode()
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        raise BenchError(f"not a RESP reply: {line!r}")

    def pipeline(self, commands):
        self.sock.sendall(b"".join(commands))
        return [self.reply() for _ in commands]


def key(i):
    return f"key:{i:012d}"


def preload(port):
    c = Resp(port)
    try:
        for start in range(0, KEYS, 1000):
            cmds = [resp_command("SET", key(i), f"v{i}") for i in range(start, start + 1000)]
            for r in c.pipeline(cmds):
                if r != "OK":
                    raise BenchError(f"preload: SET answered {r!r}")
    finally:
        c.close()


def keys_lost(port):
    """How many of the preloaded keys do not read back "vI"."""
    c = Resp(port)
    lost = 0
    try:
        for start in range(0, KEYS, 1000):
            keys = [key(i) for i in range(start, start + 1000)]
            values = c.pipeline([resp_command("MGET", *keys)])[0]
            lost += sum(1 for i, v in zip(range(start, start + 1000), values) if v != f"v{i}")
    finally:
        c.close()
    return lost


def wait_serving(port, deadline_s=30):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            c = Resp(port)
            try:
                c.sock.settimeout(1)
                if c.pipeline([resp_command("PING")])[0] == "PONG":
                    return
            finally:
                c.close()
        except (OSError, BenchError):
            time.sleep(0.001)
    raise BenchError(f"nothing answers PING on port {port}")


# --- the two servers -------------------------------------------------------

class RelupNode:
    def __init__(self, args, work, tarballs):
        self.relup = args.relup
        self.root = tempfile.mkdtemp(prefix="node-", dir=work)
        os.chmod(self.root, 0o700)
        self.tarballs = tarballs
        try:
            run([self.relup, "node", "start", "--root", self.root, "--release", tarballs[1]])
            state = run([self.relup, "state", "--root", self.root, "kv_acceptor"])
            m = re.search(r"port: (\d+)", state)
            if not m:
                raise BenchError(f"no port in kv_acceptor's state: {state}")
            self.port = int(m.group(1))
        except BaseException:
            self.stop()
            raise

    def change(self):
        run([self.relup, "apply", "--root", self.root, self.tarballs[2]])

    def stop(self):
        r = subprocess.run([self.relup, "node", "stop", "--root", self.root],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0 and os.path.exists(os.path.join(self.root, "node.sock")):
            say(f"relup node stop --root {self.root} failed: {r.stdout}{r.stderr}")
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    def __init__(self, work):
        self.dir = tempfile.mkdtemp(prefix="redis-", dir=work)
        self.port = free_port()
        self.proc = None
        try:
            self.start()
        except BaseException:
            self.stop()
            raise

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--dbfilename", "dump.rdb",
             "--logfile", os.path.join(self.dir, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_serving(self.port)

    def change(self):
        # What a Redis user does instead of a hot upgrade: save, stop, start
        # the new binary on the same dump (here the same binary).
        r = subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "save"],
                           capture_output=True, text=True, timeout=60)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise BenchError(f"redis-server did not exit after SHUTDOWN SAVE (redis-cli said "
                             f"{r.stdout}{r.stderr}); see {self.dir}/redis.log")
        self.start()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the benchmarks ----------------------------------------------------------

def redis_benchmark(port, pipeline, n):
    out = run(["redis-benchmark", "-p", str(port), "-c", str(CLIENTS), "-n", str(n), "-r",
               str(KEYS), "-t", "set,get", "-P", str(pipeline), "--csv"])
    figures = {}
    for line in out.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if len(cells) >= 8 and cells[0] in ("SET", "GET"):
            # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
            # "p95_latency_ms","p99_latency_ms","max_latency_ms"
            figures[cells[0]] = (float(cells[1]), float(cells[4]), float(cells[6]))
    if set(figures) != {"SET", "GET"}:
        raise BenchError(f"redis-benchmark printed no SET and GET figures:\n{out}")
    return figures


def systems(rep):
    """Both servers, the first one alternating: neither always runs on a cold machine."""
    return ("relup", "redis") if rep % 2 == 0 else ("redis", "relup")


def start(system, args, work, tarballs):
    return RelupNode(args, work, tarballs) if system == "relup" else RedisServer(work)


def kv_steady(args, work, tarballs):
    samples = {}  # (system, metric) -> [values]
    for rep in range(args.reps):
        for system in systems(rep):
            server = start(system, args, work, tarballs)
            try:
                preload(server.port)
                for pipeline, n in ((1, 200000), (16, 1000000)):
                    say(f"kv_steady rep {rep + 1}: {system}, -P {pipeline}")
                    figures = redis_benchmark(server.port, pipeline, n)
                    suffix = "" if pipeline == 1 else "_p16"
                    for test, (rps, p50, p99) in figures.items():
                        t = test.lower() + suffix
                        samples.setdefault((system, f"{t}_per_sec", "requests/s"), []).append(rps)
                        samples.setdefault((system, f"{t}_p50_ms", "ms"), []).append(p50)
                        samples.setdefault((system, f"{t}_p99_ms", "ms"), []).append(p99)
            finally:
                server.stop()
    return samples


def kv_upgrade(args, work, tarballs):
    samples = {}
    for rep in range(args.reps):
        for system in systems(rep):
            server = start(system, args, work, tarballs)
            load = None
            try:
                preload(server.port)
                say(f"kv_upgrade rep {rep + 1}: {system}")
                load = subprocess.Popen(
                    [args.kv_load, "--port", str(server.port), "--connections", str(CLIENTS),
                     "--duration-ms", "6000", "--warmup-ms", "500", "--keys", str(KEYS)],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                time.sleep(2.5)
                load.send_signal(signal.SIGUSR1)
                t0 = time.monotonic()
                server.change()
                change_ms = (time.monotonic() - t0) * 1000
                load.send_signal(signal.SIGUSR2)
                out, err = load.communicate(timeout=60)
                if load.returncode != 0:
                    raise BenchError(f"relup_kv_load exited {load.returncode}: {err}")
                r = json.loads(out)
                if r["window_ms"] < change_ms * 0.9:
                    raise BenchError(f"the change took {change_ms:.0f} ms, longer than the load "
                                     f"ran after it started: the window ({r['window_ms']:.0f} ms) "
                                     "does not cover it")
                if r["first_problem"]:
                    say(f"kv_upgrade {system}: {r['first_problem']}")
                lost = keys_lost(server.port)
                for metric, value, unit in (
                        ("errors", r["errors"] + r["wrong"] + r["unanswered"], "replies"),
                        ("dropped", r["dropped"], "connections"),
                        ("outage_ms", r["outage_ms"], "ms"),
                        ("window_max_ms", r["window_max_us"] / 1000, "ms"),
                        ("window_p99_ms", r["window_p99_us"] / 1000, "ms"),
                        ("outside_max_ms", r["outside_max_us"] / 1000, "ms"),
                        ("change_ms", change_ms, "ms"),
                        ("keys_lost", lost, "keys"),
                        ("per_sec", r["per_sec"], "requests/s")):
                    samples.setdefault((system, metric, unit), []).append(value)
            finally:
                if load is not None and load.poll() is None:
                    load.kill()
                    load.wait()
                server.stop()
    return samples


def build_tarballs(args, work):
    tarballs = {}
    for vsn in (1, 2):
        with open(os.path.join(REPO, "release-specs", f"kv-{vsn}.yaml")) as f:
            spec = f.read()
        spec_free = spec.replace("port: 6380", "port: 0")
        if spec_free == spec:
            raise BenchError(f"release-specs/kv-{vsn}.yaml no longer says port: 6380")
        path = os.path.join(work, f"kv-{vsn}.yaml")
        with open(path, "w") as f:
            f.write(spec_free)
        tarballs[vsn] = os.path.join(work, f"kv-{vsn}.tar.gz")
        run([args.relup, "build", path, "-o", tarballs[vsn], "--lib-dir", args.lib_dir, "--quiet"])
    return tarballs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", choices=["kv_steady", "kv_upgrade"])
    ap.add_argument("--relup", required=True)
    ap.add_argument("--lib-dir", required=True)
    ap.add_argument("--kv-load", required=True)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    for tool in ("redis-server", "redis-cli", "redis-benchmark"):
        if shutil.which(tool) is None:
            print(f"kv_bench: {tool} is not installed (Debian's redis-server and redis-tools)",
                  file=sys.stderr)
            return 1
    work = tempfile.mkdtemp(prefix="relup-kv-bench-")
    try:
        tarballs = build_tarballs(args, work)
        samples = (kv_steady if args.bench == "kv_steady" else kv_upgrade)(args, work, tarballs)
    except (BenchError, OSError, subprocess.SubprocessError, ValueError) as e:
        print(f"kv_bench: {args.bench}: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for (system, metric, unit), values in samples.items():
        print(json.dumps({"bench": args.bench, "system": system, "n": CLIENTS, "metric": metric,
                          "value": statistics.median(values), "unit": unit}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
