"""Typed in-place editors: an int stays an int, a float a float, a bool a bool; bad input is refused inline."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QEvent, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QComboBox,
    QLineEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
    QWidget,
)

from desktop_app.engine.diff import quote_name
from desktop_app.ui.bridge.entry_snapshot import strict_equal
from desktop_app.ui.common.value_text import scalar_text
from desktop_app.ui.tree.state_model import Role

Index = QModelIndex | QPersistentModelIndex


class InputError(ValueError):
    """Text an editor cannot turn into a value of the edited type; the message says what is expected."""


def parse_value(kind: str, text: str) -> Any:
    """``text`` as a value of ``kind`` ("int", "float", "bool", "str"), or InputError."""
    if kind == "str":
        return text
    s = text.strip()
    if kind == "int":
        try:
            return int(s, 10)
        except ValueError:
            raise InputError(
                f"{quote_name(text)} is not a whole number: this value is an int. "
                "Use Change type… to store another type."
            ) from None
    if kind == "float":
        try:
            value = float(s)
        except ValueError:
            raise InputError(
                f"{quote_name(text)} is not a number: this value is a float (e.g. 1.5, 2e-3, NaN, Infinity)."
            ) from None
        if math.isnan(value) and s.lower() not in ("nan", "+nan", "-nan"):
            raise InputError(f"{quote_name(text)} is not a number")
        return value
    if kind == "bool":
        if s in ("True", "true", "1"):
            return True
        if s in ("False", "false", "0"):
            return False
        raise InputError(f"{quote_name(text)} is not true or false")
    raise InputError(f"values of this type cannot be edited in place ({kind})")


class ValueDelegate(QStyledItemDelegate):
    """Chooses the editor from ``Role.EDIT_KIND``; commits through signals, never by writing the model.

    The view turns ``value_committed``/``name_committed`` into undoable commands that apply off the
    GUI thread; the tree shows the new value when the engine has it.
    """

    value_committed = Signal(QPersistentModelIndex, object)
    name_committed = Signal(QPersistentModelIndex, str)
    input_refused = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name_checker: Any = None
        """Optional ``fn(index, new_name) -> str | None``: an error message for a bad name (duplicate…)."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget | None:
        kind = index.data(Role.EDIT_KIND)
        if kind is None:
            return None
        if kind == "bool":
            combo = QComboBox(parent)
            combo.addItems(["true", "false"])  # JSON, as the tree shows bools
            combo.setObjectName("value_editor")
            combo.setProperty("edit_kind", kind)
            return combo
        editor = QLineEdit(parent)
        editor.edit_index = QPersistentModelIndex(index)  # type: ignore[attr-defined]  # for the Enter check
        editor.setObjectName("name_editor" if kind == "name" else "value_editor")
        editor.setProperty("edit_kind", kind)
        editor.setFrame(False)
        tips = {
            "int": "A whole number (int). Enter commits, Esc cancels.",
            "float": "A number (float). Enter commits, Esc cancels.",
            "str": "Text (str). Enter commits, Esc cancels.",
            "name": "A new name (not empty, not taken). Enter commits, Esc cancels.",
        }
        editor.setPlaceholderText(tips.get(kind, "").split(".")[0])
        editor.setToolTip(tips.get(kind, ""))
        return editor

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        kind = editor.property("edit_kind")
        value = index.data(Qt.ItemDataRole.EditRole)
        if isinstance(editor, QComboBox):
            editor.setCurrentIndex(0 if value is True else 1)
        elif isinstance(editor, QLineEdit):
            if kind == "float" and isinstance(value, float):
                editor.setText(scalar_text(value))  # as the cell shows it: 1.5, NaN, Infinity
            else:
                editor.setText("" if value is None else str(value))
            editor.selectAll()

    def check(self, editor: QWidget, index: Index) -> tuple[Any, str | None]:
        """(the parsed value, None) or (None, an error message)."""
        kind = editor.property("edit_kind")
        if isinstance(editor, QComboBox):
            return editor.currentIndex() == 0, None
        assert isinstance(editor, QLineEdit)
        text = editor.text()
        if kind == "name":
            if not text.strip():
                return None, "A name cannot be empty."
            if self.name_checker is not None:
                problem = self.name_checker(index, text)
                if problem:
                    return None, problem
            return text, None
        try:
            return parse_value(kind, text), None
        except InputError as err:
            return None, str(err)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        value, problem = self.check(editor, index)
        if problem is not None:
            self.refuse(editor, problem)
            return
        kind = editor.property("edit_kind")
        current = index.data(Qt.ItemDataRole.EditRole)
        if kind == "name":
            if value != current:
                self.name_committed.emit(QPersistentModelIndex(index), value)
            return
        if strict_equal(value, current):
            return  # unchanged (0.0 -> -0.0 is a change, nan -> nan is not)
        self.value_committed.emit(QPersistentModelIndex(index), value)

    def refuse(self, editor: QWidget, message: str) -> None:
        """Say why the input was refused, next to the editor; nothing changes."""
        if QGuiApplication.platformName() != "offscreen":  # offscreen cannot raise() a tooltip window
            QToolTip.showText(editor.mapToGlobal(editor.rect().bottomLeft()), message, editor)
        self.input_refused.emit(message)

    def eventFilter(self, editor: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(editor, QLineEdit)
            and isinstance(event, QKeyEvent)
        ):
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                index = getattr(editor, "edit_index", None)
                if isinstance(index, QPersistentModelIndex) and index.isValid():
                    _value, problem = self.check(editor, index)
                    if problem is not None:
                        # Keep the editor open with the text, so the person can fix it.
                        self.refuse(editor, problem)
                        return True
                    # Commit now, not through Qt's queued commit: a live update or a selection
                    # change landing in between closes the editor first, and the late commit
                    # then names an editor the view no longer has.
                    self.commitData.emit(editor)
                    self.closeEditor.emit(editor, QAbstractItemDelegate.EndEditHint.SubmitModelCache)
                    return True
        return super().eventFilter(editor, event)
