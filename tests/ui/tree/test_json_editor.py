"""The JSON value box in the add dialogs: typing replaces the prefilled null, Ctrl+Enter accepts and the dialog says so, errors are checked as you type."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel

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


def test_the_dialog_says_which_key_accepts(qtbot: Any) -> None:
    for dialog in (
        AddEntryDialog("Add entry", lambda name: False),
        AddEntryDialog("Append to x", lambda name: False, key_label=None, with_scope=False),
    ):
        qtbot.addWidget(dialog)
        dialog.show()
        hints = [w.text() for w in dialog.findChildren(QLabel) if w.isVisible() and "Ctrl+Enter" in w.text()]
        assert hints and "Enter starts a new line" in hints[0]


def test_a_fixed_json_error_goes_away_while_typing(qtbot: Any) -> None:
    dialog = AddEntryDialog("Add entry", lambda name: False)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.name_edit is not None
    dialog.name_edit.setText("x")
    dialog.activateWindow()
    dialog.value_edit.setFocus()
    qtbot.waitUntil(dialog.value_edit.hasFocus)
    qtbot.keyClicks(dialog.value_edit, "[1, 2")
    assert dialog.value_edit.toPlainText() == "[1, 2"
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.isVisible() and dialog.error_label.isVisible()
    qtbot.keyClick(dialog.value_edit, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(dialog.value_edit, "]")
    qtbot.waitUntil(lambda: not dialog.error_label.isVisible())  # without pressing OK again
    assert dialog.isVisible() and dialog.result() == 0
    # a new mistake shows by itself too, and a refused name is not cleared by the JSON check
    qtbot.keyClicks(dialog.value_edit, ",")
    qtbot.waitUntil(dialog.error_label.isVisible)
    assert "Line 1" in dialog.error_label.text()
    qtbot.keyClick(dialog.value_edit, Qt.Key.Key_Backspace)
    qtbot.waitUntil(lambda: not dialog.error_label.isVisible())
    dialog.name_edit.clear()
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    assert "cannot be empty" in dialog.error_label.text()
    qtbot.keyClicks(dialog.value_edit, " ")
    assert dialog.json_check.pending()
    qtbot.waitUntil(lambda: not dialog.json_check.pending())  # the check ran: the name's message stays
    assert dialog.error_label.isVisible() and "cannot be empty" in dialog.error_label.text()
    qtbot.keyClicks(dialog.name_edit, "y")
    assert not dialog.error_label.isVisible()
