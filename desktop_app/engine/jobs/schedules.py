"""Cron schedules (Pode's Add-PodeSchedule): minute resolution, aligned to :00, runs on a bounded pool."""

from __future__ import annotations

import builtins
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any

from desktop_app.engine.jobs.cron import CronExpression, parse
from desktop_app.engine.jobs.cron import next_trigger as cron_next_trigger
from desktop_app.engine.jobs.job import JobHost, job_pool
from desktop_app.engine.jobs.pooled_jobs import PooledJob, PooledJobs

log = logging.getLogger("desktop_app.engine.jobs.schedules")

DEFAULT_MAX_CONCURRENCY = 10

_MINUTE = timedelta(minutes=1)
# The loop sleeps to the next :00 but never longer than this, so a suspend (monotonic waits do not
# count it) or a wall-clock change is noticed within seconds, not a minute late.
_MAX_WAIT = 5.0
# A wall clock stepped back by less than this (DST ending, an NTP correction) does not fire the
# minutes it repeats again; a bigger step back (the clock was wrong) starts firing again at once.
_STEP_BACK = timedelta(hours=3)


def _minute(dt: datetime) -> datetime:
    return dt.replace(second=0, microsecond=0)


def _is_new_minute(minute: datetime, last: datetime) -> bool:
    """Whether the loop should tick ``minute`` after having ticked ``last``: never the same minute twice."""
    return minute > last or minute < last - _STEP_BACK


class Schedule(PooledJob):
    """One cron schedule. Read its fields freely; change it through ``server.schedules``."""

    kind = "Schedule"

    def __init__(
        self,
        name: str,
        crons: list[CronExpression],
        fn: Callable[..., Any],
        limit: int,
        start_time: datetime | None,
        end_time: datetime | None,
        args: tuple[Any, ...],
        on_start: bool,
    ) -> None:
        super().__init__(name, fn, limit, args, on_start)
        self.crons = crons
        self.start_time = start_time
        self.end_time = end_time
        self._next: datetime | None = None

    @property
    def sources(self) -> list[str]:
        """The cron expressions as given (``crons`` holds them parsed, with ``R`` atoms drawn)."""
        return [c.source for c in self.crons]

    @property
    def next_run(self) -> datetime | None:
        """The next minute a cron matches within start/end (naive local time); None when completed or paused."""
        if self.completed or self.paused:
            return None
        return self._next

    def __repr__(self) -> str:
        return f"<Schedule {self.name} {' | '.join(self.sources)} count={self.count} {self.state}>"


def _parse_crons(name: str, crons: str | list[str] | tuple[str, ...]) -> list[CronExpression]:
    exprs = [crons] if isinstance(crons, str) else list(crons)
    if not exprs:
        raise ValueError(f"[Schedule] {name}: at least one cron expression is required")
    parsed = []
    for expr in exprs:
        if not isinstance(expr, str):
            raise TypeError(f"[Schedule] {name}: a cron expression must be a string, not {expr!r}")
        try:
            parsed.append(parse(expr))
        except ValueError as err:
            raise ValueError(f"[Schedule] {name}: {err}") from err
    return parsed


def _local(name: str, what: str, dt: datetime | None) -> datetime | None:
    """Job times are naive local datetimes; an aware one is converted, so comparisons never mix the two."""
    if dt is None:
        return None
    if not isinstance(dt, datetime):
        raise TypeError(f"[Schedule] {name}: {what} must be a datetime, not {type(dt).__name__}")
    return dt.astimezone().replace(tzinfo=None) if dt.tzinfo is not None else dt


def _first_trigger(s: Schedule, now: datetime) -> datetime | None:
    """The first minute the tick loop would fire ``s`` after ``now``, or None if none before its end."""
    if s.start_time is not None and s.start_time > now:
        # The loop fires at a minute >= start_time, so a start at exactly 10:00:00 fires at 10:00;
        # cron.next_trigger is strictly after its start's minute, hence the microsecond back.
        return cron_next_trigger(s.crons, s.start_time - timedelta(microseconds=1), s.end_time)
    return cron_next_trigger(s.crons, now, s.end_time)


class Schedules(PooledJobs[Schedule]):
    """The server's schedules: a ``schedules`` thread ticks every minute and hands runs to a pool.

    Each run is ``fn(e, *args)`` on a pool thread renamed ``schedule-<name>``; at most
    ``max_concurrency`` run at once and the rest queue. Runs of one schedule may overlap (as in Pode).
    """

    kind = "Schedule"

    def __init__(self, server: JobHost) -> None:
        super().__init__(server)
        self._runs: list[tuple[str, Future[Any]]] = []  # runs not known to be done, for stop()
        self._max = DEFAULT_MAX_CONCURRENCY
        # The wall clock; tests replace it to drive minutes without waiting for them.
        self.now: Callable[[], datetime] = datetime.now

    # -- registry -------------------------------------------------------------------------------

    def add(
        self,
        name: str,
        cron: str | list[str],
        fn: Callable[..., Any],
        *,
        limit: int = 0,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        on_start: bool = False,
        args: tuple[Any, ...] | list[Any] = (),
    ) -> Schedule:
        """Add a schedule running ``fn(e, *args)`` in every minute that any of its cron expressions matches.

        A schedule with no possible trigger before ``end_time`` is born completed (``next_run`` None).

        Args:
            cron: one expression of Pode's dialect (see ``cron.parse``) or a list of them.
            limit: complete after this many runs (0 = forever); a run that raised counts.
            start_time: no run before this (naive local time).
            end_time: no run after this; the schedule then completes.
            on_start: also run once when the server starts (counts toward ``limit``).

        Raises:
            ValueError: "[Schedule] <name>: ..." for a duplicate name, a negative limit, an end_time in the
                past, a start_time not before end_time, or an invalid cron expression.

        Example:
            >>> def nightly(e):
            ...     e.state.set("ran", True)
            >>> server.schedules.add("nightly", "0 2 * * *", nightly)  # doctest: +SKIP
        """
        self._check_new(name, fn)
        crons = _parse_crons(name, cron)
        if limit < 0:
            raise ValueError(f"[Schedule] {name}: Cannot have a negative limit")
        start_time = _local(name, "start_time", start_time)
        end_time = _local(name, "end_time", end_time)
        now = self.now()
        if end_time is not None and end_time < now:
            raise ValueError(f"[Schedule] {name}: The EndTime value must be in the future")
        if start_time is not None and end_time is not None and start_time >= end_time:
            raise ValueError(f"[Schedule] {name}: Cannot have a StartTime after the EndTime")
        s = Schedule(name, crons, fn, limit, start_time, end_time, tuple(args), on_start)
        s._next = _first_trigger(s, now)
        s.completed = s._next is None
        with self._cond:
            self._register(name, s)
        return s

    def edit(
        self,
        name: str,
        cron: str | builtins.list[str] | None = None,
        fn: Callable[..., Any] | None = None,
        args: tuple[Any, ...] | builtins.list[Any] | None = None,
    ) -> Schedule:
        """Change a schedule's cron expressions, function or arguments; ``next_run`` is recomputed.

        A completed schedule stays completed (as in Pode); one whose new crons have no trigger before
        its end_time completes.

        Raises:
            KeyError: unknown schedule.
            ValueError: an invalid cron expression (the schedule is left unchanged) or fn not callable.
        """
        s = self._need(name)
        crons = _parse_crons(s.name, cron) if cron is not None else None
        if fn is not None:
            self._check_fn(s.name, fn)
        with self._cond:
            if crons is not None:
                s.crons = crons
            if fn is not None:
                s.fn = fn
            if args is not None:
                s.args = tuple(args)
            if not s.completed:
                s._next = _first_trigger(s, self.now())
                s.completed = s._next is None
        return s

    def _resumed(self, s: Schedule) -> None:
        if not s.completed:
            s._next = _first_trigger(s, self.now())
            s.completed = s._next is None

    def next_trigger(self, name: str, after: datetime | None = None) -> datetime | None:
        """The first minute after ``after`` that any of the schedule's crons matches, up to its end_time.

        Args:
            after: defaults to now, or the start_time when that is later (a start at 10:00:00 can
                trigger at 10:00, as the tick loop would fire it).

        Returns:
            The trigger time, or None when there is none before end_time.

        Raises:
            KeyError: unknown schedule.
            ValueError: ``after`` is before the schedule's start_time or after its end_time.
        """
        s = self._need(name)
        if after is None:
            return _first_trigger(s, self.now())
        after = _local(s.name, "after", after)
        assert after is not None
        if s.start_time is not None and after < s.start_time:
            raise ValueError(
                f"[Schedule] {s.name}: Supplied date is before the start time of the schedule at {s.start_time}"
            )
        if s.end_time is not None and after > s.end_time:
            raise ValueError(
                f"[Schedule] {s.name}: Supplied date is after the end time of the schedule at {s.end_time}"
            )
        return cron_next_trigger(s.crons, after, s.end_time)

    @property
    def max_concurrency(self) -> int:
        """How many schedule runs may execute at once (default 10); more queue until a thread is free."""
        return self._max

    @max_concurrency.setter
    def max_concurrency(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"Maximum concurrent schedules must be >=1 but got: {value}")
        with self._cond:
            if value == self._max:
                return
            self._max = value
            if self._pool is not None:
                self._pool.max_workers = value  # surplus threads end once their run returns

    # -- running --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the minute loop; first complete expired schedules and run the ``on_start`` ones."""
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._pool = job_pool(self._max, "schedule")
            now = self.now()
            for s in self._items.values():
                if s.completed or s._exhausted():
                    continue
                # next_run was computed when the schedule was added, maybe long ago.
                s._next = _first_trigger(s, now)
                if s._next is None or (s.end_time is not None and s.end_time < now):
                    s.completed, s._next = True, None
            for s in self._items.values():
                if s.on_start and not s.completed and not s.paused:
                    self._fire(s, now)
            self._thread = threading.Thread(
                target=self._loop, args=(_minute(now),), name="schedules", daemon=True
            )
            self._thread.start()

    def _stopped(self) -> builtins.list[str]:
        stuck: list[str] = []
        for name, fut in self._runs:
            if not fut.done() and f"schedule-{name}" not in stuck:
                stuck.append(f"schedule-{name}")
        self._runs = [(n, f) for n, f in self._runs if not f.done()]
        return stuck

    def _loop(self, last: datetime) -> None:
        # Like Pode, the first tick is at the next :00 after start (the start minute is not evaluated).
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    now = self.now()
                    minute = _minute(now)
                    if _is_new_minute(minute, last):
                        break
                    # A few ms past :00, so a wake-up just before the boundary does not spin.
                    wait = (minute + _MINUTE - now).total_seconds() + 0.005
                    self._cond.wait(min(_MAX_WAIT, max(0.0, wait)))
            # Missed minutes (a suspended machine, a slow wake-up) are not caught up, as in Pode.
            last = minute
            self._tick(minute)

    def _tick(self, minute: datetime) -> builtins.list[Future[Any]]:
        """Fire every schedule due at ``minute``, then complete the ones past their end_time.

        The loop calls this once per minute; tests call it to drive a minute deterministically.

        Returns:
            The runs it submitted to the pool (none when the schedules are not started).
        """
        minute = _minute(minute)
        runs: list[Future[Any]] = []
        with self._cond:
            if self._pool is None or self._stopping:
                return runs
            for s in list(self._items.values()):
                if s.completed or s.paused or s._exhausted():
                    continue
                if s.start_time is not None and s.start_time > minute:
                    continue
                if s.end_time is not None and s.end_time < minute:
                    continue
                if any(c.matches(minute) for c in s.crons):
                    runs.append(self._fire(s, minute))
            for s in self._items.values():
                if not s.completed and s.end_time is not None and s.end_time < minute:
                    s._next = None
                    # a run still queued completes it when it starts (completed never precedes a count)
                    if not s.pending:
                        s.completed = True
        return runs

    def _fire(self, s: Schedule, at: datetime) -> Future[Any]:
        """Hand a run of ``s`` at ``at`` to the pool (caller holds the condition).

        The run is ``pending`` until a thread starts it; only then do ``count``, ``last_run`` and, for
        the last run, ``completed`` change, so they never claim a run that is still queued.
        """
        last = s._dispatch()
        if last:
            s._next = None
        else:
            s.crons = [c.reroll() for c in s.crons]
            s._next = _first_trigger(s, at)
            last = s._next is None  # no trigger left before end_time: this run completes it
        fut = self._submit(s, at, last)
        self._runs = [(n, f) for n, f in self._runs if not f.done()]
        self._runs.append((s.name, fut))
        return fut
