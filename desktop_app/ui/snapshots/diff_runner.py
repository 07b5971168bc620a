"""Running a diff off the GUI thread: one at a time, the newest wins, progress shown in the DiffView."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from desktop_app.ui.snapshots.diff_view import DiffCancelled, DiffResult, DiffView, compute_diff

PROGRESS_EVERY = 0.05
"""Seconds between progress reports of a running diff (the bar need not move faster)."""

Inputs = Callable[[], tuple[dict[str, Any], dict[str, Any]]]
Submit = Callable[[Callable[[], Any], Callable[[Future[Any]], None]], Future[Any]]


class DiffRunner(QObject):
    """Computes diffs with ``submit`` (a worker lane) and shows them in ``view``.

    Starting a diff, or ``cancel()``, abandons the one running: its result is never shown.

    Signals:
        progressed(int, int, int): ``(generation, done, total)`` from the worker, delivered queued.
    """

    progressed = Signal(int, int, int)

    def __init__(
        self,
        view: DiffView,
        submit: Submit,
        on_ready: Callable[[DiffResult], None],
        on_error: Callable[[str, BaseException], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.view = view
        self._submit = submit
        self._on_ready = on_ready
        self._on_error = on_error
        self._generation = 0
        self.progressed.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)

    def cancel(self) -> None:
        """Abandon the running diff (e.g. it compares against a server that is gone)."""
        self._generation += 1

    def run(self, title: str, inputs: Inputs) -> Future[Any]:
        """Read ``inputs()`` and diff them on the worker; the view shows progress, then the result."""
        self._generation += 1
        generation = self._generation
        emit_progress = self.progressed.emit
        last = [0.0]

        def cancelled() -> bool:
            return generation != self._generation

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY or done == total:
                last[0] = now
                emit_progress(generation, done, total)

        def work() -> DiffResult:
            a, b = inputs()
            return compute_diff(title, a, b, progress, cancelled)

        def done(f: Future[Any]) -> None:
            if generation != self._generation:
                return
            err = f.exception()
            if isinstance(err, DiffCancelled):
                return
            if err is not None:
                self.view.show_error(f"{title}: {err}")
                self._on_error(title, err)
                return
            result: DiffResult = f.result()
            self.view.show_result(result)
            self._on_ready(result)

        self.view.start(title)
        return self._submit(work, done)

    @Slot(int, int, int)
    def _on_progress(self, generation: int, done: int, total: int) -> None:
        if generation == self._generation:
            self.view.set_progress(done, total)
