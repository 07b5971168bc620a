"""What the line under the tree says after an edit, its undo and its redo; paths and names quoted one way."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from desktop_app.engine.server import Server
from desktop_app.ui.tree.state_view import StateView
from tests.ui.tree.view_helpers import select

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def test_undo_and_redo_say_undone_and_redone(qtbot: Any, view: StateView, server: Server) -> None:
    select(qtbot, view, ("hash", "values", 0))
    qtbot.keyClick(view.tree, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: view.message_text() == 'Done: Remove hash["values"][0]')
    view.undo_stack.undo()
    qtbot.waitUntil(lambda: view.message_text() == 'Undone: Remove hash["values"][0]')
    assert server.state.get("hash")["values"] == [1, 2, 3]
    view.undo_stack.redo()
    qtbot.waitUntil(lambda: view.message_text() == 'Redone: Remove hash["values"][0]')
    assert server.state.get("hash")["values"] == [2, 3]
    view.undo_stack.undo()
    qtbot.waitUntil(lambda: view.message_text().startswith("Undone: "))
