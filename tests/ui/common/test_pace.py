"""Live views refresh at full pace while the studio is in use and at half pace in the background."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desktop_app.ui.common import pace
from desktop_app.ui.common.pace import BACKGROUND_SLOWDOWN, PacedTimer


def test_a_paced_timer_slows_down_in_the_background_and_back(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    background = [True]
    monkeypatch.setattr(pace, "in_background", lambda: background[0])
    timer = PacedTimer(500)
    assert timer.interval() == 500 * BACKGROUND_SLOWDOWN and timer.base_interval() == 500
    timer.start()
    background[0] = False
    app.applicationStateChanged.emit(Qt.ApplicationState.ApplicationActive)
    assert timer.interval() == 500 and timer.isActive()
    timer.set_base_interval(125)
    assert timer.interval() == 125
    background[0] = True
    app.applicationStateChanged.emit(Qt.ApplicationState.ApplicationInactive)
    assert timer.interval() == 125 * BACKGROUND_SLOWDOWN
    timer.stop()
