"""The Processes dock: the model passes Qt's model tester before and after updates; rows say alive or stopped."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from desktop_app.engine.redis.fleet import LockFigures
from desktop_app.ui.bridge.fleet_monitor import STALE, ProcessInfo
from desktop_app.ui.processes.processes_dock import NOT_ATTACHED, ProcessesDock
from desktop_app.ui.processes.processes_model import (
    COL_HOLDING,
    COL_JOBS,
    COL_RUNS,
    COL_STATUS,
    ProcessesModel,
)

JOBS = (
    {"kind": "timer", "name": "forever", "count": 7, "errors": 1},
    {"kind": "route", "name": "GET /", "count": 3, "errors": 0},
    {"kind": "route", "name": "DELETE /", "count": 0, "errors": 0},
)


def info(key: str, *, silent: float = 0.0, gone: bool = False, holding: tuple[str, ...] = ()) -> ProcessInfo:
    host, pid = key.split(":")
    return ProcessInfo(
        key,
        host,
        int(pid),
        "/srv/demo/server.py",
        1_700_000_000.0,
        1_700_000_100.0,
        silent,
        gone,
        JOBS,
        (LockFigures("global", 3),),
        holding,
    )


def test_the_model_updates_in_place_and_passes_the_model_tester(qtmodeltester: Any) -> None:
    model = ProcessesModel()
    qtmodeltester.check(model)
    model.update_processes([info("web-1:10"), info("web-2:20", holding=("global",))])
    qtmodeltester.check(model)
    assert model.rowCount() == 2 and model.alive_count() == 2
    text = [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(2)]
    assert text[0][0] == "web-1:10" and text[0][COL_STATUS] == "● alive"
    assert text[0][COL_JOBS] == "1 timer · 2 routes" and text[0][COL_RUNS] == "10"
    assert text[1][COL_HOLDING] == "global"
    changed: list[Any] = []
    model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row())))
    inserted: list[Any] = []
    model.rowsInserted.connect(lambda *a: inserted.append(a))
    resets: list[Any] = []
    model.modelReset.connect(lambda: resets.append(1))
    # one stops beating, one exits cleanly, one is new: updates in place, no reset
    model.update_processes(
        [info("web-1:10", silent=STALE + 1), info("web-2:20", gone=True), info("web-3:30")]
    )
    qtmodeltester.check(model)
    assert sorted(changed) == [(0, 0), (1, 1)] and len(inserted) == 1 and not resets
    assert model.index(0, COL_STATUS).data() == f"✕ stopped beating ({STALE + 1:.0f} s)"
    assert model.index(1, COL_STATUS).data() == "✕ stopped"
    assert "heartbeat key is gone" in model.index(1, COL_STATUS).data(Qt.ItemDataRole.ToolTipRole)
    assert model.alive_count() == 1
    model.update_processes([info("web-3:30")])
    qtmodeltester.check(model)
    assert [model.index(r, 0).data() for r in range(model.rowCount())] == ["web-3:30"]


def test_the_dock_says_what_it_is_attached_to_and_reports_the_selection(qtbot: Any) -> None:
    dock = ProcessesDock()
    qtbot.addWidget(dock)
    assert dock.summary.text() == NOT_ATTACHED
    dock.set_attached("redis://127.0.0.1:6379/0 · namespace 'shop'")
    assert "No process beats on redis://127.0.0.1:6379/0 · namespace 'shop'" in dock.summary.text()
    dock.show_processes([info("web-1:10"), info("web-2:20", gone=True)])
    assert dock.summary.text().startswith("1 process alive, 1 stopped on redis://")
    with qtbot.waitSignal(dock.process_selected) as blocker:
        assert dock.select_process("web-2:20")
    assert blocker.args == ["web-2:20"] and dock.selected_process() == "web-2:20"
    dock.set_attached(None)
    assert dock.model.rowCount() == 0 and dock.summary.text() == NOT_ATTACHED
