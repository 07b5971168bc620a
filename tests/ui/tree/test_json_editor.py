"""The JSON value box in the add dialogs: typing replaces the prefilled null; Ctrl+Enter accepts."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from desktop_app.ui.tree.add_entry_dialog import AddEntryDialog


def test_typing_replaces_the_prefilled_null_and_ctrl_enter_accepts(qtbot: Any) -> None:
    dialog = AddEntryDialog("Add entry", lambda name: False)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.name_edit is not None
    dialog.name_edit.setFocus()
    qtbot.keyClicks(dialog.name_edit, "orders")
    qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Tab)
    qtbot.waitUntil(dialog.value_edit.hasFocus)
    qtbot.keyClicks(dialog.value_edit, "[1, 2, 3]")
    assert dialog.value_edit.toPlainText() == "[1, 2, 3]"
    qtbot.keyClick(dialog.value_edit, Qt.Key.Key_Return)  # a newline: JSON may span lines
    assert dialog.result() == 0 and dialog.isVisible()
    qtbot.keyClick(dialog.value_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.result() == 1
    assert dialog.result_entry() == ("orders", [1, 2, 3], [])


def test_ctrl_enter_with_bad_json_is_refused_inline(qtbot: Any) -> None:
    dialog = AddEntryDialog("Add entry", lambda name: False)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.name_edit is not None
    dialog.name_edit.setText("x")
    dialog.value_edit.setFocus()
    qtbot.keyClicks(dialog.value_edit, "[1, 2")
    qtbot.keyClick(dialog.value_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.isVisible() and dialog.error_label.isVisible()
    assert "line" in dialog.error_label.text().lower() or "column" in dialog.error_label.text().lower()
