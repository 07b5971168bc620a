"""Timer lateness: 20 timers at 10 ms-1 s intervals; p50/p99 of (actual start - due time).

Run: ``python -m bench.timer_bench [--seconds 10]``. Target: p99 <= 50 ms on an idle machine
(Pode's scheduler has about 1 s resolution). The baseline in the same run is a bare
``threading.Event().wait(interval)`` loop on its own thread, the best a sleeping thread does here.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from typing import Any

from desktop_app.engine.server import Server

INTERVALS = [0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 1.0, 0.015, 0.045]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ours(seconds: float) -> list[float]:
    server = Server()
    late: list[float] = []
    starts: dict[str, float] = {}

    def make(name: str, interval: float) -> Any:
        def run(e: Any) -> None:
            now = time.monotonic()
            n = e.sender.count
            late.append(now - (starts[name] + n * interval))

        return run

    for i, interval in enumerate(INTERVALS):
        name = f"t{i}"
        server.add_timer(name, interval, make(name, interval))
    t0 = time.monotonic()
    for i in range(len(INTERVALS)):
        starts[f"t{i}"] = t0
    server.start()
    threading.Event().wait(seconds)
    server.stop()
    return late


def baseline(seconds: float) -> list[float]:
    late: list[float] = []
    stop = threading.Event()

    def loop(interval: float) -> None:
        due = time.monotonic() + interval
        while not stop.is_set():
            stop.wait(max(0.0, due - time.monotonic()))
            late.append(time.monotonic() - due)
            due += interval

    threads = [threading.Thread(target=loop, args=(iv,), name=f"base-{iv}") for iv in INTERVALS]
    for t in threads:
        t.start()
    threading.Event().wait(seconds)
    stop.set()
    for t in threads:
        t.join()
    return late


def run(seconds: float = 10.0) -> list[str]:
    a = ours(seconds)
    b = baseline(seconds)
    p99 = _pct(a, 0.99)
    return [
        f"timer lateness, 20 timers at 10 ms-1 s for {seconds:.0f} s ({len(a)} runs)",
        f"  ours:     p50 {statistics.median(a) * 1000:6.2f} ms   p99 {p99 * 1000:6.2f} ms   max {max(a) * 1000:6.2f} ms",
        f"  baseline: p50 {statistics.median(b) * 1000:6.2f} ms   p99 {_pct(b, 0.99) * 1000:6.2f} ms   (20 threads each sleeping to its own due time)",
        f"T-late p99 {p99 * 1000:.2f} ms   target <= 50 ms   {'PASS' if p99 <= 0.05 else 'MISS'}",
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    print("\n".join(run(parser.parse_args().seconds)))
