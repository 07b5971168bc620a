"""The Slow waits tab: the list holds still while a row is read; stacks show the person's frames, library frames folded."""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop_app.engine.locks import SlowWait, clock
from desktop_app.ui.locks.slow_waits_panel import SlowWaitsPanel

ENGINE_FRAME = (
    '  File "/opt/app/desktop_app/engine/jobs.py", line 85, in guarded_call\n    result = fn(e, *args)\n'
)
USER_FRAME = '  File "/home/ann/shop/server.py", line 27, in place_order\n    with e.server.lock("orders"):\n'
LOCK_FRAME = (
    '  File "/opt/app/desktop_app/engine/locks.py", line 300, in acquire\n    got = self._lock.acquire()\n'
)


def thread_frames() -> list[str]:
    """A real stack from a thread: it starts in the standard library's threading.py."""
    out: list[list[str]] = []
    t = threading.Thread(target=lambda: out.append(traceback.format_stack()))
    t.start()
    t.join()
    return [f for f in out[0] if "threading.py" in f]


@dataclass
class FakeLockable:
    """What the panel reads of a lockable: its ring of slow waits."""

    slow_waits: list[SlowWait] = field(default_factory=list)

    def wait(self, thread: str, stack: list[str] | None = None) -> SlowWait:
        w = SlowWait("orders", thread, 0.05, clock(), "holder", "server.py:9", stack or [USER_FRAME], [])
        self.slow_waits.append(w)
        return w


@pytest.fixture
def panel(qtbot: QtBot) -> SlowWaitsPanel:
    p = SlowWaitsPanel()
    qtbot.addWidget(p)
    p.resize(900, 500)
    p.show()
    qtbot.waitExposed(p)
    return p


def selected_wait(panel: SlowWaitsPanel) -> Any:
    index = panel.slow_table.currentIndex()
    return panel.slow_model.wait_at(index.row()) if index.isValid() else None


def test_the_list_holds_still_while_a_row_is_selected(qtbot: QtBot, panel: SlowWaitsPanel) -> None:
    lk = FakeLockable()
    for i in range(3):
        lk.wait(f"w{i}")
    panel.collect([lk])  # type: ignore[list-item]
    assert panel.slow_model.rowCount() == 3 and not panel.new_button.isVisible()
    row = panel.slow_model.index(1, 0)
    qtbot.mouseClick(
        panel.slow_table.viewport(), Qt.MouseButton.LeftButton, pos=panel.slow_table.visualRect(row).center()
    )
    reading = selected_wait(panel)
    assert reading is not None and panel.slow_table.currentIndex().row() == 1
    lk.wait("late-1")
    lk.wait("late-2")
    panel.collect([lk])  # type: ignore[list-item]
    # nothing moved under the person's eyes; the new ones are counted
    assert panel.slow_model.rowCount() == 3 and panel.slow_table.currentIndex().row() == 1
    assert selected_wait(panel) is reading
    assert panel.new_button.isVisible() and panel.new_button.text() == "2 new — show"
    # a click shows them at the top, and the row being read stays selected
    qtbot.mouseClick(panel.new_button, Qt.MouseButton.LeftButton)
    assert panel.slow_model.rowCount() == 5 and not panel.new_button.isVisible()
    assert [panel.slow_model.wait_at(r).thread for r in range(2)] == ["late-2", "late-1"]
    assert selected_wait(panel) is reading
    # held again, then Esc in the list (done reading) clears the selection and shows them
    lk.wait("late-3")
    panel.collect([lk])  # type: ignore[list-item]
    assert panel.held_count() == 1 and panel.slow_model.rowCount() == 5
    panel.slow_table.setFocus()
    qtbot.keyClick(panel.slow_table, Qt.Key.Key_Escape)
    assert panel.slow_model.rowCount() == 6 and panel.held_count() == 0
    assert panel.slow_model.wait_at(0).thread == "late-3"
    # and with nothing selected, new waits go straight in
    lk.wait("late-4")
    panel.collect([lk])  # type: ignore[list-item]
    assert panel.slow_model.rowCount() == 7 and not panel.new_button.isVisible()
