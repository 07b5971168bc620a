"""Watching a fleet: FleetLockable (sums, holder notes, uses in time order) and the FleetMonitor on a real Redis."""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

from desktop_app.engine.locks import TimeFigures, clock
from desktop_app.engine.redis.fleet import LockFigures, LockHolder, LockState, LockUse
from desktop_app.engine.server import Server
from desktop_app.ui.bridge.fleet_locks import FleetLockable
from desktop_app.ui.bridge.fleet_monitor import FleetMonitor
from desktop_app.ui.locks.contention_timeline import build_timeline, snapshot_lockables
from tests.engine.conftest import Worker


def _use(who: str, ago: float, hold: float = 0.01, wait: float = 0.0) -> LockUse:
    now = time.time()
    acquired = now - ago
    return LockUse("global", who, "server.py:27", acquired - wait, acquired, acquired + hold, wait > 0, 0)


def test_a_fleet_lockable_adds_up_processes_and_orders_their_uses() -> None:
    lk = FleetLockable("global")
    wall = time.time()
    fig = TimeFigures(count=2, total=0.02, max=0.015, p50=0.005, p99=0.015)
    lk.set_figures("a:1", LockFigures("global", 10, 2, 0, fig, fig, 0.02, ("timer-x",), 30.0), wall - 5)
    lk.set_figures("b:2", LockFigures("global", 5, 1, 1, TimeFigures(), fig, 0.0, (), 10.0), wall - 5)
    lk.set_alive({"a:1": True, "b:2": True})
    # b's batch arrives before a's although a's uses came first: the timeline gets them in time order
    for use in (_use("b:2/t", 2.0), _use("a:1/t", 3.0), _use("a:1/t", 2.5, wait=0.2)):
        lk.add_use(use, clock() - time.time())
    lk.settle()
    assert [e.thread for e in lk.events] == ["a:1/t", "a:1/t", "b:2/t"]
    assert [e.acquired for e in lk.events] == sorted(e.acquired for e in lk.events)  # type: ignore[type-var]
    st = lk.stats()
    # 15 from the heartbeats, 3 uses after them
    assert (st.acquisitions, st.contentions, st.timeouts) == (18, 4, 1)
    assert st.wait.count == 2 and st.hold.count == 4 and st.hold.p99 == 0.015
    assert st.waiting == ("a:1/timer-x",)
    lanes = {lane.thread for lane in build_timeline(snapshot_lockables([lk]), clock(), 10).lanes}  # type: ignore[list-item]
    # one lane per process/thread: the uses, and the thread a heartbeat says is waiting now
    assert lanes == {"a:1/t", "b:2/t", "a:1/timer-x"}


def test_a_holder_whose_process_stopped_is_shown_as_such() -> None:
    lk = FleetLockable("orders")
    holder = LockHolder("a:1/worker", "app.py:9", time.time() - 3, 7.0)
    lk.set_state(LockState("orders", holder, ("b:2/MainThread",)), clock() - time.time(), {"a:1": True})
    h = lk.holder
    assert h is not None and h.thread == "a:1/worker" and 2.5 < h.held_for < 4 and not lk.holder_stopped
    assert lk.waiting() == ("b:2/MainThread",)
    lk.set_state(LockState("orders", holder, ()), clock() - time.time(), {"a:1": False})
    h = lk.holder
    assert h is not None and lk.holder_stopped
    assert h.thread.startswith("a:1/worker (process stopped; lease ends in ") and h.thread.endswith(" s)")
    # a holder never seen beating (a plain script) is not called stopped
    lk.set_state(LockState("orders", LockHolder("c:3/x", "", time.time(), 5.0), ()), 0.0, {"a:1": False})
    assert not lk.holder_stopped


def test_the_monitor_lists_processes_holders_and_uses(
    qtbot: Any, redis_url: str, ns: str, workers: list[Worker]
) -> None:
    server = Server(store=redis_url, namespace=ns)
    ticked = threading.Event()

    def tick(e: Any) -> None:
        with e.lockable:
            e.state.set("n", 1)
        ticked.set()

    server.add_timer("tick", 0.1, tick)
    holder = Worker(redis_url, ns, 10_000, "hold", "orders")
    workers.append(holder)
    holder.expect("held")
    monitor = FleetMonitor()
    server.start()
    try:
        monitor.attach(Server(store=redis_url, namespace=ns))
        me = f"{socket.gethostname()}:{os.getpid()}"
        qtbot.waitUntil(lambda: [p.key for p in monitor.processes] == [me], timeout=10_000)
        (proc,) = monitor.processes
        assert proc.alive and proc.status == "alive" and [j["name"] for j in proc.jobs] == ["tick"]

        def orders_held() -> bool:
            lk = next((x for x in monitor.lockables() if x.key == "orders"), None)
            return lk is not None and lk.holder is not None

        qtbot.waitUntil(orders_held, timeout=10_000)
        names = [lk.name for lk in monitor.lockables()]
        assert names[0] == "global" and "orders" in names
        orders = monitor.lockable("orders")
        assert orders.holder is not None and orders.holder.thread.startswith(
            f"{socket.gethostname()}:{holder.pid}/"
        )
        # the global lockable: this process's counters (heartbeat) and its uses (stream), on the timeline
        glob = monitor.lockable("global")
        qtbot.waitUntil(lambda: glob.stats().acquisitions > 0 and len(glob.events) > 0, timeout=10_000)
        assert glob.per_process[0].process == me and glob.events[0].thread.startswith(me + "/timer-tick")
        status = monitor.global_status()
        assert status.waiting == ()
    finally:
        server.stop()
    # a clean stop deletes the heartbeat: the process stays listed, as stopped
    qtbot.waitUntil(
        lambda: bool(monitor.processes) and monitor.processes[0].status == "stopped", timeout=10_000
    )
    assert monitor.processes[0].gone
    monitor.stop()
    assert monitor.processes == () and monitor.lockables() == []
