"""What the line under the tree says after an edit, its undo and its redo; paths and names quoted one way."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from desktop_app.engine.server import Server
from desktop_app.ui.tree.add_entry_dialog import AddEntryDialog
from desktop_app.ui.tree.state_model import NAME, VALUE
from desktop_app.ui.tree.state_view import StateView
from tests.ui.tree.view_helpers import click_ok, open_editor, select, settle, type_and_enter

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


def test_messages_write_paths_as_paths_and_names_in_double_quotes(
    qtbot: Any, view: StateView, server: Server
) -> None:
    # a new dict key: its path, as Copy path writes it
    select(qtbot, view, ("hash",))
    view.edit.add_child.trigger()
    dialog = view.active_dialog
    assert isinstance(dialog, AddEntryDialog) and dialog.name_edit is not None
    dialog.name_edit.setText("new key")
    dialog.value_edit.setPlainText("true")
    click_ok(dialog)
    qtbot.waitUntil(lambda: view.message_text() == 'Done: Add hash["new key"]')
    # a rename: the path, then the new name
    editor = open_editor(qtbot, view, ("hash", "meta", "owner"), NAME)
    type_and_enter(qtbot, editor, "by")
    qtbot.waitUntil(lambda: view.message_text() == 'Done: Rename hash["meta"]["owner"] to "by"')
    # a taken key is named by its path; a taken entry name in double quotes
    editor = open_editor(qtbot, view, ("hash", "values"), NAME)
    type_and_enter(qtbot, editor, "meta")
    qtbot.waitUntil(lambda: view.message_text().startswith('⚠ hash["meta"] already exists'))
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    editor = open_editor(qtbot, view, ("title",), NAME)
    type_and_enter(qtbot, editor, "Count")
    qtbot.waitUntil(lambda: view.message_text().startswith('⚠ An entry named "Count" already exists'))
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    # refused input is quoted the same way
    editor = open_editor(qtbot, view, ("count",), VALUE)
    type_and_enter(qtbot, editor, "x1")
    qtbot.waitUntil(lambda: view.message_text().startswith('⚠ "x1" is not a whole number'))
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    # a value set in place reads as JSON, like the tree shows it
    editor = open_editor(qtbot, view, ("title",), VALUE)
    type_and_enter(qtbot, editor, "bye")
    qtbot.waitUntil(lambda: view.message_text() == 'Done: Set title to "bye"')
    settle(qtbot, view)
    assert "“" not in view.undo_stack.text(1) and "“" not in view.undo_stack.text(2)
