"""How often live views refresh: at full pace while the studio is in use, at half pace in the background."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication

BACKGROUND_SLOWDOWN = 2
"""A studio left open beside the work a person is doing refreshes this many times less often: its
countdowns, fades and timelines still move, and it costs next to nothing (browsers do the same to
background tabs)."""


def in_background() -> bool:
    """True while no window of the app is active (the person is working in another application)."""
    if QGuiApplication.instance() is None:
        return False
    return QGuiApplication.applicationState() != Qt.ApplicationState.ApplicationActive


def paced(ms: int) -> int:
    """``ms`` while the app is active, BACKGROUND_SLOWDOWN times as long while it is in the background."""
    return ms * BACKGROUND_SLOWDOWN if in_background() else ms


class PacedTimer(QTimer):
    """A QTimer whose interval is ``paced(base)``, and follows the application's state as it changes."""

    def __init__(self, base_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._base = base_ms
        self.setInterval(paced(base_ms))
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.applicationStateChanged.connect(self._repace)

    def base_interval(self) -> int:
        """The interval while the app is active (ms)."""
        return self._base

    def set_base_interval(self, ms: int) -> None:
        if ms != self._base:
            self._base = ms
            self._repace()

    def _repace(self, *_: object) -> None:
        interval = paced(self._base)
        if interval != self.interval():
            self.setInterval(interval)  # an active timer restarts with it
