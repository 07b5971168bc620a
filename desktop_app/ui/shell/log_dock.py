"""The Log dock: the engine's logging (job errors with tracebacks, requests, lock timeouts), bounded, filterable."""

from __future__ import annotations

import logging
from collections import deque

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

MAX_LINES = 10_000
LEVELS = [("Debug", logging.DEBUG), ("Info", logging.INFO), ("Warning", logging.WARNING), ("Error", logging.ERROR)]


class _Emitter(QObject):
    record_logged = Signal(int, str)


class QtLogHandler(logging.Handler):
    """A logging handler safe to call from any thread: it hands formatted text to the GUI by a queued signal."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.emitter = _Emitter()
        self.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s", "%H:%M:%S")
        )

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.emitter.record_logged.emit(record.levelno, self.format(record))
        except Exception:  # logging must never take the app down
            self.handleError(record)


class LogDock(QDockWidget):
    """Shows log records at or above the chosen level; keeps the last 10,000 lines."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Log", parent)
        self.setObjectName("LogDock")
        self._records: deque[tuple[int, str]] = deque(maxlen=MAX_LINES)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Level:"))
        self.level = QComboBox()
        for label, value in LEVELS:
            self.level.addItem(label, value)
        self.level.setCurrentIndex(1)
        self.level.currentIndexChanged.connect(self._refilter)
        bar.addWidget(self.level)
        bar.addStretch(1)
        clear = QPushButton("Clear")
        clear.clicked.connect(self.clear)
        bar.addWidget(clear)
        layout.addLayout(bar)
        self.view = QPlainTextEdit()
        self.view.setReadOnly(True)
        self.view.setMaximumBlockCount(MAX_LINES)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font: QFont = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.view.setFont(font)
        layout.addWidget(self.view)
        self.setWidget(body)
        self.handler = QtLogHandler()
        self.handler.emitter.record_logged.connect(self.append, Qt.ConnectionType.QueuedConnection)

    @property
    def min_level(self) -> int:
        return int(self.level.currentData())

    def append(self, level: int, text: str) -> None:
        self._records.append((level, text))
        if level >= self.min_level:
            self.view.appendPlainText(text)

    def _refilter(self) -> None:
        self.view.setPlainText("\n".join(t for lv, t in self._records if lv >= self.min_level))
        self.view.moveCursor(self.view.textCursor().MoveOperation.End)

    def clear(self) -> None:
        self._records.clear()
        self.view.clear()

    def text(self) -> str:
        return self.view.toPlainText()
