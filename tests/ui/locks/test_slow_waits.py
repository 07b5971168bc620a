"""The Slow waits tab: the list holds still while a row is read; stacks show the person's frames, library frames folded."""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from pytestqt.qtbot import QtBot

from desktop_app.engine.locks import SlowWait, clock
from desktop_app.ui.locks.slow_waits_panel import SlowWaitsPanel
from desktop_app.ui.locks.stack_frames import fold_stack, frame_file, library_kind

ENGINE_FRAME = (
    '  File "/opt/app/desktop_app/engine/jobs/job.py", line 85, in guarded_call\n    result = fn(e, *args)\n'
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


def test_library_frames_fold_and_the_persons_frames_stay_in_order() -> None:
    stack = [*thread_frames(), ENGINE_FRAME, USER_FRAME, LOCK_FRAME]
    assert library_kind(frame_file(stack[0])) == "threading"
    assert library_kind(frame_file(ENGINE_FRAME)) == "desktop_app.engine"
    assert library_kind(frame_file(USER_FRAME)) is None
    folded = fold_stack(stack)
    assert folded.shown == (USER_FRAME,)
    assert folded.hidden == len(stack) - 1 and folded.kinds == ("threading", "desktop_app.engine")
    # nothing of the person's: the whole stack, rather than nothing
    assert fold_stack([ENGINE_FRAME, LOCK_FRAME]).shown == (ENGINE_FRAME, LOCK_FRAME)


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


def test_stacks_show_the_persons_frames_first_and_fold_the_rest(qtbot: QtBot, panel: SlowWaitsPanel) -> None:
    lk = FakeLockable()
    lk.wait("worker", [*thread_frames(), ENGINE_FRAME, USER_FRAME, LOCK_FRAME])
    panel.collect([lk])  # type: ignore[list-item]
    panel.slow_table.selectionModel().setCurrentIndex(
        panel.slow_model.index(0, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    text = panel.waiter_stack.toPlainText()
    lines = text.splitlines()
    assert lines[1] == USER_FRAME.splitlines()[0]  # right under the heading: the person's code
    assert "threading.py" not in text and "desktop_app/engine" not in text
    assert "library frames hidden (threading, desktop_app.engine)" in lines[-1]
    assert panel.waiter_stack.verticalScrollBar().value() == 0
    qtbot.mouseClick(panel.all_frames, Qt.MouseButton.LeftButton)
    text = panel.waiter_stack.toPlainText()
    assert "threading.py" in text and "desktop_app/engine/locks.py" in text and "hidden" not in text


def test_a_real_slow_wait_shows_the_waiting_code_first(qtbot: QtBot, panel: SlowWaitsPanel) -> None:
    from desktop_app.engine.locks import Lockable

    lock = Lockable("orders")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            held.set()
            release.wait(5)

    def wait_for_it() -> None:
        with lock:  # the frame the person wants to see
            pass

    old = Lockable.slow_wait_threshold
    Lockable.slow_wait_threshold = 0.01
    holder = threading.Thread(target=hold, name="holder")
    waiter = threading.Thread(target=wait_for_it, name="waiter")
    try:
        holder.start()
        assert held.wait(5)
        waiter.start()
        qtbot.waitUntil(lambda: lock.waiting() == ("waiter",))
        since = time.monotonic()
        qtbot.waitUntil(lambda: time.monotonic() - since > 0.03)  # past the 10 ms threshold: kept
        release.set()
        waiter.join(5)
        holder.join(5)
    finally:
        Lockable.slow_wait_threshold = old
        release.set()
    panel.collect([lock])
    assert panel.slow_model.rowCount() == 1
    panel.slow_table.selectRow(0)
    lines = panel.waiter_stack.toPlainText().splitlines()
    assert "test_slow_waits.py" in lines[1] and "in wait_for_it" in lines[1]
    assert not any("threading.py" in line for line in lines)
    assert "library frames hidden" in lines[-1] and "threading" in lines[-1]
