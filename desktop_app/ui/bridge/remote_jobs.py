"""Another process's jobs, from its heartbeat, shaped like a Server's timers, schedules and routes (read-only).

The Jobs dock reads a server's ``timers.list()``, ``schedules.list()`` and ``http.routes`` and each
job's attributes (name, count, errors, state, next_run, ...). ``ProcessJobs`` gives it the same
names for a process it can only watch: the values come from the last heartbeat, nothing can be
paused, run or edited (``read_only``), and ``update`` swaps in a newer heartbeat in place.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any


def _local(epoch: Any) -> datetime | None:
    """Seconds since the epoch as the naive local time the Jobs dock shows."""
    if epoch is None:
        return None
    try:
        return datetime.fromtimestamp(float(epoch))
    except (TypeError, ValueError, OverflowError, OSError):
        return None


class RemoteJob:
    """A timer or schedule of another process, as its heartbeat described it."""

    last_traceback: str | None = None  # tracebacks stay in the process's own log

    def __init__(self, rec: dict[str, Any]) -> None:
        self.kind = "Timer" if rec.get("kind") == "timer" else "Schedule"
        self.name = str(rec.get("name", "?"))
        self.count = int(rec.get("count", 0))
        self.errors = int(rec.get("errors", 0))
        self.last_error: str | None = rec.get("last_error")
        self.last_ok: bool | None = rec.get("last_ok")
        self.last_run = _local(rec.get("last_run"))
        self.last_duration: float | None = rec.get("last_duration")
        self._next_run = _local(rec.get("next_run"))
        self.paused = bool(rec.get("paused", False))
        self.completed = bool(rec.get("completed", False))
        self.running = int(rec.get("running", 0))
        self.limit = int(rec.get("limit", 0))
        self.state = str(rec.get("state") or ("paused" if self.paused else "waiting"))
        self.interval = float(rec.get("interval", 0.0) or 0.0)
        self.sources = [str(c) for c in rec.get("crons", ())]
        self.crons = self.sources

    @property
    def next_run(self) -> datetime | None:
        """When it runs next. A heartbeat is up to 2 s old: a timer's next run that has passed since
        is carried forward by its interval (timers run at a fixed rate), not shown as overdue."""
        when = self._next_run
        if when is None or self.kind != "Timer" or self.interval <= 0 or self.paused or self.completed:
            return when
        now = datetime.now()
        if when < now:
            late = (now - when).total_seconds()
            when += timedelta(seconds=self.interval * (int(late / self.interval) + 1))
        return when


class RemoteRoute:
    """A route of another process: its request count, errors and latency percentiles."""

    def __init__(self, rec: dict[str, Any]) -> None:
        self.name = str(rec.get("name", "?"))
        method, _, path = self.name.partition(" ")
        self.method = str(rec.get("method", method))
        self.path = str(rec.get("path", path))
        self.count = int(rec.get("count", 0))
        self.errors = int(rec.get("errors", 0))
        self.last_error: str | None = rec.get("last_error")
        self.p50: float | None = rec.get("p50")
        self.p99: float | None = rec.get("p99")


class _Registry:
    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._items = list(items)

    def list(self) -> list[Any]:
        return list(self._items)


class _Http:
    def __init__(self, routes: Iterable[RemoteRoute] = ()) -> None:
        self.routes = list(routes)


class ProcessJobs:
    """What the Jobs dock needs of a server, for a process seen through its heartbeat (read-only)."""

    read_only = True

    def __init__(self, key: str, jobs: Iterable[dict[str, Any]] = ()) -> None:
        self.key = key
        """``HOST:PID``."""
        self.timers = _Registry()
        self.schedules = _Registry()
        self.http = _Http()
        self.update(jobs)

    def update(self, jobs: Iterable[dict[str, Any]]) -> None:
        """Take a newer heartbeat's job records."""
        recs = list(jobs)
        self.timers = _Registry(RemoteJob(r) for r in recs if r.get("kind") == "timer")
        self.schedules = _Registry(RemoteJob(r) for r in recs if r.get("kind") == "schedule")
        self.http = _Http(RemoteRoute(r) for r in recs if r.get("kind") == "route")

    def __repr__(self) -> str:
        return f"<ProcessJobs {self.key}>"
