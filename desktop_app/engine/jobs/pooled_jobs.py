"""What timers and schedules share: jobs a scheduler thread hands to a pool, each run at most ``limit`` times.

``PooledJob`` is one such job (its function, arguments, limit and state); ``PooledJobs`` is the
registry that runs them: checks, ``invoke``, ``resume``, ``stop`` and the run on a pool thread.
``Timer``/``Timers`` (``timers.py``) and ``Schedule``/``Schedules`` (``schedules.py``) add when a
job is due.
"""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Any, TypeVar

from desktop_app.engine.jobs.daemon_pool import DaemonPool
from desktop_app.engine.jobs.job import JobEvent, JobHost, JobRegistry, JobStats, rename_thread

mono = time.monotonic


class PooledJob(JobStats):
    """A timer or a schedule: ``fn(e, *args)`` handed to a pool, completed after ``limit`` runs (0: never)."""

    def __init__(
        self, name: str, fn: Callable[..., Any], limit: int, args: tuple[Any, ...], on_start: bool
    ) -> None:
        super().__init__(name)
        self.fn = fn
        self.limit = limit
        self.args = args
        self.on_start = on_start
        self.completed = False

    @property
    def state(self) -> str:
        if self.completed:
            return "completed"
        if self.paused:
            return "paused"
        if self.running:
            return "running"
        return "waiting"

    def _exhausted(self) -> bool:
        """Every run its limit allows has been handed to the pool (the last may not have started yet)."""
        with self._counters:
            return bool(self.limit) and self.count + self.pending >= self.limit

    def _dispatch(self) -> bool:
        """Count a run handed to the pool as pending; True when it is the last one its limit allows."""
        dispatched = self.dispatched()
        return bool(self.limit) and dispatched >= self.limit


P = TypeVar("P", bound=PooledJob)


class PooledJobs(JobRegistry[P]):
    """The part of ``server.timers`` and ``server.schedules`` that does not depend on when jobs are due.

    A subclass runs its scheduler thread (``self._thread``, stopped by ``_stopping``) and hands due
    runs to ``self._pool`` with ``_submit``; each run is ``fn(e, *args)`` on a pool thread renamed
    ``<kind>-<name>`` (``timer-tick``, ``schedule-nightly``).
    """

    def __init__(self, server: JobHost) -> None:
        super().__init__()
        self._server = server
        self._thread: threading.Thread | None = None
        self._pool: DaemonPool | None = None
        self._stopping = False

    # -- registry -------------------------------------------------------------------------------

    def _check_new(self, name: str, fn: object) -> None:
        """Refuse a new job without a name, or whose ``fn`` cannot be called (ValueError)."""
        if not name:
            raise ValueError(f"[{self.kind}] a {self.kind.lower()} needs a name")
        self._check_fn(name, fn)

    def _check_fn(self, name: str, fn: object) -> None:
        if not callable(fn):
            raise ValueError(f"[{self.kind}] {name}: fn must be callable")

    def invoke(self, name: str, *args: Any) -> Any:
        """Run the job now, on this thread, without counting (works on a completed job too).

        The caller gets the result, or None if it raised (the error is logged and counted). Pode
        runs an invoked schedule asynchronously on the schedule pool; here it is synchronous, as for
        timers. A schedule's start_time, end_time, limit and paused are ignored, as in Pode.

        Raises:
            KeyError: unknown job.
        """
        job = self._need(name)
        e = JobEvent(self._server, job.name, job)
        return job.guarded_call(job.fn, e, (*job.args, *args))[1]

    def resume(self, name: str) -> None:
        """Let a paused job run again; when it runs next is counted from now.

        Raises:
            KeyError: unknown job.
        """
        job = self._need(name)
        with self._cond:
            if job.paused:
                job.paused = False
                self._resumed(job)

    def _resumed(self, job: P) -> None:
        """``job`` was paused and is not any more: when is it due? (The caller holds the condition.)"""
        raise NotImplementedError

    # -- running --------------------------------------------------------------------------------

    def stop(self, deadline: float) -> builtins.list[str]:
        """Stop ticking, drop runs not started, wait until ``deadline`` (``time.monotonic()``) for running ones.

        Returns:
            ``<kind>-<name>`` for each job with a run still going at the deadline (never waits
            longer; its daemon thread cannot keep the process alive).
        """
        with self._cond:
            thread, pool = self._thread, self._pool
            if thread is None or pool is None:
                return []
            self._stopping = True
            self._cond.notify_all()
        thread.join(max(0.0, deadline - mono()))
        pool.shutdown(wait=False, cancel_futures=True)
        pool.join(deadline)
        with self._cond:
            stuck = self._stopped()
            self._thread = self._pool = None
            jobs = builtins.list(self._items.values())
        for job in jobs:  # outside the condition: a log handler may call back into the engine
            job.failure_log.flush()
        return stuck

    def _stopped(self) -> builtins.list[str]:
        """After the pool was shut down (the caller holds the condition): forget the runs that ended,
        and return ``<kind>-<name>`` of each job with a run still going (each job once)."""
        raise NotImplementedError

    def _submit(self, job: P, at: datetime | None, last: bool) -> Future[Any]:
        """Hand a run of ``job`` to the pool, with its function and arguments as they are now.

        Args:
            at: the time the run is for (a schedule's minute); None: when it starts (a timer).
            last: the run completes the job.
        """
        assert self._pool is not None
        future = self._pool.submit(self._run, job, job.fn, job.args, at, last)
        future.add_done_callback(lambda f: job.dropped() if f.cancelled() else None)
        return future

    def _run(
        self, job: P, fn: Callable[..., Any], args: tuple[Any, ...], at: datetime | None, last: bool
    ) -> None:
        rename_thread(f"{self.kind.lower()}-{job.name}")
        job.last_run = datetime.now() if at is None else at
        job.begin_run()
        if last:
            job.completed = True
        job.guarded_call(fn, JobEvent(self._server, job.name, job), args, started=True)
        if last:
            job.failure_log.flush()
