"""The Locks dock's table, its sort proxy and the slow-wait table pass Qt's model checker while worker threads
contend for lockables, change the state under them, and lockables come and go."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMainWindow

from desktop_app.engine.locks import Lockable
from desktop_app.engine.server import Server
from desktop_app.ui.locks.lock_table_model import COL_ACQ, COL_LOCK
from desktop_app.ui.locks.locks_dock import LocksDock
from tests.ui.model_checks import attach_checkers, run_worker
from tests.waiting import wait_until

pytestmark = pytest.mark.qt_log_ignore(
    "This plugin does not support propagateSizeHints", "This plugin does not support raise"
)

HOLD = 0.005
"""How long a holder keeps 'orders' once a waiter queues: every such wait is a slow wait at a 1 ms threshold."""


@pytest.fixture
def server() -> Server:
    s = Server()  # never started: the test's own threads use its lockables
    s.lockables.new("orders")
    return s


@pytest.fixture
def dock(qtbot: Any, server: Server) -> Iterator[LocksDock]:
    window = QMainWindow()
    qtbot.addWidget(window)
    d = LocksDock(window)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, d)
    window.resize(1280, 760)
    d.set_server(server)
    window.show()
    qtbot.waitExposed(window)
    yield d
    d.set_server(None)
    window.close()


@pytest.fixture
def threshold() -> Iterator[None]:
    old = Lockable.slow_wait_threshold
    yield
    Lockable.slow_wait_threshold = old


def contend(server: Server, rounds: int) -> None:
    """Threads queue for 'orders' and the global lockable, writing state under them; lockables come and go."""
    orders = server.lockables.get("orders")
    assert orders is not None
    state = server.state

    held = threading.Event()
    done = threading.Event()

    def holder() -> None:
        for i in range(rounds):
            with orders:
                state.set("orders", {"n": i, "last": "holder"})
                held.set()
                # Hold until the waiter queues, then a little longer: a slow wait, every round.
                assert wait_until(lambda: bool(orders.waiting()), timeout=5.0, step=0.0005)
                threading.Event().wait(HOLD)
            assert done.wait(5)
            done.clear()

    def waiter() -> None:
        for i in range(rounds):
            assert held.wait(5)
            held.clear()
            with orders:
                state.set("orders", {"n": i, "last": "waiter"})
            done.set()

    def writer() -> None:
        for i in range(rounds * 20):
            with server.lock():
                state.set(f"w{i % 7}", [i, float(i)] if i % 2 else i)

    def churn() -> None:
        for i in range(rounds):
            server.lockables.new(f"tmp{i}")
            with server.lock(f"tmp{i}"):
                state.set("tmp", i)
            if i % 2:
                server.lockables.remove(f"tmp{i - 1}")

    threads = [
        threading.Thread(target=fn, name=name)
        for fn, name in ((holder, "holder"), (waiter, "waiter"), (writer, "writer"), (churn, "churn"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
        assert not t.is_alive(), t.name


def test_lock_tables_pass_the_checker_while_threads_contend(
    qtbot: Any, qtmodeltester: Any, server: Server, dock: LocksDock, threshold: None
) -> None:
    dock.threshold.setValue(1)
    assert Lockable.slow_wait_threshold == pytest.approx(0.001)
    checkers = attach_checkers(qtmodeltester, dock.model, dock.proxy, dock.slow_model)
    dock.table.sortByColumn(COL_ACQ, Qt.SortOrder.DescendingOrder)  # the proxy re-sorts on every sample
    fast = QTimer()
    fast.timeout.connect(dock.sample_now)  # far more samples than the dock's own timer takes
    fast.start(20)
    try:
        run_worker(qtbot, lambda: contend(server, rounds=12), timeout=30_000)
    finally:
        fast.stop()
    dock.sample_now()
    shown = {dock.model.index(r, COL_LOCK).data() for r in range(dock.model.rowCount())}
    assert shown == {lk.name for lk in server.all_lockables()}
    for lk in server.all_lockables():
        row = dock.model.row_of(lk.name)
        assert dock.model.index(row, COL_ACQ).data() == str(lk.stats().acquisitions)
    acq = [dock.proxy.index(r, COL_ACQ).data() for r in range(dock.proxy.rowCount())]
    assert [int(a.replace(",", "")) for a in acq] == sorted(
        (int(a.replace(",", "")) for a in acq), reverse=True
    )
    assert dock.slow_model.rowCount() >= 12  # every round, the waiter waited for the holder
    del checkers
