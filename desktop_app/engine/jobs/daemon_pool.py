"""DaemonPool: the job threads. Daemons, so a job that never returns cannot keep the process alive.

``concurrent.futures.ThreadPoolExecutor`` workers are joined when the interpreter exits (its exit
hook runs before anything else at shutdown), so one timer, schedule or route handler stuck in a
``wait()`` kept ``state-studio run --headless`` alive after SIGTERM, and a plain script that called
``server.stop()`` never returned to the shell. Threads cannot be killed; what the server can do is
not wait for them: ``stop()`` waits until its deadline, reports what is still running, and these
daemon threads then end with the process.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

_Item = tuple["Future[Any]", Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class DaemonPool(Executor):
    """Up to ``workers`` daemon threads named ``<prefix>-1``, ``<prefix>-2``... running submitted calls in order.

    Threads start on demand and stay until ``shutdown``. ``max_workers`` can change while running
    (surplus threads end once idle). A job may rename its thread while it runs; the worker takes its
    own name back afterwards.

    Example:
        >>> pool = DaemonPool("timer", 4)
        >>> pool.submit(print, "hi").result()
        hi
        >>> pool.shutdown()
    """

    def __init__(self, prefix: str, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"a pool needs at least one worker, got {workers}")
        self.prefix = prefix
        self._max = workers
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._threads: set[threading.Thread] = set()  # workers not yet leaving
        self._started: list[threading.Thread] = []  # every worker, until joined dead (join() waits for these)
        self._idle = 0
        self._numbers = itertools.count(1)
        self._closed = False

    @property
    def max_workers(self) -> int:
        return self._max

    @max_workers.setter
    def max_workers(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"a pool needs at least one worker, got {value}")
        with self._cond:
            self._max = value
            self._grow()
            self._cond.notify_all()  # surplus idle threads notice and end

    @property
    def threads(self) -> list[threading.Thread]:
        """The worker threads alive now (idle or busy)."""
        with self._cond:
            self._started = [t for t in self._started if t.is_alive()]
            return list(self._started)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Queue ``fn(*args, **kwargs)``; its Future can be cancelled until a thread takes it.

        Raises:
            RuntimeError: the pool is shut down (asyncio's ``run_in_executor`` passes this on).
        """
        future: Future[Any] = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError(f"the {self.prefix} pool is shut down")
            self._queue.append((future, fn, args, kwargs))
            self._grow()
            self._cond.notify()
        return future

    def _grow(self) -> None:
        # Caller holds the condition. One new thread per job nobody idle can take, up to the maximum.
        while self._idle < len(self._queue) and len(self._threads) < self._max:
            name = f"{self.prefix}-{next(self._numbers)}"
            thread = threading.Thread(target=self._work, name=name, daemon=True)
            self._threads.add(thread)
            self._started = [t for t in self._started if t.is_alive()]
            self._started.append(thread)
            self._idle += 1  # counted idle until it takes its first job
            thread.start()

    def _work(self) -> None:
        me = threading.current_thread()
        name = me.name
        while True:
            with self._cond:
                while not self._queue and not self._closed and len(self._threads) <= self._max:
                    self._cond.wait()
                if not self._queue or len(self._threads) > self._max:
                    self._idle -= 1
                    self._threads.discard(me)
                    self._cond.notify_all()  # shutdown(wait=True) may be waiting for the last one
                    return
                future, fn, args, kwargs = self._queue.popleft()
                self._idle -= 1
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as err:
                    future.set_exception(err)
                else:
                    future.set_result(result)
                # drop references before idling, so a finished job's arguments can be freed
                del future, fn, args, kwargs
            me.name = name
            with self._cond:
                self._idle += 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more work; threads end once the queue is empty (or at once with ``cancel_futures``).

        Args:
            wait: join the threads (unbounded: use ``join(deadline)`` when a job may never return).
            cancel_futures: cancel the queued calls that have not started.
        """
        with self._cond:
            self._closed = True
            dropped = list(self._queue) if cancel_futures else []
            if cancel_futures:
                self._queue.clear()
            self._cond.notify_all()
        for future, *_ in dropped:
            future.cancel()  # outside the condition: done-callbacks may take other locks
        if wait:
            self.join(None)

    def join(self, deadline: float | None) -> list[threading.Thread]:
        """Wait until the threads have ended or ``deadline`` (a ``time.monotonic()`` value) has passed.

        Returns:
            The threads still alive: busy in a job that has not returned.
        """
        for thread in self.threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return self.threads
