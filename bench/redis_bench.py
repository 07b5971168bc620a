"""Redis store benchmarks: ratios against redis-py on the same server in the same run, medians of interleaved rounds.

B1  state.set / state.get on Redis vs redis-py SET / GET (+ orjson) of the same value   target >= 0.7x
B2  4 processes x read-modify-write under a shared lockable vs under redis-py's Lock    target >= 0.8x, 0 lost
B3  (layout) listing names: one hash per namespace (HGETALL) vs one key per entry (SCAN)
B4  (client) hiredis vs redis-py's pure-Python parser, GET of a 2,000-element list

Run: ``python -m bench.redis_bench`` (``--quick`` for fewer operations). It starts its own
redis-server on a free 127.0.0.1 port and stops it at the end.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
VALUE = {"values": [1, 2, 3, 4, 5], "name": "bench", "ok": True}


def _line(label: str, ratio: float, target: str, ok: bool | None) -> str:
    verdict = "" if ok is None else ("PASS" if ok else "MISS")
    return f"{label:<66} {ratio:8.2f}x   target {target:<8} {verdict}"


def _p99(samples: list[float]) -> float:
    if not samples:
        return 0.0
    s = sorted(samples)
    return s[min(len(s) - 1, int(0.99 * len(s)))]


def _timed(fn: Callable[[int], None], n: int) -> tuple[float, list[float]]:
    """(ops/s, per-op latencies in s) of ``fn(i)`` for i in range(n)."""
    lat = []
    clock = time.perf_counter
    t0 = clock()
    for i in range(n):
        a = clock()
        fn(i)
        lat.append(clock() - a)
    return n / (clock() - t0), lat


# -- B1 -------------------------------------------------------------------------------------------


def b1(url: str, n: int, rounds: int) -> list[str]:
    import redis

    from desktop_app.engine import SharedState

    state = SharedState(store=url, namespace="bench-b1")
    raw = redis.Redis.from_url(url)
    keys = [f"k{i % 100}" for i in range(n)]
    dumps, loads = orjson.dumps, orjson.loads

    def ours_set(i: int) -> None:
        state.set(keys[i], VALUE)

    def ours_get(i: int) -> None:
        state.get(keys[i])

    def raw_set(i: int) -> None:
        raw.set("raw:" + keys[i], dumps(VALUE))

    def raw_get(i: int) -> None:
        loads(raw.get("raw:" + keys[i]))  # type: ignore[arg-type]

    figures: dict[str, list[tuple[float, float]]] = {k: [] for k in ("os", "rs", "og", "rg")}
    for _ in range(rounds):  # interleaved, so a noisy neighbour hits both sides alike
        for key, fn in (("os", ours_set), ("rs", raw_set), ("og", ours_get), ("rg", raw_get)):
            rate, lat = _timed(fn, n)
            figures[key].append((rate, _p99(lat)))

    def med(key: str, i: int) -> float:
        return statistics.median(f[i] for f in figures[key])

    set_ratio = statistics.median(o[0] / r[0] for o, r in zip(figures["os"], figures["rs"], strict=True))
    get_ratio = statistics.median(o[0] / r[0] for o, r in zip(figures["og"], figures["rg"], strict=True))
    out = [
        f"B1 state.set {med('os', 0):8.0f} ops/s p99 {med('os', 1) * 1e3:6.2f} ms | "
        f"redis-py SET {med('rs', 0):8.0f} ops/s p99 {med('rs', 1) * 1e3:6.2f} ms",
        f"B1 state.get {med('og', 0):8.0f} ops/s p99 {med('og', 1) * 1e3:6.2f} ms | "
        f"redis-py GET {med('rg', 0):8.0f} ops/s p99 {med('rg', 1) * 1e3:6.2f} ms",
        _line("B1 state.set on Redis vs redis-py SET (+orjson)", set_ratio, ">= 0.7x", set_ratio >= 0.7),
        _line("B1 state.get on Redis vs redis-py GET (+orjson)", get_ratio, ">= 0.7x", get_ratio >= 0.7),
    ]
    return out


# -- B2 -------------------------------------------------------------------------------------------


def worker(mode: str, url: str, n: int) -> None:
    """One B2 process: ready, wait for "go", n increments, print its figures as JSON."""
    import redis

    lat: list[float] = []
    clock = time.perf_counter
    if mode == "ours":
        from desktop_app.engine.server import Server

        server = Server(store=url, namespace="bench-b2")
        state = server.state
        counter = server.lockables.new("counter")
        lock = server.lock

        def once() -> None:
            with lock(counter):
                state.set("n", state.get("n") + 1)

    else:
        r = redis.Redis.from_url(url)
        rlock = r.lock("bench-b2-redispy-lock", timeout=10)

        def once() -> None:
            with rlock:
                r.set("redispy:n", int(r.get("redispy:n")) + 1)  # type: ignore[arg-type]

    print("ready", flush=True)
    sys.stdin.readline()
    start = time.time()
    for _ in range(n):
        a = clock()
        once()
        lat.append(clock() - a)
    print(json.dumps({"start": start, "end": time.time(), "p99": _p99(lat)}), flush=True)


def _b2_round(mode: str, url: str, n: int, procs: int) -> tuple[float, float, int]:
    import redis

    r = redis.Redis.from_url(url)
    if mode == "ours":
        from desktop_app.engine import SharedState

        SharedState(store=url, namespace="bench-b2").set("n", 0)
    else:
        r.set("redispy:n", 0)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    ps = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.redis_bench", "--worker", mode, url, str(n)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(procs)
    ]
    for p in ps:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in ps:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in ps:
        out, _ = p.communicate(timeout=600)
        results.append(json.loads(out.strip().splitlines()[-1]))
    span = max(x["end"] for x in results) - min(x["start"] for x in results)
    if mode == "ours":
        from desktop_app.engine import SharedState

        final = SharedState(store=url, namespace="bench-b2").get("n")
    else:
        final = int(r.get("redispy:n"))  # type: ignore[arg-type]
    lost = procs * n - int(final)
    return procs * n / span, statistics.median(x["p99"] for x in results), lost


def b2(url: str, n: int, rounds: int, procs: int = 4) -> list[str]:
    ours: list[tuple[float, float, int]] = []
    theirs: list[tuple[float, float, int]] = []
    for _ in range(rounds):
        ours.append(_b2_round("ours", url, n, procs))
        theirs.append(_b2_round("redispy", url, n, procs))
    ratio = statistics.median(o[0] / t[0] for o, t in zip(ours, theirs, strict=True))
    lost = sum(o[2] for o in ours)
    lost_theirs = sum(t[2] for t in theirs)
    return [
        f"B2 server.lock  {statistics.median(o[0] for o in ours):8.0f} incr/s p99 "
        f"{statistics.median(o[1] for o in ours) * 1e3:6.1f} ms, lost {lost} | redis-py Lock "
        f"{statistics.median(t[0] for t in theirs):8.0f} incr/s p99 "
        f"{statistics.median(t[1] for t in theirs) * 1e3:6.1f} ms, lost {lost_theirs}",
        _line(
            f"B2 {procs} processes x RMW under a shared lockable vs redis-py Lock",
            ratio,
            ">= 0.8x",
            ratio >= 0.8 and lost == 0,
        ),
    ]


# -- B3, B4 ---------------------------------------------------------------------------------------


def b3(url: str, entries: int) -> list[str]:
    import redis

    r = redis.Redis.from_url(url)
    pipe = r.pipeline(transaction=False)
    for i in range(entries):
        pipe.hset("layout:{h}:names", f"k{i}", f"k{i}")
        pipe.set(f"layout:{{k}}:entry:k{i}", b"1")
    pipe.execute()

    def by_hash() -> None:
        r.hgetall("layout:{h}:names")

    def by_keys() -> None:
        list(r.scan_iter(match="layout:{k}:entry:*", count=1000))

    def best(fn: Callable[[], None]) -> float:
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    t_hash, t_keys = best(by_hash), best(by_keys)
    return [
        _line(
            f"B3 list {entries} names: hash per namespace vs SCAN of key per entry",
            t_keys / t_hash,
            "info",
            None,
        )
    ]


def b4(url: str, n: int) -> list[str]:
    import redis
    from redis.connection import _RESP2Parser

    big = orjson.dumps(list(range(2000)))
    fast = redis.Redis.from_url(url)
    pure = redis.Redis.from_url(url, parser_class=_RESP2Parser)
    fast.set("parser", big)
    for c in (fast, pure):
        c.get("parser")
    ratios = []
    for _ in range(3):
        t_fast, _ = _timed(lambda _i: fast.hgetall("layout:{h}:names"), n)
        t_pure, _ = _timed(lambda _i: pure.hgetall("layout:{h}:names"), n)
        ratios.append(t_fast / t_pure)
    return [
        _line(
            "B4 HGETALL of 2,000 fields: hiredis vs pure-Python parser",
            statistics.median(ratios),
            "info",
            None,
        )
    ]


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer operations and rounds")
    parser.add_argument("--worker", nargs=3, metavar=("MODE", "URL", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=["b1", "b2", "b3", "b4"], help="run one benchmark")
    args = parser.parse_args()
    if args.worker:
        mode, url, n = args.worker
        worker(mode, url, int(n))
        return
    if shutil.which("redis-server") is None:
        print("redis benchmarks skipped: redis-server is not installed (apt-get install redis-server)")
        return
    from tests.redis_server import RedisServer

    print(
        f"machine: {platform.processor() or platform.machine()}, {multiprocessing.cpu_count()} cores, "
        f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}"
    )
    print(
        "(Redis on 127.0.0.1 started by this run; ratios > 1 mean ours is faster; medians of interleaved rounds)"
    )
    n, rounds = (500, 3) if args.quick else (2000, 5)
    with RedisServer() as server:
        url = server.url
        for name, run in (
            ("b1", lambda: b1(url, n, rounds)),
            ("b2", lambda: b2(url, n // 10 if args.quick else n // 5, 3 if not args.quick else 1)),
            ("b3", lambda: b3(url, 10_000)),
            ("b4", lambda: b4(url, 50 if args.quick else 200)),
        ):
            if args.only and args.only != name:
                continue
            for line in run():
                print(line, flush=True)


if __name__ == "__main__":
    main()
