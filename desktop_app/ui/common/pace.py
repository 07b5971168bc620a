"""How often live views refresh: half pace in the background, and a small share of a core under a busy workload."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication

from desktop_app.ui.bridge.process_load import gui_process_load

BACKGROUND_SLOWDOWN = 2
"""A studio left open beside the work a person is doing refreshes this many times less often: its
countdowns, fades and timelines still move, and it costs next to nothing (browsers do the same to
background tabs)."""


def in_background() -> bool:
    """True while no window of the app is active (the person is working in another application)."""
    if QGuiApplication.instance() is None:
        return False
    return QGuiApplication.applicationState() != Qt.ApplicationState.ApplicationActive


def paced(ms: int, slowdown: int = BACKGROUND_SLOWDOWN) -> int:
    """``ms`` while the app is active, ``slowdown`` times as long while it is in the background."""
    return ms * slowdown if in_background() else ms


class PacedTimer(QTimer):
    """A QTimer whose interval is ``paced(base, slowdown)``, and follows the application's state as it changes."""

    def __init__(self, base_ms: int, parent: QObject | None = None, *, slowdown: int = BACKGROUND_SLOWDOWN) -> None:
        super().__init__(parent)
        self._base = base_ms
        self._slowdown = slowdown
        self._floor = 0
        self.setInterval(paced(base_ms, slowdown))
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.applicationStateChanged.connect(self._repace)

    def set_floor(self, ms: int) -> None:
        """Never fire more often than every ``ms`` (e.g. a work budget's gap), whatever the pace."""
        if ms != self._floor:
            self._floor = ms
            self._repace()

    def base_interval(self) -> int:
        """The interval while the app is active (ms)."""
        return self._base

    def set_base_interval(self, ms: int) -> None:
        if ms != self._base:
            self._base = ms
            self._repace()

    def _repace(self, *_: object) -> None:
        interval = max(self._floor, paced(self._base, self._slowdown))
        if interval != self.interval():
            self.setInterval(interval)  # an active timer restarts with it


CONTENDED_WAIT = 0.004
"""A piece of GUI work whose wall time exceeds its CPU time by more than this (and by its CPU time)
spent it waiting for the GIL: other Python threads are busy, and each Python call from Qt took the
GIL from them."""


class WorkBudget:
    """Paces recurring GUI work (a repaint, a sample) to a share of one core, measured in CPU time.

    While the GIL is contended (this work waited for it, or the process's other threads are busy) the
    share is ``contended_share``: watching must not slow down what is watched, so under a busy
    workload the views refresh less often (and every change still shows).

    Example:
        >>> budget = WorkBudget(share=0.25, contended_share=0.02)
        >>> with budget.measure():
        ...     pass  # the work
        >>> budget.gap() >= 0.0
        True
    """

    def __init__(self, share: float, contended_share: float) -> None:
        self.share = share
        self.contended_share = contended_share
        self.cpu = 0.0
        """Smoothed CPU seconds of one run."""
        self.wall = 0.0
        self.last_end = -1e9
        """``time.perf_counter()`` when the last run ended."""

    @property
    def contended(self) -> bool:
        """The GIL is busy: this work waited for it, or the process's other threads use much CPU."""
        return self.wall - self.cpu > max(CONTENDED_WAIT, self.cpu) or gui_process_load.busy()

    def gap(self) -> float:
        """Seconds the next run should wait after the last one ended."""
        return self.cpu / (self.contended_share if self.contended else self.share)

    def ready(self) -> bool:
        return time.perf_counter() >= self.last_end + self.gap()

    def wait_left(self) -> float:
        return max(0.0, self.last_end + self.gap() - time.perf_counter())

    @contextmanager
    def measure(self) -> Iterator[None]:
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            yield
        finally:
            end = time.perf_counter()
            self.cpu = 0.7 * self.cpu + 0.3 * (time.thread_time() - cpu)
            self.wall = 0.7 * self.wall + 0.3 * (end - wall)
            self.last_end = end
