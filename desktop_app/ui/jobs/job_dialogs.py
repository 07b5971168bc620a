"""The Jobs dock's dialogs: a job's last traceback, and the interval / cron editor."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class TracebackDialog(QDialog):
    """The last error of a job with its traceback, as selectable monospace text."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None, headline: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(720, 420)
        layout = QVBoxLayout(self)
        self.headline = QLabel(
            f"<b>{html.escape(headline)}</b><br>{html.escape(title)}" if headline else title
        )
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.headline)
        self.text = QPlainTextEdit(text)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton("Copy")
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QApplication.clipboard().setText(self.text.toPlainText()))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class JobEditDialog(QDialog):
    """Edit a timer's interval or a schedule's cron expressions; the engine validates, errors show inline.

    The dialog stays open while the edit is applied off the GUI thread, and on an error it shows the
    engine's message under the field: the job is left as it was.
    """

    def __init__(self, kind: str, name: str, current: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.job_name = name
        self.setWindowTitle(f"Edit {kind} '{name}'")
        layout = QVBoxLayout(self)
        if kind == "timer":
            prompt = "Interval in seconds (greater than 0):"
        else:
            prompt = "Cron expression (several: separate them with | or ;):"
        layout.addWidget(QLabel(prompt))
        self.field = QLineEdit(current)
        self.field.selectAll()
        layout.addWidget(self.field)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828;")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.field.textEdited.connect(lambda _text: self.error.hide())
        self.setMinimumWidth(460)
        self.resize(460, self.sizeHint().height())

    @property
    def ok_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def value(self) -> float | list[str]:
        """The typed value: a float interval, or the list of cron expressions.

        Raises:
            ValueError: not a number / no expression (said in words for the error line).
        """
        text = self.field.text().strip()
        if self.kind == "timer":
            try:
                return float(text)
            except ValueError:
                raise ValueError(f"'{text}' is not a number of seconds") from None
        exprs = [part.strip() for part in text.replace(";", "|").split("|") if part.strip()]
        if not exprs:
            raise ValueError("enter at least one cron expression, e.g. */5 * * * *")
        return exprs

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
        self.set_busy(False)
        self.field.setFocus()
        self.adjustSize()  # room for a wrapped message

    def set_busy(self, busy: bool) -> None:
        self.ok_button.setEnabled(not busy)
        self.field.setReadOnly(busy)
