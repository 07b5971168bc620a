"""The Locks dock: the engine's numbers in the table, sorting, reset, timeline paint/hover/click, slow-wait export, deadlocks."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QColor, QHelpEvent
from PySide6.QtTest import QAbstractItemModelTester
from PySide6.QtWidgets import QApplication, QFileDialog, QMainWindow, QMessageBox, QToolTip
from pytestqt.qtbot import QtBot

from desktop_app.engine.locks import Lockable
from desktop_app.engine.server import Server
from desktop_app.ui.locks import locks_dock
from desktop_app.ui.locks.lock_table_model import (
    COL_ACQ,
    COL_CONT,
    COL_HOLDER,
    COL_LOCK,
    COL_WAITING,
    SORT_ROLE,
)
from desktop_app.ui.locks.locks_dock import LocksDock
from desktop_app.ui.locks.timeline_data import SegmentKind
from desktop_app.ui.locks.timeline_style import CONTENDED_COLOR, WAIT_COLOR, WAIT_FILL

A_EXTRA = 0.06

# The offscreen platform cannot resize a window to its docks' hints nor raise a tooltip; harmless, not ours.
pytestmark = pytest.mark.qt_log_ignore(
    "This plugin does not support propagateSizeHints", "This plugin does not support raise"
)


def _poll(cond: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.002)


@dataclass
class Scenario:
    """Thread A holds 'orders' until told; B waits for it meanwhile; both named, both joined at the end."""

    lock: Lockable
    a_in: threading.Event = field(default_factory=threading.Event)
    a_go: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        def run_a() -> None:
            with self.lock:
                self.a_in.set()
                self.a_go.wait(5)
                time.sleep(A_EXTRA)

        def run_b() -> None:
            with self.lock:
                pass

        ta = threading.Thread(target=run_a, name="thread-a")
        tb = threading.Thread(target=run_b, name="thread-b")
        self.threads = [ta, tb]
        ta.start()
        assert self.a_in.wait(5)
        tb.start()
        _poll(lambda: self.lock.waiting() == ("thread-b",))

    def finish(self) -> None:
        self.a_go.set()
        for t in self.threads:
            t.join(5)
            assert not t.is_alive()


@pytest.fixture
def server() -> Server:
    s = Server()  # never started: the test's own threads use its lockables
    s.lockables.new("orders")
    s.lockables.new("cache")
    return s


@pytest.fixture
def dock(qtbot: QtBot, server: Server) -> Iterator[LocksDock]:
    window = QMainWindow()  # docked, as in the app
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
def scenario(server: Server) -> Iterator[Scenario]:
    lock = server.lockables.get("orders")
    assert lock is not None
    sc = Scenario(lock)
    yield sc
    sc.finish()


@pytest.fixture
def threshold() -> Iterator[None]:
    old = Lockable.slow_wait_threshold
    yield
    Lockable.slow_wait_threshold = old


def _cell(dock: LocksDock, lock: str, col: int, role: int = Qt.ItemDataRole.DisplayRole) -> object:
    row = dock.model.row_of(lock)
    assert row >= 0
    return dock.model.index(row, col).data(role)


def _freeze(dock: LocksDock) -> None:
    """Stop following live, after one last sample, so segment positions hold still."""
    dock.sample_now()
    dock.live_check.setChecked(False)


def test_table_shows_the_engine_numbers_and_holder(qtbot: QtBot, dock: LocksDock, scenario: Scenario) -> None:
    tester = QAbstractItemModelTester(dock.model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    assert dock.is_sampling()
    assert [dock.model.index(r, COL_LOCK).data() for r in range(dock.model.rowCount())] == [
        "global",
        "orders",
        "cache",
    ]
    scenario.start()
    dock.sample_now()
    assert str(_cell(dock, "orders", COL_HOLDER)).startswith("thread-a · ")
    assert "test_locks_dock.py:" in str(_cell(dock, "orders", COL_HOLDER))
    assert _cell(dock, "orders", COL_WAITING) == "1: thread-b"
    scenario.finish()
    dock.sample_now()
    st = scenario.lock.stats()
    assert (st.acquisitions, st.contentions) == (2, 1)
    assert _cell(dock, "orders", COL_ACQ) == "2" and _cell(dock, "orders", COL_ACQ, SORT_ROLE) == 2
    assert _cell(dock, "orders", COL_CONT) == "1"
    assert _cell(dock, "orders", COL_HOLDER) == "—" and _cell(dock, "orders", COL_WAITING) == "0"
    assert _cell(dock, "cache", COL_ACQ) == "0"
    del tester


def test_samples_update_rows_in_place(qtbot: QtBot, dock: LocksDock, server: Server) -> None:
    resets: list[int] = []
    dock.model.modelReset.connect(lambda: resets.append(1))
    with qtbot.waitSignal(dock.model.dataChanged, timeout=2000):
        with server.lock("cache"):
            pass
        dock.sample_now()
    server.lockables.new("late")
    with qtbot.waitSignal(dock.model.rowsInserted, timeout=2000):
        dock.sample_now()
    assert dock.model.row_of("late") == 3 and resets == []


def test_sorting(qtbot: QtBot, dock: LocksDock, server: Server) -> None:
    for name, n in (("cache", 5), ("orders", 2), (None, 1)):
        for _ in range(n):
            with server.lock(name):
                pass
    dock.sample_now()
    dock.table.sortByColumn(COL_ACQ, Qt.SortOrder.DescendingOrder)
    order = [dock.proxy.index(r, COL_LOCK).data() for r in range(dock.proxy.rowCount())]
    assert order == ["cache", "orders", "global"]
    dock.table.sortByColumn(COL_ACQ, Qt.SortOrder.AscendingOrder)
    assert [dock.proxy.index(r, COL_LOCK).data() for r in range(3)] == ["global", "orders", "cache"]
    dock.table.sortByColumn(COL_LOCK, Qt.SortOrder.AscendingOrder)
    assert [dock.proxy.index(r, COL_LOCK).data() for r in range(3)] == ["cache", "global", "orders"]


def test_reset_counters(qtbot: QtBot, dock: LocksDock, scenario: Scenario) -> None:
    scenario.start()
    scenario.finish()
    dock.sample_now()
    assert _cell(dock, "orders", COL_ACQ) == "2"
    qtbot.mouseClick(dock.reset_button, Qt.MouseButton.LeftButton)
    st = scenario.lock.stats()
    assert (st.acquisitions, st.contentions, st.wait.count) == (0, 0, 0)
    assert _cell(dock, "orders", COL_ACQ) == "0" and _cell(dock, "orders", COL_CONT) == "0"
    assert dock.view.timeline().lanes == ()


def test_timeline_paints_hovers_and_clicks(qtbot: QtBot, dock: LocksDock, scenario: Scenario) -> None:
    scenario.start()
    scenario.finish()
    _freeze(dock)
    view = dock.view
    tl = view.timeline()
    assert [ln.thread for ln in tl.lanes] == ["thread-a", "thread-b"]
    (wait,) = tl.segments(thread="thread-b", kind=SegmentKind.WAIT)
    (cont,) = tl.segments(thread="thread-a", kind=SegmentKind.HOLD_CONTENDED)

    image = view.grab().toImage()
    assert not image.isNull() and image.width() > 300
    colours = {
        QColor(image.pixel(x, y)).name()
        for x in range(0, image.width(), 2)
        for y in range(0, min(image.height(), 200), 2)
    }
    # A's contended hold (solid) and B's wait (hatched over a light fill) are both drawn
    assert CONTENDED_COLOR.name() in colours and WAIT_FILL.name() in colours and WAIT_COLOR.name() in colours

    # hover: the tooltip names the wait, the lock, the holder and its site
    pos = view.segment_rect(wait).center().toPoint()
    text = view.tooltip_text_at(pos)
    assert text is not None and text.startswith("waited ")
    assert " for orders, held by thread-a at test_locks_dock.py:" in text
    QApplication.sendEvent(view, QHelpEvent(QEvent.Type.ToolTip, pos, view.mapToGlobal(pos)))
    assert QToolTip.text() == text
    QToolTip.hideText()

    # click: the segment's lock is selected in the table
    dock.select_lock("cache")
    assert dock.selected_lock() == "cache"
    with qtbot.waitSignal(view.lock_clicked, timeout=1000) as clicked:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.segment_rect(cont).center().toPoint())
    assert clicked.args == ["orders"]
    assert dock.selected_lock() == "orders"
    assert view.segment_at(QPoint(2, 2)) is None


def test_only_contended_and_window(qtbot: QtBot, dock: LocksDock, server: Server, scenario: Scenario) -> None:
    with server.lock("cache"):
        pass
    scenario.start()
    scenario.finish()
    dock.sample_now()
    assert {ln.thread for ln in dock.view.timeline().lanes} >= {"thread-a", "thread-b", "MainThread"}
    dock.only_contended.setChecked(True)
    dock.sample_now()
    tl = dock.view.timeline()
    assert [ln.thread for ln in tl.lanes] == ["thread-a", "thread-b"]
    assert tl.segments(kind=SegmentKind.HOLD) == []
    dock.window_combo.setCurrentIndex(dock.window_combo.findText("30 s"))
    assert dock.view.timeline().window == pytest.approx(30.0)


def test_slow_wait_export(
    qtbot: QtBot,
    dock: LocksDock,
    scenario: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    threshold: None,
) -> None:
    dock.threshold.setValue(10)
    assert Lockable.slow_wait_threshold == pytest.approx(0.010)
    scenario.start()
    scenario.finish()
    dock.sample_now()
    assert dock.slow_model.rowCount() == 1
    tester = QAbstractItemModelTester(dock.slow_model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    row = [dock.slow_model.index(0, c).data() for c in range(dock.slow_model.columnCount())]
    assert row[1:3] == ["thread-b", "orders"] and row[4] == "acquired" and row[5] == "thread-a"
    dock.slow_table.selectRow(0)
    assert "run_b" in dock.waiter_stack.toPlainText()
    assert "run_a" in dock.holder_stack.toPlainText()  # caught while A still held the lock

    target = tmp_path / "waits.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "JSON files (*.json)"))
    qtbot.mouseClick(dock.export_button, Qt.MouseButton.LeftButton)
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["threshold_ms"] == 10
    (wait,) = data["slow_waits"]
    assert (wait["waiter"], wait["lock"], wait["holder"], wait["timed_out"]) == (
        "thread-b",
        "orders",
        "thread-a",
        False,
    )
    assert wait["waited_ms"] >= A_EXTRA * 1000 - 5
    assert any("run_b" in line for line in wait["waiter_stack"])
    assert any("run_a" in line for line in wait["holder_stack"])

    # an unwritable place: a message box naming the file, nothing raised
    shown: list[str] = []
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "no" / "such" / "w.json"), "")
    )
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: shown.append(text))
    qtbot.mouseClick(dock.export_button, Qt.MouseButton.LeftButton)
    assert len(shown) == 1 and "w.json" in shown[0]
    del tester


def test_deadlock_banner_and_logged_once(
    qtbot: QtBot, dock: LocksDock, server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    l1, l2 = server.lockables.new("L1"), server.lockables.new("L2")
    a_has, b_has = threading.Event(), threading.Event()

    def run(
        mine: Lockable, theirs: Lockable, have: threading.Event, other: threading.Event, timeout: float
    ) -> None:
        with mine:
            have.set()
            other.wait(5)
            if theirs.acquire(timeout=timeout):
                theirs.release()

    ta = threading.Thread(target=run, args=(l1, l2, a_has, b_has, 5.0), name="worker-a")
    tb = threading.Thread(target=run, args=(l2, l1, b_has, a_has, 1.5), name="worker-b")
    caplog.set_level(logging.ERROR, logger="desktop_app.engine.deadlock")
    ta.start()
    tb.start()
    try:
        qtbot.waitUntil(dock.banner.isVisible, timeout=5000)
        text = dock.banner.text()
        for name in ("worker-a", "worker-b", "'L1'", "'L2'"):
            assert name in text
        for _ in range(3):
            dock.sample_now()
        assert dock.banner.isVisible()
        records = [r for r in caplog.records if r.name == "desktop_app.engine.deadlock"]
        assert len(records) == 1 and records[0].levelno == logging.ERROR
        assert "worker-a" in records[0].getMessage() and "'L2'" in records[0].getMessage()
        assert {t for c in dock.deadlocks for t in c.threads} == {"worker-a", "worker-b"}
        image = dock.view.grab().toImage()
        assert not image.isNull()
        qtbot.waitUntil(lambda: not dock.banner.isVisible(), timeout=5000)  # B's timeout broke it
    finally:
        ta.join(10)
        tb.join(10)
    assert len([r for r in caplog.records if r.name == "desktop_app.engine.deadlock"]) == 1


def test_samples_only_while_visible(qtbot: QtBot, dock: LocksDock) -> None:
    assert dock.is_sampling()
    dock.hide()
    assert not dock.is_sampling()
    dock.show()
    assert dock.is_sampling()
    dock.set_server(None)
    assert dock.model.rowCount() == 0 and dock.summary.text() == "No server"



def test_sampling_takes_no_lock_and_changes_no_figure(qtbot: QtBot, dock: LocksDock, scenario: Scenario) -> None:
    scenario.start()  # held by thread-a, thread-b waiting: the dock reads it all the same
    before = [lk.stats() for lk in dock.lockables()]
    for _ in range(5):
        dock.sample_now()
    assert _cell(dock, "orders", COL_WAITING) == "1: thread-b"
    after = [lk.stats() for lk in dock.lockables()]
    for b, a in zip(before, after, strict=True):
        assert (a.acquisitions, a.contentions, a.timeouts, a.observer_acquisitions, a.observer_busy) == (
            b.acquisitions,
            b.contentions,
            b.timeouts,
            b.observer_acquisitions,
            b.observer_busy,
        )


def test_a_quiet_lock_costs_no_refresh_and_the_first_use_wakes_the_dock(
    qtbot: QtBot, dock: LocksDock, server: Server
) -> None:
    with server.lock("cache"):
        pass
    qtbot.waitUntil(lambda: _cell(dock, "cache", COL_ACQ) == "1")
    applied = dock.samples_applied
    qtbot.wait(1800)  # nothing happens: the dock slows down and refreshes nothing
    assert dock.samples_applied == applied
    assert dock._timer.base_interval() == locks_dock.QUIET_SAMPLE_MS
    with server.lock("cache"):
        pass
    qtbot.waitUntil(lambda: _cell(dock, "cache", COL_ACQ) == "2", timeout=2000)
    assert dock.samples_applied == applied + 1
    assert dock._timer.base_interval() == locks_dock.SAMPLE_MS


def test_the_studios_own_lock_use_is_apart_from_the_table(qtbot: QtBot, dock: LocksDock, server: Server) -> None:
    lock = server.lockable
    for _ in range(3):  # what the bridge does to copy a changed value
        assert lock.try_acquire_apart()
        lock.release_apart()
    with lock:
        pass
    dock.sample_now()
    assert _cell(dock, "global", COL_ACQ) == "1"
    tip = dock.summary.toolTip()
    assert "studio's own" in tip and "global: held 3 times" in tip
