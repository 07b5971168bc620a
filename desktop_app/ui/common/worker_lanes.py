"""Work off the GUI thread with the result handed back on it: named lanes of worker threads."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot


class WorkerLanes(QObject):
    """Each lane is a pool of ``workers`` threads named ``<prefix>-<lane>``; callbacks run on the GUI thread.

    A lane of one thread keeps its jobs in order (e.g. a snapshot and its prune never race).
    """

    _deliver = Signal(object)

    def __init__(self, prefix: str, workers: int = 1, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._prefix = prefix
        self._workers = workers
        self._lanes: dict[str, ThreadPoolExecutor] = {}
        self._deliver.connect(self._on_deliver, Qt.ConnectionType.QueuedConnection)

    def submit(
        self, fn: Callable[[], Any], on_done: Callable[[Future[Any]], None], *, lane: str = "work"
    ) -> Future[Any]:
        """Run ``fn`` on the lane's threads; ``on_done(future)`` is called later on the GUI thread."""
        pool = self._lanes.get(lane)
        if pool is None:
            pool = self._lanes[lane] = ThreadPoolExecutor(
                max_workers=self._workers, thread_name_prefix=f"{self._prefix}-{lane}"
            )
        future = pool.submit(fn)

        def relay(f: Future[Any]) -> None:
            try:
                self._deliver.emit(partial(on_done, f))
            except RuntimeError:  # the owner was deleted meanwhile: nobody is waiting
                pass

        future.add_done_callback(relay)
        return future

    @Slot(object)
    def _on_deliver(self, callback: Callable[[], None]) -> None:
        callback()

    def shutdown(self) -> None:
        """Stop taking work; running jobs finish on their own."""
        for pool in self._lanes.values():
            pool.shutdown(wait=False)
        self._lanes.clear()
