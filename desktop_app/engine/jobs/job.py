"""What timers, schedules and routes share: the event ``e`` a job gets, its counters, and how a run is guarded."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from desktop_app.engine.hotpath import thread_names
from desktop_app.engine.http.messages import Response
from desktop_app.engine.jobs.daemon_pool import DaemonPool
from desktop_app.engine.jobs.failure_log import FailureLog

if TYPE_CHECKING:
    from desktop_app.engine.locks import Lockable
    from desktop_app.engine.state import SharedState

log = logging.getLogger("desktop_app.engine.jobs.job")

J = TypeVar("J", bound="JobStats")


class JobHost(Protocol):
    """What jobs need of the server that runs them (``Server`` is one); keeps jobs free of ``server.py``."""

    @property
    def state(self) -> SharedState: ...

    @property
    def lockable(self) -> Lockable: ...


@dataclass
class JobEvent:
    """The ``e`` every job gets: Pode's $TimerEvent / $ScheduleEvent / $WebEvent."""

    server: JobHost
    name: str
    sender: Any
    timestamp: datetime = field(default_factory=datetime.now)
    request: Any = None

    @property
    def state(self) -> SharedState:
        return self.server.state

    @property
    def lockable(self) -> Lockable:
        return self.server.lockable

    def json(self, value: Any, status: int = 200) -> Any:
        """A JSON response (routes)."""
        return Response.json(value, status)

    def text(self, text: str, status: int = 200) -> Any:
        """A text/plain response (routes)."""
        return Response.text(text, status)


class JobStats:
    """Counters every job keeps: runs, errors with the last traceback, last run and its duration.

    ``count`` never claims a run that has not started: a run handed to a busy pool waits in
    ``pending`` and moves to ``count`` and ``running`` together, when a thread starts it. So
    "count went up and nothing is running" means that run has finished.
    """

    kind = "job"

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0
        self.pending = 0  # handed to the pool, not started yet
        self.errors = 0
        self.last_error: str | None = None
        self.last_traceback: str | None = None
        self.last_run: datetime | None = None
        self.last_duration: float | None = None
        self.running = 0
        self.last_ok: bool | None = None  # None until a run finished; False when the last run raised
        self.paused = False
        # Routes run one job on several pool threads at once: guard the shared counters.
        self._counters = threading.Lock()
        self.failure_log = FailureLog(f"[{self.kind}] {name}", log)

    def guarded_call(
        self, fn: Callable[..., Any], e: JobEvent, args: tuple[Any, ...], *, started: bool = False
    ) -> tuple[bool, Any]:
        """Run ``fn(e, *args)``; an exception is logged (see FailureLog) and counted, never raised.

        Args:
            started: ``begin_run`` already counted this run as running.

        Returns:
            (True, result) on success, (False, the exception) when it raised.
        """
        if not started:
            with self._counters:
                self.running += 1
        start = time.perf_counter()
        try:
            result = fn(e, *args)
            self.last_ok = True
            self.failure_log.succeeded()
            return True, result
        except Exception as err:
            self.last_ok = False
            with self._counters:
                self.errors += 1
            self.last_error = f"{type(err).__name__}: {err}"
            self.last_traceback = traceback.format_exc()
            self.failure_log.failed(err, self.last_error)
            return False, err
        finally:
            self.last_duration = time.perf_counter() - start
            with self._counters:
                self.running -= 1

    # -- runs handed to a pool (timers, schedules) -------------------------------------------------

    def dispatched(self) -> int:
        """A run was handed to the pool: count it as pending. Returns the runs dispatched so far."""
        with self._counters:
            self.pending += 1
            return self.count + self.pending

    def begin_run(self) -> None:
        """On the pool thread, before the job's function: the pending run becomes counted and running."""
        with self._counters:
            self.pending -= 1
            self.count += 1
            self.running += 1

    def dropped(self) -> None:
        """A pending run was cancelled before it started (the server stopped): it never counts."""
        with self._counters:
            self.pending -= 1


def rename_thread(name: str) -> None:
    """Pool threads take the job's name while it runs, so locks, logs and tracebacks name the job."""
    threading.current_thread().name = name
    thread_names.note()  # locks and state writes record idents; from now on this one reads `name`


def job_pool(workers: int, prefix: str) -> DaemonPool:
    """The threads a registry runs its jobs on: daemons named ``<prefix>-N`` (see DaemonPool)."""
    return DaemonPool(prefix, workers)


class JobRegistry(Generic[J]):
    """The name -> job part timers and schedules share: case-insensitive, guarded by one Condition.

    Subclasses add jobs under ``self._cond`` and use it to wake their scheduler thread.
    """

    kind = "Job"

    def __init__(self) -> None:
        self._items: dict[str, J] = {}
        self._cond = threading.Condition(threading.Lock())

    def _register(self, name: str, job: J) -> None:
        """Add ``job``; the caller holds ``self._cond``. A duplicate name raises ValueError."""
        if name.casefold() in self._items:
            raise ValueError(f"[{self.kind}] {name}: {self.kind} already defined")
        self._items[name.casefold()] = job

    def get(self, name: str) -> J | None:
        """The job called ``name`` (any case), or None."""
        return self._items.get(name.casefold())

    def _need(self, name: str) -> J:
        job = self.get(name)
        if job is None:
            raise KeyError(f"{self.kind} '{name}' does not exist")
        return job

    def list(self) -> list[J]:
        return list(self._items.values())

    def test(self, name: str) -> bool:
        return name.casefold() in self._items

    def pause(self, name: str) -> None:
        """Stop a job from running until ``resume``; a run in progress finishes.

        Raises:
            KeyError: unknown job.
        """
        job = self._need(name)
        with self._cond:
            job.paused = True

    def remove(self, name: str) -> None:
        """Forget a job (a run in progress finishes); a missing name is fine, as in Pode."""
        with self._cond:
            self._items.pop(name.casefold(), None)

    def clear(self) -> None:
        with self._cond:
            self._items.clear()
