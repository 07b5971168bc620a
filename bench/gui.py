"""State tree benchmarks: G1 first paint and memory for a huge state; G2 GUI latency under 10,000 changes/s.

Run: ``python -m bench.gui`` (offscreen). Options: ``--entries N`` (G1 size, default 1,000,000),
``--naive N`` (entries for the naive QStandardItemModel baseline, default min(entries, 200,000)),
``--seconds S`` (G2 duration, default 10), ``--only g1|g2``. Prints PASS/MISS against the targets and
ratios against baselines measured in the same run.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer
from PySide6.QtGui import QStandardItem, QStandardItemModel, QUndoStack
from PySide6.QtWidgets import QApplication, QTreeView

from desktop_app.engine.server import Server
from desktop_app.ui.bridge.state_bridge import StateBridge, StateDelta
from desktop_app.ui.tree.state_view import StateView

FIRST_PAINT_TARGET = 1.0
MEMORY_RATIO_TARGET = 1.5
LOOP_P99_TARGET = 0.050
VISIBLE_P99_TARGET = 0.100
BRIDGE_CPU_NOTE = 0.05


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def pump(app: QApplication, until: Callable[[], bool], timeout: float) -> bool:
    end = time.perf_counter() + timeout
    while not until():
        if time.perf_counter() > end:
            return False
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        time.sleep(0.0005)
    return True


class PaintWatch(QObject):
    """Timestamps each paint of a viewport once it has finished (a zero timer runs after the paint event)."""

    def __init__(self, widget: Any) -> None:
        super().__init__()
        self.widget = widget
        self.painted: list[float] = []
        self.callbacks: list[Callable[[float], None]] = []
        self._armed = False
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.widget and event.type() == QEvent.Type.Paint and not self._armed:
            self._armed = True
            QTimer.singleShot(0, self._after_paint)
        return False

    def _after_paint(self) -> None:
        self._armed = False
        now = time.perf_counter()
        self.painted.append(now)
        for cb in self.callbacks:
            cb(now)


def mixed_value(i: int, rng: random.Random) -> Any:
    r = i % 20
    if r < 10:
        return i
    if r < 13:
        return f"string value number {i}"
    if r < 14:
        return rng.random()
    if r < 17:
        return {"id": i, "tags": ["a", "b"], "owner": "ann"}
    if r < 19:
        return [i, i + 1, i + 2, i + 3]
    if i % 1000 == 19:
        return {"values": list(range(2000)), "meta": {"k": i}}
    return {"values": list(range(40)), "meta": {"k": i}}


def build_state(server: Server, n: int) -> None:
    rng = random.Random(1)
    server.state.load_entries(
        {f"entry-{i:07d}": (mixed_value(i, rng), ["bench"] if i % 3 == 0 else []) for i in range(n)}
    )


# -- G1 ------------------------------------------------------------------------------------------------


def g1_open(app: QApplication, server: Server) -> dict[str, float]:
    t0 = time.perf_counter()
    bridge = StateBridge(server)
    view = StateView(bridge, QUndoStack())
    view.resize(1280, 800)
    watch = PaintWatch(view.tree.viewport())
    done: dict[str, float] = {}
    bridge.load_progress.connect(
        lambda a, b: done.setdefault("loaded", time.perf_counter()) if a >= b else None
    )
    view.show()
    bridge.start()
    pump(app, lambda: view.model.rowCount() > 0 and any(t > t0 for t in watch.painted), 60)
    first_paint = next(t for t in watch.painted if view.model.rowCount() > 0) - t0
    rows_at_paint = view.model.rowCount()
    pump(app, lambda: "loaded" in done, 600)
    full = done.get("loaded", float("nan")) - t0
    bridge.stop()
    view.close()
    view.deleteLater()
    app.processEvents()
    return {"first_paint": first_paint, "rows_at_paint": rows_at_paint, "full_load": full}


def g1_model_memory(app: QApplication, server: Server) -> float:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    bridge = StateBridge(server)
    view = StateView(bridge, QUndoStack())
    done: list[bool] = []
    bridge.load_progress.connect(lambda a, b: done.append(True) if a >= b else None)
    bridge.start()
    pump(app, lambda: bool(done), 1200)
    bridge.stop()
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    view.deleteLater()
    app.processEvents()
    return used


def naive_model(server: Server, limit: int) -> QStandardItemModel:
    """What a first version would do: a QStandardItemModel with every row and child built up front."""
    model = QStandardItemModel()
    model.setHorizontalHeaderLabels(["Name", "Value", "Type", "Scope", "Updated", "By"])

    def row(key: str, value: Any, info: Any = None) -> list[QStandardItem]:
        items = [
            QStandardItem(key),
            QStandardItem(repr(value)[:200]),
            QStandardItem(type(value).__name__),
            QStandardItem(", ".join(info.scope) if info else ""),
            QStandardItem(time.strftime("%H:%M:%S", time.localtime(info.time)) if info else ""),
            QStandardItem(info.thread if info else ""),
        ]
        if isinstance(value, dict):
            for k, v in value.items():
                items[0].appendRow(row(str(k), v))
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                items[0].appendRow(row(f"[{i}]", v))
        return items

    root = model.invisibleRootItem()
    for info in server.state.entries()[:limit]:
        root.appendRow(row(info.name, info.value, info))
    return model


def g1_naive(app: QApplication, server: Server, limit: int) -> dict[str, float]:
    gc.collect()
    rss0 = rss_bytes()
    tracemalloc.start()
    t0 = time.perf_counter()
    model = naive_model(server, limit)
    tree = QTreeView()
    tree.setUniformRowHeights(True)
    tree.setModel(model)
    tree.resize(1280, 800)
    watch = PaintWatch(tree.viewport())
    tree.show()
    pump(app, lambda: bool(watch.painted), 600)
    first = watch.painted[0] - t0
    traced = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    rss = rss_bytes() - rss0
    tree.close()
    tree.setModel(None)
    del model
    app.processEvents()
    return {"first_paint": first, "traced": traced, "rss": rss}


def run_g1(app: QApplication, n: int, naive_n: int) -> None:
    print(
        f"== G1: {n:,} entries (mixed: ints, strings, floats, small dicts/lists, 0.1 % of 2,000-item lists)"
    )
    server = Server()
    gc.collect()
    tracemalloc.start()
    rss0 = rss_bytes()
    t = time.perf_counter()
    build_state(server, n)
    gc.collect()
    state_mem = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(
        f"state built in {time.perf_counter() - t:.1f} s: {state_mem / 2**20:,.0f} MiB traced, RSS +{(rss_bytes() - rss0) / 2**20:,.0f} MiB"
    )
    rss1 = rss_bytes()
    opened = g1_open(app, server)
    print(
        f"StateView: first screen painted {opened['first_paint'] * 1000:,.0f} ms after creating the view "
        f"({opened['rows_at_paint']:,.0f} rows in the model then); all {n:,} rows after {opened['full_load']:.1f} s "
        f"[target <= {FIRST_PAINT_TARGET * 1000:.0f} ms: {verdict(opened['first_paint'] <= FIRST_PAINT_TARGET)}]"
    )
    print(f"  (RSS after the timed open: +{(rss_bytes() - rss1) / 2**20:,.0f} MiB; the view was closed)")
    model_mem = g1_model_memory(app, server)
    ratio = model_mem / state_mem
    print(
        f"model + bridge memory (tracemalloc, all rows loaded): {model_mem / 2**20:,.0f} MiB = {ratio:.2f}x the state's "
        f"own {state_mem / 2**20:,.0f} MiB [target <= {MEMORY_RATIO_TARGET}x: {verdict(ratio <= MEMORY_RATIO_TARGET)}]"
    )
    naive = g1_naive(app, server, naive_n)
    scale = n / naive_n
    print(
        f"naive QStandardItemModel over {naive_n:,} entries: first paint {naive['first_paint']:.2f} s, "
        f"{naive['traced'] / 2**20:,.0f} MiB traced (Python side only), RSS +{naive['rss'] / 2**20:,.0f} MiB"
        + (
            f"; scaled x{scale:.0f} to {n:,}: ~{naive['first_paint'] * scale:.0f} s, RSS ~{naive['rss'] * scale / 2**30:.1f} GiB"
            if scale > 1
            else ""
        )
    )
    print(
        f"ratio first paint naive/StateView: {naive['first_paint'] * scale / opened['first_paint']:,.0f}x "
        f"(StateView {opened['first_paint'] * 1000:.0f} ms vs naive {naive['first_paint'] * scale:.1f} s{' est.' if scale > 1 else ''})"
    )
    server.stop()


# -- G2 ------------------------------------------------------------------------------------------------


def run_loop(seconds: float) -> None:
    """Run the real Qt event loop (as the app does) for ``seconds``."""
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def probe_loop(app: QApplication, seconds: float, period: float = 0.010) -> list[float]:
    """Event-loop latency: how late a 10 ms precise single-shot timer fires, one after another."""
    samples: list[float] = []
    end = time.perf_counter() + seconds
    timer = QTimer()
    timer.setSingleShot(True)
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    due = [0.0]

    def arm() -> None:
        due[0] = time.perf_counter() + period
        timer.start(int(period * 1000))

    def fired() -> None:
        samples.append(max(0.0, time.perf_counter() - due[0]))
        if time.perf_counter() < end:
            arm()

    timer.timeout.connect(fired)
    arm()
    run_loop(seconds + 0.05)
    return samples


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run_g2(
    app: QApplication,
    seconds: float,
    size: tuple[int, int] = (1280, 800),
    threads: int = 8,
    rate: int = 10_000,
    keys: int = 2_000,
) -> None:
    print(
        f"== G2: {threads} worker threads, {rate:,} changes/s in total for {seconds:.0f} s over {keys:,} keys "
        f"(one in ten a small dict set under the global lock); view {size[0]}x{size[1]}"
    )
    server = Server()
    for k in range(keys):
        server.state.set(f"key-{k:05d}", {"t": 0.0, "by": -1} if k % 10 == 0 else 0.0)
    bridge = StateBridge(server)
    view = StateView(bridge, QUndoStack())
    view.resize(*size)
    view.show()
    bridge.start()
    pump(app, lambda: view.model.rowCount() == keys, 30)
    rows_on_screen = view.tree.viewport().height() // max(1, view.tree.sizeHintForRow(0))
    idle = probe_loop(app, 2.0)

    pending: list[float] = []
    visible: list[float] = []
    watch = PaintWatch(view.tree.viewport())

    def on_delta(delta: StateDelta) -> None:
        for s in delta.upserted:
            v = s.value
            pending.append(v if isinstance(v, float) else v["t"] if isinstance(v, dict) else 0.0)

    def on_paint(now: float) -> None:
        visible.extend(now - t for t in pending if t)
        pending.clear()

    bridge.entries_changed.connect(on_delta)  # after the view's own slot: the model has the delta
    watch.callbacks.append(on_paint)
    stop = threading.Event()
    written = [0] * threads

    def worker(w: int) -> None:
        rng = random.Random(w)
        per = rate / threads
        batch = max(1, int(per / 50))
        next_at = time.perf_counter()
        state = server.state
        while not stop.is_set():
            for _ in range(batch):
                i = rng.randrange(keys)
                k = f"key-{i:05d}"
                now = time.perf_counter()
                if i % 10 == 0:  # every tenth key holds a small dict, set under the lock as jobs do
                    with server.lockable:
                        state.set(k, {"t": now, "by": w})
                else:
                    state.set(k, now)
                written[w] += 1
            next_at += batch / per
            delay = next_at - time.perf_counter()
            if delay > 0:
                stop.wait(delay)

    cpu0, wall0 = bridge.bridge_cpu_time, time.perf_counter()
    proc0 = time.process_time()
    workers = [threading.Thread(target=worker, args=(w,), name=f"worker-{w + 1}") for w in range(threads)]
    for t in workers:
        t.start()
    loaded = probe_loop(app, seconds)
    stop.set()
    for t in workers:
        t.join()
    wall = time.perf_counter() - wall0
    bridge_cpu = (bridge.bridge_cpu_time - cpu0) / wall
    proc = (time.process_time() - proc0) / wall
    total = sum(written)
    bridge.stop()
    server.stop()
    view.close()
    print(
        f"changes made: {total:,} ({total / wall:,.0f}/s); process CPU {proc * 100:.0f} % of one core; "
        f"{rows_on_screen} rows on screen, smoothed paint cost at the end {view.tree.paint_seconds * 1000:.0f} ms"
    )
    print(
        f"GUI event loop idle: p50 {pct(idle, 0.5) * 1000:.2f} ms, p99 {pct(idle, 0.99) * 1000:.2f} ms; "
        f"under load: p50 {pct(loaded, 0.5) * 1000:.2f} ms, p99 {pct(loaded, 0.99) * 1000:.2f} ms "
        f"(x{pct(loaded, 0.99) / max(pct(idle, 0.99), 1e-6):.1f} of idle) "
        f"[target p99 <= {LOOP_P99_TARGET * 1000:.0f} ms: {verdict(pct(loaded, 0.99) <= LOOP_P99_TARGET)}]"
    )
    print(
        f"change -> painted on screen: p50 {pct(visible, 0.5) * 1000:.1f} ms, p99 {pct(visible, 0.99) * 1000:.1f} ms "
        f"over {len(visible):,} shown values (x{pct(visible, 0.99) / (1 / 30):.1f} of one 30 Hz frame) "
        f"[target p99 <= {VISIBLE_P99_TARGET * 1000:.0f} ms: {verdict(pct(visible, 0.99) <= VISIBLE_P99_TARGET)}]"
    )
    print(
        f"bridge thread CPU: {bridge_cpu * 100:.1f} % of one core (time.thread_time in the thread) "
        f"[{'<=' if bridge_cpu <= BRIDGE_CPU_NOTE else '>'} 5 %]"
    )
    if statistics.mean(loaded) > 0:
        print(
            f"  mean event-loop latency under load {statistics.mean(loaded) * 1000:.2f} ms over {len(loaded):,} probes"
        )


def run_r7(app: QApplication, seconds: float = 10.0) -> None:
    print(f"== R7: a worker holds the global lockable for {seconds:.0f} s while a timer keeps writing")
    server = Server()
    for k in range(500):
        server.state.set(f"key-{k:03d}", {"n": k} if k % 5 == 0 else k)
    server.add_timer(
        "tick", 0.02, lambda e: e.state.set(f"key-{int(time.time() * 50) % 500:03d}", time.time())
    )
    server.start()
    bridge = StateBridge(server)
    view = StateView(bridge, QUndoStack())
    view.resize(1000, 600)
    view.show()
    bridge.start()
    pump(app, lambda: view.model.rowCount() == 500, 30)
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with server.lockable:
            holding.set()
            release.wait(seconds)

    worker = threading.Thread(target=hold, name="worker")
    worker.start()
    holding.wait(5)
    lat = probe_loop(app, seconds - 0.5)
    shown = view.lock_label.text()
    release.set()
    worker.join()
    bridge.stop()
    server.stop()
    view.close()
    print(
        f"event loop while held: p50 {pct(lat, 0.5) * 1000:.2f} ms, p99 {pct(lat, 0.99) * 1000:.2f} ms, "
        f"mean {statistics.mean(lat) * 1000:.2f} ms [target mean < 50 ms: {verdict(statistics.mean(lat) < 0.05)}]; "
        f"status line: {shown!r} [{verdict('held by worker' in shown)}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--naive", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--only", choices=("g1", "g2", "r7"))
    parser.add_argument("--size", default="1280x800", help="G2 window size, WxH")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    if args.only in (None, "r7"):
        run_r7(app)
    if args.only in (None, "g2"):
        w, h = (int(v) for v in args.size.split("x"))
        run_g2(app, args.seconds, (w, h))
    if args.only in (None, "g1"):
        run_g1(app, args.entries, args.naive or min(args.entries, 200_000))


if __name__ == "__main__":
    main()
