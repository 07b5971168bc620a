"""A1: the studio attached to a fleet under load — GUI event-loop latency and change-to-visible latency.

Run: ``python -m bench.attach_bench`` (offscreen; starts its own redis-server on a free port).
Options: ``--rounds N`` (default 3), ``--seconds S`` per round (default 10), ``--rate R`` changes/s in
total (default 10,000), ``--writers W`` processes (default 4), ``--keys K`` (default 2,000),
``--batch B`` changes per round trip (default 25), ``--size WxH`` of the window (default 1280x800).

Each round: K entries are loaded into a fresh namespace; the real MainWindow attaches to it (tree,
Processes, Locks and Jobs docks, the fleet monitor); W writer *processes* then change random keys at
R/W changes/s each for S seconds — a float holding the wall-clock time of the change, or (one key in
ten) a small dict holding it. Writers send B changes per round trip (``load_entries(merge=True)``: one
atomic script, each entry still its own record on the change feed) so that W processes on a small
machine can reach R at all; ``--batch 1`` makes one ``state.set`` per change. Measured, in the studio
process:

- event-loop latency: how late a precise 10 ms single-shot timer fires, one after another (as
  ``bench/gui.py`` G2), idle and under load;
- change -> visible: for every value a delta brought, the wall-clock time from the change in the
  writer to the end of the tree's next paint after the model had it (same host, same clock).

Printed: per round, then the median and the range over rounds, with PASS/MISS against the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
LOOP_P99_TARGET = 0.050
VISIBLE_P99_TARGET = 0.250


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# -- a writer process -------------------------------------------------------------------------------


def writer(url: str, ns: str, wid: int, rate: float, keys: int, seconds: float, batch: int) -> None:
    from desktop_app.engine import SharedState

    state = SharedState(store=url, namespace=ns)
    rng = random.Random(wid)
    print("ready", flush=True)
    sys.stdin.readline()
    written = 0
    start = next_at = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        now = time.time()
        picked = {}
        for _ in range(batch):
            i = rng.randrange(keys)
            picked[f"key-{i:05d}"] = ({"t": now, "by": wid} if i % 10 == 0 else now, [])
        if batch == 1:
            ((name, (value, _)),) = picked.items()
            state.set(name, value)
        else:
            state.load_entries(picked, merge=True)
        written += len(picked)
        next_at += len(picked) / rate
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    print(json.dumps({"written": written, "span": time.perf_counter() - start}), flush=True)


# -- the studio ---------------------------------------------------------------------------------------


class Probe:
    """Event-loop latency: a precise 10 ms single-shot timer, re-armed when it fires; lateness recorded."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.samples: list[float] = []
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._fired)
        self._due = 0.0
        self._on = False

    def start(self) -> None:
        self.samples = []
        self._on = True
        self._arm()

    def stop(self) -> list[float]:
        self._on = False
        self._timer.stop()
        return self.samples

    def _arm(self) -> None:
        self._due = time.perf_counter() + 0.010
        self._timer.start(10)

    def _fired(self) -> None:
        self.samples.append(max(0.0, time.perf_counter() - self._due))
        if self._on:
            self._arm()


async def one_round(window: Any, url: str, args: argparse.Namespace, n: int) -> dict[str, float]:
    from bench.gui import PaintWatch
    from desktop_app.engine import SharedState

    ns = f"bench-{uuid.uuid4().hex[:8]}"
    SharedState(store=url, namespace=ns).load_entries(
        {f"key-{i:05d}": ({"t": 0.0, "by": -1} if i % 10 == 0 else 0.0, []) for i in range(args.keys)}
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    per = args.rate / args.writers
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.attach_bench",
                "--writer",
                url,
                ns,
                str(w),
                str(per),
                str(args.keys),
                str(args.seconds),
                str(args.batch),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in range(args.writers)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        assert await window.attach(url, ns)
        deadline = time.monotonic() + 60
        while window.view.model.entry_count() < args.keys and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        probe = Probe()
        probe.start()
        await asyncio.sleep(2.0)
        idle = probe.stop()

        pending: list[tuple[float, bool]] = []
        visible: list[float] = []
        visible_all: list[float] = []
        watch = PaintWatch(window.view.tree.viewport())
        shown = on_screen(window)

        sizes: list[int] = []
        reader = window.bridge._reader
        reloads0 = getattr(reader, "reloads", 0)

        def on_delta(delta: Any) -> None:
            sizes.append(len(delta.upserted))
            for s in delta.upserted:
                v = s.value
                t = v if isinstance(v, float) else v.get("t", 0.0) if isinstance(v, dict) else 0.0
                if t:
                    pending.append((t, s.name in shown))

        def on_paint(_now: float) -> None:
            now = time.time()
            visible.extend(now - t for t, seen in pending if seen)
            visible_all.extend(now - t for t, _ in pending)
            pending.clear()

        window.bridge.entries_changed.connect(on_delta)
        watch.callbacks.append(on_paint)
        cpu0, wall0 = window.bridge.bridge_cpu_time, time.perf_counter()
        proc0 = time.process_time()
        probe.start()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in procs:
            assert p.stdout is not None
            line = await asyncio.get_running_loop().run_in_executor(None, p.stdout.readline)
            results.append(json.loads(line))
        loaded = probe.stop()
        wall = time.perf_counter() - wall0
        window.bridge.entries_changed.disconnect(on_delta)
        watch.callbacks.clear()
        written = sum(r["written"] for r in results)
        span = max(r["span"] for r in results)
        figures = {
            "rate": written / span,
            "idle_p99": pct(idle, 0.99),
            "loop_p50": pct(loaded, 0.5),
            "loop_p99": pct(loaded, 0.99),
            "vis_p50": pct(visible, 0.5),
            "vis_p99": pct(visible, 0.99),
            "all_p50": pct(visible_all, 0.5),
            "all_p99": pct(visible_all, 0.99),
            "shown": len(visible),
            "bridge_cpu": (window.bridge.bridge_cpu_time - cpu0) / wall,
            "proc_cpu": (time.process_time() - proc0) / wall,
            "frames": len(sizes) / wall,
            "upserts": statistics.median(sizes) if sizes else 0,
            "upserts_max": max(sizes, default=0),
            "reloads": getattr(reader, "reloads", 0) - reloads0,
        }
        print(
            f"round {n}: {written:,} changes in {span:.1f} s ({figures['rate']:,.0f}/s) by {args.writers} processes; "
            f"event loop p50 {figures['loop_p50'] * 1e3:.1f} ms, p99 {figures['loop_p99'] * 1e3:.1f} ms "
            f"(idle p99 {figures['idle_p99'] * 1e3:.1f} ms); change -> visible on the {len(shown)} rows on screen: "
            f"p50 {figures['vis_p50'] * 1e3:.0f} ms, p99 {figures['vis_p99'] * 1e3:.0f} ms over {len(visible):,} values "
            f"(every row, on screen or not: p50 {figures['all_p50'] * 1e3:.0f} ms, p99 {figures['all_p99'] * 1e3:.0f} ms); "
            "bridge thread "
            f"{figures['bridge_cpu'] * 100:.0f} %, studio process {figures['proc_cpu'] * 100:.0f} % of a core; "
            f"{figures['frames']:.1f} deltas/s of {figures['upserts']:.0f} entries (max {figures['upserts_max']}), "
            f"{figures['reloads']} reloads",
            flush=True,
        )
        await window.detach()
        return figures
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()


def on_screen(window: Any) -> set[str]:
    """Names of the top-level rows the tree's viewport shows now."""
    tree = window.view.tree
    viewport = tree.viewport().rect()
    names = set()
    index = tree.indexAt(viewport.topLeft())
    while index.isValid() and tree.visualRect(index).top() <= viewport.bottom():
        node = window.view.node_of(index)
        if node is not None:
            names.add(str(node.top().key))
        index = tree.indexBelow(index)
    return names


def spread(
    rounds: list[dict[str, float]], key: str, scale: float = 1e3, unit: str = "ms", fmt: str = ".0f"
) -> str:
    values = [r[key] * scale for r in rounds]
    return f"median {statistics.median(values):{fmt}} {unit} (range {min(values):{fmt}}–{max(values):{fmt}})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--keys", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--size", default="1280x800")
    parser.add_argument("--writer", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        url, ns, wid, rate, keys, seconds, batch = args.writer
        writer(url, ns, int(wid), float(rate), int(keys), float(seconds), int(batch))
        return
    if shutil.which("redis-server") is None:
        print("A1 skipped: redis-server is not installed (apt-get install redis-server)")
        return

    import qasync
    from PySide6.QtCore import QSettings

    from desktop_app.ui.shell.app import make_application, settle_gc
    from desktop_app.ui.shell.main_window import MainWindow
    from tests.redis_server import RedisServer

    data = Path(tempfile.mkdtemp(prefix="sss-attach-bench-"))
    os.environ["STATE_STUDIO_DATA_DIR"] = str(data)
    print(
        f"== A1: the studio attached to {args.writers} writer processes, {args.rate:,.0f} changes/s in total for "
        f"{args.seconds:.0f} s over {args.keys:,} keys ({args.batch} changes per round trip), window {args.size}, "
        f"{args.rounds} rounds",
        flush=True,
    )
    app = make_application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    w, h = (int(v) for v in args.size.split("x"))
    rounds: list[dict[str, float]] = []
    with RedisServer() as redis_server:
        window = MainWindow(QSettings(str(data / "settings.ini"), QSettings.Format.IniFormat))
        window.interactive = False
        window.after_attach = settle_gc  # as the app does (run_gui)
        window.resize(w, h)
        window.show()

        async def run() -> None:
            try:
                for n in range(1, args.rounds + 1):
                    rounds.append(await one_round(window, redis_server.url, args, n))
            finally:
                window.close()

        with loop:
            loop.run_until_complete(run())
    shutil.rmtree(data, ignore_errors=True)
    loop_p99 = statistics.median(r["loop_p99"] for r in rounds)
    vis_p99 = statistics.median(r["vis_p99"] for r in rounds)
    print(f"changes made:          {spread(rounds, 'rate', 1, '/s', ',.0f')} (asked for {args.rate:,.0f}/s)")
    print(
        f"GUI event loop p99:    {spread(rounds, 'loop_p99', fmt='.1f')} "
        f"[target <= {LOOP_P99_TARGET * 1e3:.0f} ms: {verdict(loop_p99 <= LOOP_P99_TARGET)}]"
    )
    print(
        f"change -> visible p99 (rows on screen): {spread(rounds, 'vis_p99')} "
        f"[target <= {VISIBLE_P99_TARGET * 1e3:.0f} ms: {verdict(vis_p99 <= VISIBLE_P99_TARGET)}]"
    )
    print(f"change -> visible p50: {spread(rounds, 'vis_p50')}")
    print(
        f"every row's change -> painted p99 (on screen or not, as bench/gui.py G2 counts): {spread(rounds, 'all_p99')}"
    )
    print(f"bridge thread CPU:     {spread(rounds, 'bridge_cpu', 100, '% of a core')}")
    print(f"studio process CPU:    {spread(rounds, 'proc_cpu', 100, '% of a core')}")


if __name__ == "__main__":
    main()
