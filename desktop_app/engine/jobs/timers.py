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

from desktop_app.engine.jobs.daemon_pool import DaemonPool
from desktop_app.engine.jobs.job import JobEvent, JobHost, JobRegistry, JobStats, job_pool, rename_thread

log = logging.getLogger("desktop_app.engine.jobs.timers")

POOL_SIZE = 4
mono = time.monotonic


def _mono_to_local(t: float) -> datetime:
    return datetime.now() + timedelta(seconds=t - mono())


class Timer(JobStats):
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
        super().__init__(name)
        self.interval = float(interval)
        self.fn = fn
        self.limit = limit
        self.skip = skip
        self.args = args
        self.on_start = on_start
        self.completed = False
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

    def _exhausted(self) -> bool:
        """Every run its limit allows has been handed to the pool (the last may not have started yet)."""
        with self._counters:
            return bool(self.limit) and self.count + self.pending >= self.limit

    @property
    def state(self) -> str:
        if self.completed:
            return "completed"
        if self.paused:
            return "paused"
        if self.running:
            return "running"
        return "waiting"

    def __repr__(self) -> str:
        return f"<Timer {self.name} every {self.interval}s count={self.count} {self.state}>"


def _check(name: str, interval: float | None, limit: int = 0, skip: int = 0) -> None:
    if interval is not None and not interval > 0:
        raise ValueError(f"[Timer] {name}: Interval must be greater than 0")
    if limit < 0:
        raise ValueError(f"[Timer] {name}: Limit must be greater than or equal to 0")
    if skip < 0:
        raise ValueError(f"[Timer] {name}: Skip must be greater than or equal to 0")


class Timers(JobRegistry[Timer]):
    """The server's timers: a scheduler thread hands due runs to a small pool (``timer-<name>`` threads)."""

    kind = "Timer"

    def __init__(self, server: JobHost) -> None:
        super().__init__()
        self._server = server
        self._thread: threading.Thread | None = None
        self._pool: DaemonPool | None = None
        self._stopping = False

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
        if not name:
            raise ValueError("[Timer] a timer needs a name")
        if not callable(fn):
            raise ValueError(f"[Timer] {name}: fn must be callable")
        _check(name, interval, limit, skip)
        timer = Timer(name, interval, fn, limit, skip, tuple(args), on_start)
        with self._cond:
            self._register(name, timer)
            # Pode sets NextTriggerTime in Add-PodeTimer, so next_run exists before the server starts.
            self._arm(timer, mono(), first=True)
            if self._thread is not None:
                self._cond.notify()
        return timer

    def invoke(self, name: str, *args: Any) -> Any:
        """Run the timer now, on this thread, without counting (works on a completed timer too).

        Raises:
            KeyError: unknown timer.
        """
        t = self._need(name)
        e = JobEvent(self._server, t.name, t)
        return t.guarded_call(t.fn, e, (*t.args, *args))[1]

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
        if fn is not None and not callable(fn):
            raise ValueError(f"[Timer] {t.name}: fn must be callable")
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

    def resume(self, name: str) -> None:
        t = self._need(name)
        with self._cond:
            if t.paused:
                t.paused = False
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

    def stop(self, deadline: float) -> builtins.list[str]:
        """Stop ticking, drop runs not started, wait until ``deadline`` (``time.monotonic()``) for running ones.

        Returns:
            ``timer-<name>`` for each timer with a run still going at the deadline (never waits longer;
            its daemon thread cannot keep the process alive).
        """
        with self._cond:
            thread, pool = self._thread, self._pool
            if thread is None or pool is None:
                return []
            self._stopping = True
            self._cond.notify()
        thread.join(max(0.0, deadline - mono()))
        pool.shutdown(wait=False, cancel_futures=True)
        pool.join(deadline)
        with self._cond:
            stuck = [
                f"timer-{t.name}"
                for t in self._items.values()
                if t._future is not None and not t._future.done()
            ]
            self._thread = self._pool = None
            jobs = builtins.list(self._items.values())
            for t in jobs:
                t._due = None
                if t._future is not None and t._future.done():
                    t._future = None
        for t in jobs:  # outside the condition: a log handler may call back into the engine
            t.failure_log.flush()
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
        dispatched = t.dispatched()
        last = bool(t.limit) and dispatched >= t.limit
        if last:
            t._due = None
        assert self._pool is not None
        t._future = future = self._pool.submit(self._run, t, t.fn, t.args, last)
        future.add_done_callback(lambda f: t.dropped() if f.cancelled() else None)

    def _run(self, t: Timer, fn: Callable[..., Any], args: tuple[Any, ...], last: bool) -> None:
        rename_thread(f"timer-{t.name}")
        t.last_run = datetime.now()
        t.begin_run()
        if last:
            t.completed = True
        t.guarded_call(fn, JobEvent(self._server, t.name, t), args, started=True)
        if last:
            t.failure_log.flush()
