"""The Jobs dock against a real server: live counters, pause/resume, run now, edit (validated inline), remove, tracebacks, routes."""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from desktop_app.engine.server import Server
from desktop_app.ui.jobs.job_format import format_countdown, format_duration, format_seconds
from desktop_app.ui.jobs.jobs_dock import JobsDock
from desktop_app.ui.jobs.jobs_model import (
    COL_ERRORS,
    COL_LAST,
    COL_NAME,
    COL_NEXT,
    COL_RUNS,
    COL_STATE,
    COL_TRIGGER,
    JobRow,
    JobsModel,
)

# Qt's offscreen platform says this for every floating dock; it is not about our code.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def _cell(dock: JobsDock, name: str, column: int) -> str:
    row = dock.jobs_model.find(name)
    assert row >= 0, f"{name} not in the table"
    return str(dock.jobs_model.index(row, column).data())


def _select(qtbot: Any, dock: JobsDock, name: str) -> None:
    qtbot.waitUntil(lambda: dock.jobs_model.find(name) >= 0)
    assert dock.select_job(name)


def test_formatting() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0)
    assert format_countdown(now + timedelta(seconds=1.43), now) == "in 1.4 s"
    assert format_countdown(now + timedelta(seconds=75), now) == "in 1 min 15 s"
    assert format_countdown(now - timedelta(seconds=1), now) == "due"
    assert format_countdown(None, now) == "—"
    assert format_seconds(7260) == "2 h 1 min"
    assert format_duration(0.0032) == "3.2 ms" and format_duration(None) == "—"


def test_next_run_shows_before_the_server_starts(server: Server, dock: JobsDock) -> None:
    # Pode sets a timer's next run when it is added; the table shows it for a server not started yet.
    t = server.add_timer("later", 10, lambda e: None, skip=2)
    assert not server.running
    dock.set_server(server)
    assert re.fullmatch(r"in (29|30) s", _cell(dock, "later", COL_NEXT))
    row = dock.jobs_model.find("later")
    tip = dock.jobs_model.index(row, COL_NEXT).data(Qt.ItemDataRole.ToolTipRole)
    assert t.next_run is not None and tip in {
        f"{t.next_run + timedelta(seconds=d):%Y-%m-%d %H:%M:%S}" for d in (-1, 0)
    }


def test_table_shows_live_jobs_and_models_pass_the_tester(
    qtbot: Any, qtmodeltester: Any, server: Server, dock: JobsDock
) -> None:
    server.add_timer("fast", 0.05, lambda e: None)
    server.add_timer("slow", 30, lambda e: None, limit=3)
    server.add_schedule("nightly", "0 2 * * *", lambda e: None)
    dock.set_server(server)
    resets: list[int] = []
    inserts: list[int] = []
    dock.jobs_model.modelReset.connect(lambda: resets.append(1))
    dock.jobs_model.rowsInserted.connect(lambda *_: inserts.append(1))
    server.start()
    fast = server.timers.get("fast")
    assert fast is not None
    qtbot.waitUntil(lambda: fast.count >= 3)
    qtbot.waitUntil(lambda: int(_cell(dock, "fast", COL_RUNS)) >= 3)  # the 4 Hz sampler caught up
    assert dock.timer.isActive()
    assert _cell(dock, "fast", COL_TRIGGER) == "every 0.05 s"
    assert _cell(dock, "nightly", COL_TRIGGER) == "0 2 * * *"
    assert _cell(dock, "slow", COL_NEXT).startswith("in ")
    assert _cell(dock, "slow", COL_STATE) == "waiting"
    assert dock.jobs_model.rowCount() == 3
    server.add_timer("late", 10, lambda e: None)
    qtbot.waitUntil(lambda: dock.jobs_model.find("late") == 3)
    # Live samples update in place: the new job is one row insert, and there is never a reset.
    assert resets == [] and len(inserts) == 1
    qtmodeltester.check(dock.jobs_model)
    server.timers.remove("slow")
    dock.sample()
    assert dock.jobs_model.find("slow") < 0 and dock.jobs_model.rowCount() == 3
    qtmodeltester.check(dock.jobs_model)
    qtmodeltester.check(dock.routes_model)
    dock.hide()
    assert not dock.timer.isActive()  # no sampling while hidden


def test_pause_stops_ticks_and_resume_restarts(qtbot: Any, server: Server, dock: JobsDock) -> None:
    a = server.add_timer("a", 0.03, lambda e: None)
    b = server.add_timer("b", 0.03, lambda e: None)
    dock.set_server(server)
    server.start()
    qtbot.waitUntil(lambda: a.count >= 2)
    _select(qtbot, dock, "a")
    assert dock.pause_action.isEnabled() and not dock.resume_action.isEnabled()
    with qtbot.waitSignal(dock.action_finished):
        dock.pause_action.trigger()
    assert a.paused
    paused_at = a.count
    progress = b.count
    qtbot.waitUntil(lambda: b.count >= progress + 5)  # five intervals of the other timer went by
    assert a.count == paused_at
    qtbot.waitUntil(lambda: _cell(dock, "a", COL_STATE) == "paused")
    assert dock.resume_action.isEnabled() and not dock.pause_action.isEnabled()
    with qtbot.waitSignal(dock.action_finished):
        dock.resume_action.trigger()
    qtbot.waitUntil(lambda: a.count > paused_at)


def test_run_now_runs_once_off_the_gui_thread_without_counting(
    qtbot: Any, server: Server, dock: JobsDock
) -> None:
    threads: list[str] = []

    def job(e: Any) -> None:
        threads.append(threading.current_thread().name)
        e.state.set("ran", len(threads))

    t = server.add_timer("hourly", 3600, job)
    dock.set_server(server)
    server.start()
    _select(qtbot, dock, "hourly")
    with qtbot.waitSignal(dock.action_finished) as sig:
        dock.run_now_action.trigger()
    assert sig.args[0] == "hourly" and "Ran 'hourly'" in sig.args[1]
    assert server.state.get("ran") == 1 and len(threads) == 1
    assert threads[0] == "run-now-hourly"  # a worker named for the job, not the GUI thread
    assert t.count == 0  # invoke does not count toward the limit


def test_invalid_interval_is_refused_inline_and_changes_nothing(
    qtbot: Any, server: Server, dock: JobsDock
) -> None:
    t = server.add_timer("tick", 2, lambda e: None)
    dock.set_server(server)
    _select(qtbot, dock, "tick")
    dialog = dock.edit_selected()
    assert dialog is not None and dialog.field.text() == "2"
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)

    dialog.field.setText("0")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error.isVisible())
    assert "Interval must be greater than 0" in dialog.error.text()
    assert t.interval == 2 and dialog.isVisible()

    dialog.field.setText("soon")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert "not a number" in dialog.error.text() and t.interval == 2

    dialog.field.setText("0.5")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dock.edit_dialog is None)  # accepted and closed
    assert t.interval == 0.5
    qtbot.waitUntil(lambda: _cell(dock, "tick", COL_TRIGGER) == "every 0.5 s")


def test_invalid_cron_is_refused_inline_and_changes_nothing(
    qtbot: Any, server: Server, dock: JobsDock
) -> None:
    s = server.add_schedule("report", "0 2 * * *", lambda e: None)
    dock.set_server(server)
    _select(qtbot, dock, "report")
    dialog = dock.edit_selected()
    assert dialog is not None and dialog.field.text() == "0 2 * * *"
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.field.setText("61 * * * *")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error.isVisible())
    assert "[Schedule] report" in dialog.error.text()
    assert s.sources == ["0 2 * * *"]
    dialog.field.setText("*/5 * * * * | @hourly")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dock.edit_dialog is None)
    assert s.sources == ["*/5 * * * *", "@hourly"]


def test_remove_takes_the_job_off_the_server_and_the_table(
    qtbot: Any, server: Server, dock: JobsDock
) -> None:
    server.add_timer("doomed", 5, lambda e: None)
    server.add_timer("kept", 5, lambda e: None)
    dock.set_server(server)
    _select(qtbot, dock, "doomed")
    with qtbot.waitSignal(dock.action_finished):
        dock.remove_action.trigger()
    assert not server.timers.test("doomed")
    assert dock.jobs_model.find("doomed") < 0 and dock.jobs_model.find("kept") >= 0


def test_error_count_opens_the_last_traceback(qtbot: Any, server: Server, dock: JobsDock) -> None:
    calls = [0]

    def flaky(e: Any) -> None:
        calls[0] += 1
        raise RuntimeError(f"kaput #{calls[0]}")

    t = server.add_timer("flaky", 0.05, flaky, limit=2)
    dock.set_server(server)
    server.start()
    qtbot.waitUntil(lambda: t.completed and t.running == 0 and t.errors == 2)
    qtbot.waitUntil(lambda: _cell(dock, "flaky", COL_ERRORS) == "2")
    assert _cell(dock, "flaky", COL_STATE) == "failed"
    index = dock.jobs_model.index(dock.jobs_model.find("flaky"), COL_ERRORS)
    rect = dock.jobs_view.visualRect(index)
    qtbot.mouseClick(dock.jobs_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    dialog = dock.traceback_dialog
    assert dialog is not None and dialog.isVisible()
    text = dialog.text.toPlainText()
    assert "Traceback" in text and "RuntimeError: kaput #2" in text
    assert dialog.text.isReadOnly()
    assert dialog.text.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    # A click elsewhere on the row opens nothing.
    dialog.close()
    name_rect = dock.jobs_view.visualRect(dock.jobs_model.index(index.row(), COL_NAME))
    qtbot.mouseClick(dock.jobs_view.viewport(), Qt.MouseButton.LeftButton, pos=name_rect.center())
    assert dock.traceback_dialog is None


def test_failed_clears_after_a_good_run(qtbot: Any, server: Server, dock: JobsDock) -> None:
    fail = threading.Event()
    fail.set()

    def job(e: Any) -> None:
        if fail.is_set():
            raise ValueError("bad")

    t = server.add_timer("sometimes", 0.05, job)
    dock.set_server(server)
    server.start()
    qtbot.waitUntil(lambda: _cell(dock, "sometimes", COL_STATE) == "failed")
    fail.clear()
    errors = t.errors
    qtbot.waitUntil(lambda: t.count > errors + 2)
    qtbot.waitUntil(lambda: _cell(dock, "sometimes", COL_STATE) in ("waiting", "running"))


def test_routes_table_counts_real_requests(
    qtbot: Any, qtmodeltester: Any, server: Server, dock: JobsDock
) -> None:
    server.add_endpoint("127.0.0.1", 0)
    server.add_route("GET", "/hello", lambda e: {"hi": 1})

    def broken(e: Any) -> None:
        raise KeyError("nope")

    server.add_route("POST", "/broken", broken)
    dock.set_server(server)
    server.start()
    url = server.endpoints[0].url.rstrip("/")
    for _ in range(3):
        with urllib.request.urlopen(f"{url}/hello", timeout=5) as reply:
            assert reply.status == 200
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(urllib.request.Request(f"{url}/broken", data=b"x", method="POST"), timeout=5)
    model = dock.routes_model

    def row(path: str) -> list[str]:
        for r in range(model.rowCount()):
            if model.index(r, 1).data() == path:
                return [str(model.index(r, c).data()) for c in range(model.columnCount())]
        return []

    qtbot.waitUntil(lambda: row("/hello")[2:4] == ["3", "0"] and row("/broken")[2:4] == ["1", "1"])
    assert row("/hello")[0] == "GET" and row("/hello")[4].endswith("s")  # a p50 latency is shown
    qtmodeltester.check(model)
    index = next(model.index(r, 3) for r in range(model.rowCount()) if model.index(r, 1).data() == "/broken")
    qtbot.mouseClick(
        dock.routes_view.viewport(),
        Qt.MouseButton.LeftButton,
        pos=dock.routes_view.visualRect(index).center(),
    )
    assert dock.traceback_dialog is not None and "nope" in dock.traceback_dialog.text.toPlainText()


def test_run_now_on_a_paused_timer_updates_last_run(qtbot: Any, server: Server, dock: JobsDock) -> None:
    t = server.add_timer("hourly", 3600, lambda e: None)
    dock.set_server(server)
    server.start()
    server.timers.pause("hourly")
    _select(qtbot, dock, "hourly")
    qtbot.waitUntil(lambda: _cell(dock, "hourly", COL_STATE) == "paused")
    assert _cell(dock, "hourly", COL_LAST) == "—"
    before = datetime.now()
    with qtbot.waitSignal(dock.action_finished):
        dock.run_now_action.trigger()
    assert _cell(dock, "hourly", COL_LAST).endswith(" ago")
    row = dock.jobs_model.rows()[dock.jobs_model.find("hourly")]
    assert row.last_run is not None and row.last_run >= before
    tip = dock.jobs_model.index(dock.jobs_model.find("hourly"), COL_LAST).data(Qt.ItemDataRole.ToolTipRole)
    assert "Run now" in tip
    assert t.count == 0 and t.last_run is None  # the engine keeps Pode's meaning of invoke


def test_a_status_line_does_not_survive_a_server_switch(qtbot: Any, server: Server, dock: JobsDock) -> None:
    server.add_timer("forever", 3600, lambda e: None)
    dock.set_server(server)
    server.start()
    _select(qtbot, dock, "forever")
    with qtbot.waitSignal(dock.action_finished):
        dock.pause_action.trigger()
    assert "Paused 'forever'" in dock.status.text()
    other = Server()
    try:
        dock.set_server(other)
        assert dock.status.text().strip() == ""
    finally:
        dock.set_server(None)
        other.stop()


def test_docked_wide_and_low_the_routes_go_beside_the_jobs(qtbot: Any, dock: JobsDock) -> None:
    splitter = dock._splitter
    dock.resize(1300, 230)
    qtbot.waitUntil(lambda: splitter.orientation() == Qt.Orientation.Horizontal)
    jobs_width, routes_width = splitter.sizes()
    needed = sum(dock.jobs_view.columnWidth(c) for c in range(dock.jobs_model.columnCount()))
    assert jobs_width >= needed and routes_width > 0
    dock.resize(500, 600)
    qtbot.waitUntil(lambda: splitter.orientation() == Qt.Orientation.Vertical)


def test_a_countdown_tick_signals_only_the_cells_that_changed(qtbot: Any) -> None:
    model = JobsModel()
    cells = ("tick", "waiting", "in 1.9 s", "3", "0", "every 2 s", "∞", "0.1 s ago", "1.0 ms", "timer")
    model.update_rows([JobRow(("timer", "tick"), cells)])
    later = list(cells)
    later[COL_NEXT], later[COL_LAST] = "in 1.4 s", "0.6 s ago"
    signals: list[tuple[int, int, int]] = []
    model.dataChanged.connect(lambda a, b, _roles=(): signals.append((a.row(), a.column(), b.column())))
    model.update_rows([JobRow(("timer", "tick"), tuple(later))])
    assert signals == [(0, COL_NEXT, COL_NEXT), (0, COL_LAST, COL_LAST)]  # not the row in between
