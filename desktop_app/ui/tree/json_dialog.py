"""Edit as JSON: a text editor that validates as you type and, on a syntax error, points at line and column."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QFocusEvent, QFontDatabase, QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop_app.ui.common.value_text import json_lossy_parts, to_json_text

CHECK_MS = 400
"""After typing pauses this long the JSON is checked again: a new error shows, a fixed one goes away."""
ENTER_HINT = "Enter starts a new line; Ctrl+Enter is OK."


class JsonInputError(ValueError):
    """Text that is not JSON: ``line``/``column`` are 1-based, ``pos`` is a Python string index."""

    def __init__(self, message: str, line: int, column: int, pos: int) -> None:
        super().__init__(f"Line {line}, column {column}: {message}")
        self.line = line
        self.column = column
        self.pos = pos


def parse_json(text: str) -> Any:
    """``text`` as JSON, or JsonInputError naming the line and column of the problem."""
    if not text.strip():
        raise JsonInputError("no value (write null for None)", 1, 1, 0)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise JsonInputError(err.msg, err.lineno, err.colno, err.pos) from None


def qt_position(text: str, pos: int) -> int:
    """A Python string index as a QTextCursor position (Qt counts UTF-16 code units)."""
    return len(text[:pos].encode("utf-16-le")) // 2


def show_json_error(editor: QPlainTextEdit, label: QLabel, err: JsonInputError, *, move: bool) -> None:
    label.setText(f"⚠ {err}")
    label.setProperty("source", "json")
    label.setVisible(True)
    if move:
        cursor = editor.textCursor()
        cursor.setPosition(qt_position(editor.toPlainText(), err.pos))
        editor.setTextCursor(cursor)
        editor.setFocus()


class JsonEditor(QPlainTextEdit):
    """A JSON text box. Ctrl+Enter accepts the dialog (Enter is a newline: JSON spans lines). With
    ``select_on_focus`` a prefilled placeholder value (``null``) is selected on focus, so typing replaces it."""

    def __init__(self, parent: QWidget, *, select_on_focus: bool = False) -> None:
        super().__init__(parent)
        self._untouched = select_on_focus
        self.textChanged.connect(self._touched)
        self.setToolTip("JSON value. Ctrl+Enter accepts.")

    def _touched(self) -> None:
        if self.hasFocus():
            self._untouched = False

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        if self._untouched:
            self.selectAll()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            dialog = self.window()
            if isinstance(dialog, QDialog):
                dialog.accept()
                return
        super().keyPressEvent(event)


class JsonCheck(QObject):
    """Checks a JSON box as the person types (debounced), so a fixed error does not wait for OK to go.

    The error line may also show other problems (a taken name): only an error this check (or
    ``show_json_error``) put there is cleared when the text parses.
    """

    def __init__(self, editor: QPlainTextEdit, label: QLabel) -> None:
        super().__init__(editor)
        self.editor = editor
        self.label = label
        self.value: Any = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(CHECK_MS)
        self._timer.timeout.connect(lambda: self.check(move=False))
        editor.textChanged.connect(self._timer.start)

    def pending(self) -> bool:
        """True while a check waits for typing to pause."""
        return self._timer.isActive()

    def stop(self) -> None:
        self._timer.stop()

    def check(self, *, move: bool) -> bool:
        """Parse now; show the error (``move``: put the cursor on it) or clear a JSON error shown before."""
        self._timer.stop()
        try:
            self.value = parse_json(self.editor.toPlainText())
        except JsonInputError as err:
            show_json_error(self.editor, self.label, err, move=move)
            return False
        if self.label.property("source") == "json":
            self.label.setVisible(False)
            self.label.clear()
            self.label.setProperty("source", None)
        return True


def make_hint_label(parent: QWidget, text: str) -> QLabel:
    """A quiet line under a field saying how it works (e.g. which key accepts)."""
    label = QLabel(text, parent)
    label.setObjectName("hint_label")
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


def make_json_editor(parent: QWidget, text: str, *, select_on_focus: bool = False) -> QPlainTextEdit:
    editor = JsonEditor(parent, select_on_focus=select_on_focus)
    editor.setObjectName("json_editor")
    # JSON is code: a fixed-width font keeps columns (and the error column) readable.
    editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    editor.setPlainText(text)
    editor.setTabChangesFocus(True)
    return editor


def make_error_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setObjectName("error_label")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setStyleSheet("color: white; background: #b3261e; padding: 4px; border-radius: 3px;")
    label.setVisible(False)
    return label


def add_error_and_buttons(dialog: QDialog, layout: QVBoxLayout) -> QLabel:
    """The bottom of every edit dialog: the inline error line, then OK / Cancel. Returns the error label."""
    error_label = make_error_label(dialog)
    layout.addWidget(error_label)
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, parent=dialog
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    return error_label


class JsonEditDialog(QDialog):
    """Shows ``value`` as JSON; OK is refused (with the position of the error) until the text parses."""

    def __init__(self, title: str, value: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("json_dialog")
        self.setWindowTitle(title)
        self.resize(560, 420)
        self._value: Any = None
        layout = QVBoxLayout(self)
        lossy = json_lossy_parts(value)
        if lossy:
            note = QLabel(
                f"JSON has no {', '.join(lossy)}: saving turns them into JSON (lists, strings).", self
            )
            note.setWordWrap(True)
            layout.addWidget(note)
        self.editor = make_json_editor(self, to_json_text(value))
        layout.addWidget(self.editor, 1)
        layout.addWidget(make_hint_label(self, ENTER_HINT))
        self.error_label = add_error_and_buttons(self, layout)
        self._check = JsonCheck(self.editor, self.error_label)

    def validate(self, *, move: bool) -> bool:
        if not self._check.check(move=move):
            return False
        self._value = self._check.value
        return True

    def accept(self) -> None:
        if self.validate(move=True):
            super().accept()

    def done(self, result: int) -> None:
        self._check.stop()
        super().done(result)

    def value(self) -> Any:
        """The parsed value (after the dialog was accepted)."""
        return self._value
