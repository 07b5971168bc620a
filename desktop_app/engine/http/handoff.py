"""Hands calls from an asyncio loop to a thread pool and back with one wake-up per burst, not per call.

``loop.run_in_executor(pool, fn)`` wakes a pool thread for every call and the loop again for every
result. On a server that answers each request on the route pool, those wake-ups are most of what a
request costs beyond aiohttp itself: measured with ``wrk`` on the demo's ``GET /``, about one extra
context switch (and GIL hand-over) per request, ~40 % of the route's CPU time.

``Handoff`` queues the call and starts a *drain loop* on the pool only when fewer than ``workers``
are running; a running drain loop takes the next queued call without sleeping. Each result is handed
back at once (no waiting for the rest of a burst), but the loop is woken only when no wake-up is
already on its way: results that arrive meanwhile are resolved by that same wake-up.

Works with any pool that has ``submit(fn)`` (the route pool is a ``DaemonPool``); ``close()``
cancels what has not started, as ``shutdown(cancel_futures=True)`` does for ``run_in_executor``,
and a call whose future was cancelled before a drain loop reached it (the stop deadline answered
its client 503) is skipped, as a cancelled ``run_in_executor`` job is.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import Any, Protocol

_RESULT, _ERROR, _CANCEL = 0, 1, 2


class _Pool(Protocol):
    def submit(self, fn: Callable[[], Any], /) -> Any: ...


class Handoff:
    """Runs ``fn(*args)`` on a pool's threads for coroutines on one asyncio loop.

    Example:
        >>> handoff = Handoff(ThreadPoolExecutor(2), workers=2)  # doctest: +SKIP
        >>> result = await handoff.submit(blocking_call, arg)     # doctest: +SKIP
    """

    def __init__(self, pool: _Pool, workers: int) -> None:
        self._pool = pool
        self._workers = max(1, workers)
        self._queue: SimpleQueue[tuple[asyncio.Future[Any], Callable[..., Any], tuple[Any, ...]]] = (
            SimpleQueue()
        )
        self._running = 0
        self._closed = False
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        # Results on their way back: appended by drain loops, resolved on the loop by _deliver.
        self._done: deque[tuple[asyncio.Future[Any], int, Any]] = deque()
        self._wake_pending = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Queue ``fn(*args)``; the future resolves on the calling loop with its result or exception.

        Raises:
            RuntimeError: closed (the server is stopping), or the pool refuses new work.
        """
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        if self._closed:
            raise RuntimeError("cannot hand off: closed")
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put((future, fn, args))
        with self._lock:
            start = self._running < self._workers
            if start:
                self._running += 1
        if start:
            try:
                self._pool.submit(self._drain)
            except RuntimeError:  # the pool is shut down
                with self._lock:
                    self._running -= 1
                future.cancel()
                raise
        return future

    def close(self) -> None:
        """Refuse new calls and cancel the queued ones that no drain loop has started."""
        self._closed = True
        while True:
            try:
                future, _, _ = self._queue.get_nowait()
            except Empty:
                return
            self._hand_back(future, _CANCEL, None)

    def _drain(self) -> None:
        # On a pool thread: run queued calls until none is left.
        queue = self._queue
        while True:
            try:
                future, fn, args = queue.get_nowait()
            except Empty:
                with self._lock:
                    if queue.empty():
                        self._running -= 1
                        return
                continue
            if future.done():  # cancelled on the loop while queued: nobody waits for it any more
                continue
            try:
                result = fn(*args)
            except BaseException as exc:  # as concurrent.futures does: the awaiting coroutine re-raises it
                self._hand_back(future, _ERROR, exc)
            else:
                self._hand_back(future, _RESULT, result)

    def _hand_back(self, future: asyncio.Future[Any], kind: int, value: Any) -> None:
        self._done.append((future, kind, value))
        if not self._wake_pending:
            self._wake_pending = True
            loop = self._loop
            assert loop is not None
            try:
                loop.call_soon_threadsafe(self._deliver)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

    def _deliver(self) -> None:
        # On the loop. Clear the flag first: a result appended from now on either is taken below or
        # schedules another wake-up.
        self._wake_pending = False
        done = self._done
        while done:
            future, kind, value = done.popleft()
            if future.done():  # the request was cancelled meanwhile (client gone, server stopping)
                continue
            if kind == _RESULT:
                future.set_result(value)
            elif kind == _ERROR:
                future.set_exception(value)
            else:
                future.cancel()
