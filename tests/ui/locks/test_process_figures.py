"""The per-process figures under the Locks table (attached): each process, then their sum, through Qt's model tester."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from desktop_app.engine.locks import TimeFigures
from desktop_app.engine.redis.fleet import LockFigures
from desktop_app.ui.bridge.fleet_locks import FleetLockable
from desktop_app.ui.locks.process_figures import SUM, ProcessFiguresModel, ProcessFiguresPanel


def _lock(alive_b: bool = True) -> FleetLockable:
    lk = FleetLockable("global")
    wait = TimeFigures(count=2, total=0.004, max=0.003, p50=0.001, p99=0.003)
    lk.set_figures(
        "a:1", LockFigures("global", 10, 2, 0, wait, TimeFigures(10, 0.01, 0.002, 0.001, 0.002), 0.004), 0.0
    )
    lk.set_figures(
        "b:2",
        LockFigures(
            "global", 30, 0, 1, TimeFigures(), TimeFigures(30, 0.03, 0.004, 0.001, 0.004), 0.0, ("w",)
        ),
        0.0,
    )
    lk.set_alive({"a:1": True, "b:2": alive_b})
    return lk


def test_each_process_then_the_sum(qtbot: Any, qtmodeltester: Any) -> None:
    model = ProcessFiguresModel()
    qtmodeltester.check(model)
    lk = _lock()
    model.show(lk.per_process, lk.stats())
    qtmodeltester.check(model)
    rows = model.row_texts()
    assert [r[0] for r in rows] == ["a:1", "b:2", SUM]
    assert rows[0][1:4] == ("10", "2", "20.0 %") and rows[1][1:4] == ("30", "0", "0.0 %")
    assert rows[2][1:4] == ("40", "2", "5.0 %") and rows[2][-1] == "1"  # b's waiting thread
    assert "upper bound" in model.index(2, 5).data(Qt.ItemDataRole.ToolTipRole)
    # a process stops: its row says so, in place
    lk2 = _lock(alive_b=False)
    model.show(lk2.per_process, lk2.stats())
    qtmodeltester.check(model)
    assert model.row_texts()[1][0] == "b:2 (stopped)"


def test_the_panel_is_as_tall_as_its_rows(qtbot: Any) -> None:
    panel = ProcessFiguresPanel()
    qtbot.addWidget(panel)
    panel.show_lock(None)
    short = panel.table.height()
    panel.show_lock(_lock())
    assert panel.title.text() == "'global' per process (2) and their sum"
    assert panel.table.height() > short  # three rows: no scroll bar hides the sum
