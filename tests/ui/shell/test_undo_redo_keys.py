"""Undo and Redo by keyboard on a shown main window, also under X11's key scheme (where Redo is Ctrl+Shift+Z)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence, QUndoCommand
from PySide6.QtWidgets import QApplication

from desktop_app.ui.shell import main_window as mw
from desktop_app.ui.shell.main_window import MainWindow

X11 = {QKeySequence.StandardKey.Redo: ("Ctrl+Shift+Z",), QKeySequence.StandardKey.Undo: ("Ctrl+Z",)}


class X11KeySequence(QKeySequence):
    """QKeySequence as Qt's xcb platform answers it: Redo is Ctrl+Shift+Z (the offscreen platform says Ctrl+Y)."""

    def __init__(self, *args: Any) -> None:
        if len(args) == 1 and args[0] in X11:
            super().__init__(X11[args[0]][0])
        else:
            super().__init__(*args)

    @staticmethod
    def keyBindings(key: QKeySequence.StandardKey) -> list[QKeySequence]:
        if key in X11:
            return [QKeySequence(k) for k in X11[key]]
        return QKeySequence.keyBindings(key)


class Count(QUndoCommand):
    def __init__(self, done: list[int]) -> None:
        super().__init__("count")
        self.done = done

    def redo(self) -> None:
        self.done[0] += 1

    def undo(self) -> None:
        self.done[0] -= 1


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    lp = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(lp)
    yield lp
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


@pytest.fixture(params=["platform", "x11"])
def window(
    request: pytest.FixtureRequest,
    qtbot: Any,
    tmp_path: Path,
    loop: asyncio.AbstractEventLoop,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[MainWindow]:
    if request.param == "x11":
        monkeypatch.setattr(mw, "QKeySequence", X11KeySequence)
    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


@pytest.mark.parametrize("key", ["Ctrl+Shift+Z", "Ctrl+Y"])
def test_redo_keys_redo_once(qtbot: Any, window: MainWindow, key: str) -> None:
    done = [0]
    window.undo_stack.push(Count(done))
    window.activateWindow()
    window.view.tree.setFocus()
    qtbot.waitUntil(window.view.tree.hasFocus)
    qtbot.keyClick(window.view.tree, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: done[0] == 0)
    seq = QKeySequence(key)[0]
    # A sequence registered twice makes Qt log "Ambiguous shortcut overload" (a test failure here) and do nothing.
    qtbot.keyClick(window.view.tree, seq.key(), seq.keyboardModifiers())
    qtbot.waitUntil(lambda: done[0] == 1)
    assert window.undo_stack.index() == 1
    keys = [k.toString() for k in window.redo_action.shortcuts()]
    assert len(keys) == len(set(keys)) and {"Ctrl+Shift+Z", "Ctrl+Y"} <= set(keys)
