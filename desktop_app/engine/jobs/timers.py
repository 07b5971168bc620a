"""Interval timers (Pode's Add-PodeTimer): millisecond accuracy, a small pool, no overlap of one timer with itself."""

from __future__ import annotations

import builtins
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any

from desktop_app.engine.jobs.job import job_pool
from desktop_app.engine.jobs.pooled_jobs import PooledJob, PooledJobs

log = logging.getLogger("desktop_app.engine.jobs.timers")

POOL_SIZE = 4
mono = time.monotonic


def _mono_to_local(t: float) -> datetime:
    return datetime.now() + timedelta(seconds=t - mono())


class Timer(PooledJob):
    """One interval timer. Read its fields freely; change it through ``server.timers``."""

    kind = "Timer"

    def __init__(
        self,
        name: str,
        interval: float,
        fn: Callable[..., Any],
        limit: int,
        skip: int,
        args: tuple[Any, ...],
        on_start: bool,
    ) -> None:
        super().__init__(name, fn, limit, args, on_start)
        self.interval = float(interval)
        self.skip = skip
        self.overruns = 0
        self._due: float | None = None
        self._future: Future[Any] | None = None

    @property
    def next_run(self) -> datetime | None:
        """When it runs next (naive local time), or None when completed, paused or its server was stopped.

        Set when the timer is added, as Pode does (now + interval x (skip + 1)), so a server not yet
        started shows it too; starting the server counts the intervals again from the start.
        """
        due = self._due
        if self.completed or self.paused or due is None:
            return None
        return _mono_to_local(due)

    def __repr__(self) -> str:
        return f"<Timer {self.name} every {self.interval}s count={self.count} {self.state}>"


def _check(name: str, interval: float | None, limit: int = 0, skip: int = 0) -> None:
    if interval is not None and not interval > 0:
        raise ValueError(f"[Timer] {name}: Interval must be greater than 0")
    if limit < 0:
        raise ValueError(f"[Timer] {name}: Limit must be greater than or equal to 0")
    if skip < 0:
        raise ValueError(f"[Timer] {name}: Skip must be greater than or equal to 0")


class Timers(PooledJobs[Timer]):
    """The server's timers: a scheduler thread hands due runs to a small pool (``timer-<name>`` threads)."""

    kind = "Timer"

    # -- registry -------------------------------------------------------------------------------

    def add(
        self,
        name: str,
        interval: float,
        fn: Callable[..., Any],
        *,
        limit: int = 0,
        skip: int = 0,
        args: tuple[Any, ...] | list[Any] = (),
        on_start: bool = False,
    ) -> Timer:
        """Add a timer running ``fn(e, *args)`` every ``interval`` seconds.

        Args:
            limit: complete after this many runs (0 = forever); a run that raised counts.
            skip: skip the first N intervals: the first run is at (N+1) x interval.
            on_start: also run once when the server starts (counts toward ``limit``).

        Raises:
            ValueError: "[Timer] <name>: ..." for a duplicate name, interval <= 0, a negative limit or skip.
        """
        self._check_new(name, fn)
        _check(name, interval, limit, skip)
        timer = Timer(name, interval, fn, limit, skip, tuple(args), on_start)
        with self._cond:
            self._register(name, timer)
            # Pode sets NextTriggerTime in Add-PodeTimer, so next_run exists before the server starts.
            self._arm(timer, mono(), first=True)
            if self._thread is not None:
                self._cond.notify()
        return timer

    def edit(
        self,
        name: str,
        interval: float | None = None,
        fn: Callable[..., Any] | None = None,
        args: tuple[Any, ...] | builtins.list[Any] | None = None,
    ) -> Timer:
        """Change a timer's interval, function or arguments; the next run is recomputed from now.

        Raises:
            KeyError: unknown timer.
            ValueError: interval <= 0 or fn not callable.
        """
        t = self._need(name)
        _check(t.name, interval)
        if fn is not None:
            self._check_fn(t.name, fn)
        with self._cond:
            if interval is not None:
                t.interval = float(interval)
            if fn is not None:
                t.fn = fn
            if args is not None:
                t.args = tuple(args)
            if t._due is not None:
                t._due = mono() + t.interval
            self._cond.notify()
        return t

    def _resumed(self, t: Timer) -> None:
        if self._thread is not None:
            t._due = mono() + t.interval
        elif t._due is not None:  # not started yet: as if added now
            self._arm(t, mono(), first=True)
        self._cond.notify()

    # -- running --------------------------------------------------------------------------------

    def _arm(self, t: Timer, now: float, *, first: bool) -> None:
        # skip=N: the first run after (N+1) intervals. Pode adds Interval x Skip only when Skip > 1,
        # so its Skip 1 does nothing (spec §10 item 15); here every N skips N intervals.
        t._due = now + t.interval * (t.skip + 1) if first else now + t.interval

    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._pool = job_pool(POOL_SIZE, "timer")
            now = mono()
            for t in self._items.values():
                if not t.completed and not t._exhausted():
                    self._arm(t, now, first=True)
                    if t.on_start and not t.paused:
                        t._due = now
            self._thread = threading.Thread(target=self._loop, name="timers", daemon=True)
            self._thread.start()

    def _stopped(self) -> builtins.list[str]:
        stuck = [
            f"timer-{t.name}" for t in self._items.values() if t._future is not None and not t._future.done()
        ]
        for t in self._items.values():
            t._due = None
            if t._future is not None and t._future.done():
                t._future = None
        return stuck

    def _loop(self) -> None:
        with self._cond:
            while not self._stopping:
                now = mono()
                wake = now + 1.0
                for t in list(self._items.values()):
                    due = t._due
                    if t.completed or t.paused or due is None:
                        continue
                    if due > now:
                        wake = min(wake, due)
                        continue
                    self._fire(t, due, now)
                    if t._due is not None:
                        wake = min(wake, t._due)
                self._cond.wait(max(0.0, wake - mono()))

    def _fire(self, t: Timer, due: float, now: float) -> None:
        # Next due keeps the rhythm (due + interval); a timer more than an interval late does not
        # catch up, it restarts from now (Pode: no catch-up).
        nxt = due + t.interval
        t._due = nxt if nxt > now else now + t.interval
        if t._future is not None and not t._future.done():
            t.overruns += 1
            return
        # Counted as pending now; count, running and completed change when a thread starts the run.
        last = t._dispatch()
        if last:
            t._due = None
        t._future = self._submit(t, None, last)
