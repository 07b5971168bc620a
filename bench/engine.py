"""Engine benchmarks (E1, E2 here; P1/P2 from persistence_bench): ratios against baselines in the same run.

Run: ``python -m bench.engine`` (add ``--quick`` for a smaller persistence state).
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import statistics
import threading
import time
from collections.abc import Callable

from desktop_app.engine import SharedState
from desktop_app.engine.server import Server

N_OPS = 200_000


def _best(fn: Callable[[], None], reps: int = 5) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _line(label: str, ratio: float, target: str, ok: bool) -> str:
    return f"{label:<62} {ratio:8.2f}x   target {target:<8} {'PASS' if ok else 'MISS'}"


def e1() -> list[str]:
    """state.set / state.get against a dict behind an RLock, and against a Manager dict."""
    keys = [f"k{i % 1000}" for i in range(N_OPS)]
    state = SharedState()
    lock = threading.RLock()
    d: dict[str, int] = {}

    def ours_set() -> None:
        s = state.set
        for i, k in enumerate(keys):
            s(k, i)

    def ours_get() -> None:
        g = state.get
        for k in keys:
            g(k)

    def base_set() -> None:
        for i, k in enumerate(keys):
            with lock:
                d[k] = i

    def base_get() -> None:
        for k in keys:
            with lock:
                d.get(k)

    t_set, t_get = _best(ours_set), _best(ours_get)
    b_set, b_get = _best(base_set), _best(base_get)
    out = [
        _line(
            "E1 state.set throughput vs `with RLock: d[k] = v`",
            b_set / t_set,
            ">= 0.5x",
            b_set / t_set >= 0.5,
        ),
        _line(
            "E1 state.get throughput vs `with RLock: d.get(k)`",
            b_get / t_get,
            ">= 0.5x",
            b_get / t_get >= 0.5,
        ),
    ]
    with multiprocessing.Manager() as manager:
        md = manager.dict()
        few = keys[:2000]

        def mgr() -> None:
            for i, k in enumerate(few):
                md[k] = i
                md.get(k)

        t_mgr = _best(mgr, reps=3) / len(few)
    t_ours = (t_set + t_get) / len(keys)
    out.append(
        _line(
            "E1 state.set+get vs multiprocessing.Manager().dict()",
            t_mgr / t_ours,
            ">= 100x",
            t_mgr / t_ours >= 100,
        )
    )
    return out


def e2(threads: int = 4, per_thread: int = 50_000) -> list[str]:
    """Read-modify-write increments under server.lock() against the same under a bare RLock."""

    def run(make_ctx: Callable[[], object], state: SharedState) -> float:
        state.set("n", 0)

        def work() -> None:
            get, set_ = state.get, state.set
            for _ in range(per_thread):
                with make_ctx():  # type: ignore[attr-defined]
                    set_("n", get("n") + 1)

        ts = [threading.Thread(target=work, name=f"bench-{i}") for i in range(threads)]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        elapsed = time.perf_counter() - t0
        assert state.get("n") == threads * per_thread
        return elapsed

    server = Server()
    rlock = threading.RLock()
    ours = statistics.median(run(server.lock, server.state) for _ in range(3))
    bare = statistics.median(run(lambda: rlock, server.state) for _ in range(3))
    lockable = statistics.median(run(lambda: server.lockable, server.state) for _ in range(3))
    return [
        _line(
            f"E2 {threads} threads x RMW under server.lock() vs bare RLock",
            bare / ours,
            ">= 0.75x",
            bare / ours >= 0.75,
        ),
        _line(
            f"E2 {threads} threads x RMW under `with lockable:` vs bare RLock",
            bare / lockable,
            ">= 0.75x",
            bare / lockable >= 0.75,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a smaller state for P1/P2")
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {multiprocessing.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print("(ratios > 1 mean ours is faster than the baseline; each line says its target)")
    for line in e1() + e2():
        print(line, flush=True)
    try:
        from bench import persistence_bench
    except ImportError:
        return
    for line in persistence_bench.run(20_000 if args.quick else 200_000):
        print(line, flush=True)


if __name__ == "__main__":
    main()
