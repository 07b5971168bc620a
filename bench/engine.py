"""Engine benchmarks: E1, E2 (tight and realistic), P1/P2 (persistence_bench), R5 (http_bench, with wrk).

Each figure is a ratio against a baseline measured in the same run, in interleaved rounds (the order
flips each round), printed as the median and the range over the rounds; see bench/rounds.py.

Run: ``python -m bench.engine`` (``make bench``); ``--rounds N`` (default 7), ``--quick`` for a smaller
persistence state and shorter HTTP rounds.
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from bench.rounds import Figure, faster, interleave, timed
from desktop_app.engine import SharedState, hotpath
from desktop_app.engine.server import Server

N_OPS = 200_000
THREADS = 4


def e1(rounds: int) -> list[Figure]:
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

    figures = [
        Figure(
            "E1 state.set vs `with RLock: d[k] = v`",
            interleave(lambda: timed(ours_set), lambda: timed(base_set), rounds, ratio=faster),
            0.5,
        ),
        Figure(
            "E1 state.get vs `with RLock: d.get(k)`",
            interleave(lambda: timed(ours_get), lambda: timed(base_get), rounds, ratio=faster),
            0.5,
        ),
    ]
    few = keys[:2000]
    with multiprocessing.Manager() as manager:
        md = manager.dict()

        def mgr() -> None:
            for i, k in enumerate(few):
                md[k] = i
                md.get(k)

        def ours_pair() -> None:
            s, g = state.set, state.get
            for i, k in enumerate(few):
                s(k, i)
                g(k)

        # Per operation pair: the Manager's 2,000 against ours 50 times over, for a measurable time.
        def ours_per_op() -> float:
            return timed(lambda: [ours_pair() for _ in range(50)]) / 50

        figures.append(
            Figure(
                "E1 state.set+get vs multiprocessing.Manager().dict()",
                interleave(ours_per_op, lambda: timed(mgr), rounds, ratio=faster),
                100,
            )
        )
    return figures


def _contend(
    make: Callable[[], AbstractContextManager[Any]], body: str, state: SharedState, per_thread: int
) -> float:
    """Wall time of THREADS threads each doing ``per_thread`` increments under ``make()``."""
    box = {"n": 0}
    state.set("n", 0)

    def tight() -> None:
        for _ in range(per_thread):
            with make():
                box["n"] += 1

    def realistic() -> None:
        get, set_ = state.get, state.set
        for _ in range(per_thread):
            with make():
                set_("n", get("n") + 1)

    work = tight if body == "tight" else realistic
    threads = [threading.Thread(target=work, name=f"bench-{i}") for i in range(THREADS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    done = box["n"] if body == "tight" else state.get("n")
    assert done == THREADS * per_thread, f"lost updates: {done} != {THREADS * per_thread}"
    return elapsed


def e2(rounds: int) -> list[Figure]:
    """Increments from 4 threads under server.lock() against the same under a bare RLock."""
    server = Server()
    rlock = threading.RLock()
    lockable = server.lockable
    state = server.state
    out = []
    for body, per_thread, shown in (
        ("tight", 50_000, 'with server.lock(): box["n"] += 1'),
        ("realistic", 20_000, 'with server.lock(): set("n", get("n")+1)'),
    ):

        def ours(body: str = body, per_thread: int = per_thread) -> float:
            return _contend(server.lock, body, state, per_thread)

        def bare(body: str = body, per_thread: int = per_thread) -> float:
            return _contend(lambda: rlock, body, state, per_thread)

        out.append(
            Figure(
                f"E2 {THREADS} threads, {shown} vs bare RLock",
                interleave(ours, bare, rounds, ratio=faster),
                0.75,
            )
        )
        if body == "tight":

            def plain(per_thread: int = per_thread) -> float:
                return _contend(lambda: lockable, "tight", state, per_thread)

            out.append(
                Figure(
                    f"E2 {THREADS} threads, same under with server.lockable: vs RLock",
                    interleave(plain, bare, rounds, ratio=faster),
                )
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per figure (default 7)")
    parser.add_argument("--quick", action="store_true", help="a smaller state for P1/P2, shorter HTTP rounds")
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {multiprocessing.cpu_count()} cores, "
        f"Python {platform.python_version()}, {hotpath.IMPLEMENTATION} hot paths"
    )
    print(
        f"(median ratio over {args.rounds} interleaved rounds, with the lowest and highest round; > 1x means "
        "ours is faster, except 'x of' lines, where < 1 is better)"
    )
    for fig in e1(args.rounds) + e2(args.rounds):
        print(fig.line(), flush=True)
    from bench import http_bench, persistence_bench

    for line in persistence_bench.run(20_000 if args.quick else 200_000, rounds=args.rounds):
        print(line, flush=True)
    for line in http_bench.run_wrk(rounds=args.rounds, seconds=2 if args.quick else 3):
        print(line, flush=True)


if __name__ == "__main__":
    main()
