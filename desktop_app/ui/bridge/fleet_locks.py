"""A lockable of a whole fleet, read the way the Locks dock reads a Lockable (no I/O, GUI thread only).

Each process publishes its own counters for a lockable (every heartbeat) and its uses (the
lock-event stream); Redis holds the current holder and the registered waiters. ``FleetLockable``
puts them together: ``stats()`` is the sum over processes (``per_process`` has each one), the
holder is ``HOST:PID/THREAD`` (with a note when that process stopped and its lease still runs),
and ``events`` are every process's uses in time order, for one timeline lane per process/thread.
"""

from __future__ import annotations

import zlib
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from desktop_app.engine.locks import RING_SIZE, Holder, LockEvent, LockStats, TimeFigures, clock
from desktop_app.engine.redis.fleet import LockFigures, LockState, LockUse, process_of

USE_SETTLE = 0.8
"""Seconds a use waits before it joins the timeline: processes send their uses in batches every
quarter second, so a use can arrive after a later one of another process; holds go in in time order."""
TIMELINE_LAG = USE_SETTLE + 0.4
"""Seconds the fleet's timeline runs behind the present: the timeline draws a stretch of time once,
so it waits until every process's uses of that stretch have arrived and settled."""
USE_KEEP = 30.0
"""Seconds of uses kept per process to count what happened after its last heartbeat."""


def ident_of(who: str) -> int:
    """A stable number for ``HOST:PID/THREAD`` (the deadlock finder keys threads by number)."""
    return zlib.crc32(who.encode()) or 1


@dataclass(frozen=True)
class ProcessFigures:
    """One process's counters for one lockable: its last heartbeat plus the uses seen since."""

    process: str
    figures: LockFigures
    alive: bool = True

    @property
    def waiting(self) -> tuple[str, ...]:
        return tuple(f"{self.process}/{t}" for t in self.figures.waiting)


def _sum_figures(parts: list[TimeFigures]) -> TimeFigures:
    """Counts and totals add up; the percentiles are the largest of the processes' (an upper bound)."""
    live = [f for f in parts if f.count]
    if not live:
        return TimeFigures()
    return TimeFigures(
        sum(f.count for f in live),
        sum(f.total for f in live),
        max(f.max for f in live),
        max(f.p50 for f in live),
        max(f.p99 for f in live),
    )


class FleetLockable:
    """One lockable of the namespace (see the module docstring). Updated by the FleetMonitor."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.key = name.casefold()
        self.slow_waits: deque[Any] = deque()
        """Always empty: the stacks of a slow wait stay in the process that waited."""
        self._figures: dict[str, tuple[LockFigures, float]] = {}  # process -> (heartbeat figures, its time)
        self._alive: dict[str, bool] = {}
        self._recent: dict[str, deque[LockUse]] = {}  # process -> uses (by arrival), for counting
        self._events: deque[LockEvent] = deque(maxlen=RING_SIZE)
        self._unsettled: list[tuple[float, LockEvent]] = []
        self._holder: Holder | None = None
        self._holder_requested = 0.0
        self._note = ""
        self._lease_end = 0.0
        self._waiters: list[tuple[int, str, float]] = []
        self._first_seen: dict[str, float] = {}

    # -- updates (FleetMonitor, GUI thread) ---------------------------------------------------------

    def set_figures(self, process: str, figures: LockFigures, at: float) -> None:
        """A heartbeat's counters for this lockable, taken at ``at`` (seconds since the epoch)."""
        self._figures[process] = (figures, at)
        recent = self._recent.get(process)
        if recent is not None:
            while recent and _when(recent[0]) <= at - USE_KEEP:
                recent.popleft()

    def set_alive(self, alive: dict[str, bool]) -> None:
        self._alive = alive

    def set_state(self, state: LockState, offset: float, alive: dict[str, bool]) -> None:
        """The holder and registered waiters from Redis; ``offset`` turns epoch seconds into ``clock()``.

        ``alive``: each process seen beating, and whether it still does.
        """
        now = clock()
        h = state.holder
        if h is None:
            self._holder, self._note = None, ""
        else:
            since = min(now, h.since + offset)
            same = (
                self._holder is not None
                and self._holder.thread == h.who
                and abs(self._holder.since - since) < 1e-3
            )
            if not same:
                self._holder = Holder(h.who, since, h.site, ident_of(h.who))
                self._holder_requested = since
            self._lease_end = now + h.lease_left
            # a process never seen beating (a plain script on the state) is not called stopped
            self._note = "process stopped" if alive.get(h.process) is False else ""
        seen = {}
        for who in state.waiters:
            seen[who] = self._first_seen.get(who, now)
        self._first_seen = seen
        self._waiters = [(ident_of(who), who, since) for who, since in seen.items()]

    def add_use(self, use: LockUse, offset: float) -> None:
        """A use from the stream: counted at once, drawn on the timeline once it settled."""
        process = process_of(use.who)
        self._recent.setdefault(process, deque(maxlen=RING_SIZE)).append(use)
        acquired = use.acquired + offset if use.acquired is not None else None
        event = LockEvent(
            use.who,
            use.requested + offset,
            acquired,
            use.released + offset,
            use.site,
            use.contended,
            use.waiters,
        )
        self._unsettled.append((use.released + offset, event))

    def settle(self) -> None:
        """Move the uses old enough to be in order onto the timeline ring, oldest hold first."""
        if not self._unsettled:
            return
        horizon = clock() - USE_SETTLE
        ready = [e for t, e in self._unsettled if t <= horizon]
        if not ready:
            return
        self._unsettled = [(t, e) for t, e in self._unsettled if t > horizon]
        ready.sort(key=lambda e: e.acquired if e.acquired is not None else e.released)
        self._events.extend(ready)

    # -- read like a Lockable -----------------------------------------------------------------------

    @property
    def per_process(self) -> list[ProcessFigures]:
        """Each process's counters (its last heartbeat plus the uses seen since), by process name."""
        out = []
        for process in sorted(self._figures):
            figures, at = self._figures[process]
            out.append(
                ProcessFigures(
                    process, self._since_heartbeat(figures, at, process), self._alive.get(process, False)
                )
            )
        return out

    def _since_heartbeat(self, f: LockFigures, at: float, process: str) -> LockFigures:
        """Add the uses the stream brought after the heartbeat: the table's counts move live."""
        acq = cont = timeouts = 0
        for use in self._recent.get(process, ()):
            if use.acquired is None:
                if use.released > at:
                    timeouts += 1
                    cont += 1
            elif use.acquired > at:
                acq += 1
                cont += use.contended
        if not (acq or cont or timeouts):
            return f
        return replace(
            f,
            acquisitions=f.acquisitions + acq,
            contentions=f.contentions + cont,
            timeouts=f.timeouts + timeouts,
        )

    @property
    def holder(self) -> Holder | None:
        """``HOST:PID/THREAD`` holding it now; a stopped holder's name says so and when its lease ends."""
        h = self._holder
        if h is None or not self._note:
            return h
        left = max(0.0, self._lease_end - clock())
        return Holder(f"{h.thread} ({self._note}; lease ends in {left:.0f} s)", h.since, h.site, h.ident)

    @property
    def holder_stopped(self) -> bool:
        """True while the holder is a process that stopped beating (it keeps the lock until its lease ends)."""
        return self._holder is not None and bool(self._note)

    def locked(self) -> bool:
        return self._holder is not None

    def current_hold(self) -> tuple[Holder, float, bool] | None:
        h = self._holder
        return None if h is None else (h, self._holder_requested, False)

    def waiting_threads(self) -> list[tuple[int, str, float]]:
        """Waiters registered in Redis (one per process), then other threads the heartbeats name."""
        out = list(self._waiters)
        seen = {who for _, who, _ in out}
        now = clock()
        for pf in self.per_process:
            if not pf.alive:
                continue
            for who in pf.waiting:
                if who not in seen:
                    seen.add(who)
                    out.append((ident_of(who), who, self._first_seen.setdefault(who, now)))
        return out

    def waiting(self) -> tuple[str, ...]:
        return tuple(who for _, who, _ in self.waiting_threads())

    @property
    def events(self) -> tuple[LockEvent, ...]:
        return tuple(self._events)

    def stats(self) -> LockStats:
        """The fleet's figures: every process's counters added up (percentiles: the largest)."""
        parts = [pf.figures for pf in self.per_process]
        counting = max((f.counting for f in parts), default=0.0)
        now = clock()
        return LockStats(
            name=self.name,
            acquisitions=sum(f.acquisitions for f in parts),
            contentions=sum(f.contentions for f in parts),
            timeouts=sum(f.timeouts for f in parts),
            wait=_sum_figures([f.wait for f in parts]),
            hold=_sum_figures([f.hold for f in parts]),
            thread_time_lost=sum(f.lost for f in parts),
            holder=self.holder,
            waiting=self.waiting(),
            since=now - counting,
            taken_at=now,
        )

    def reset_stats(self) -> None:
        """Nothing to reset here: the counters belong to each process (the dock disables its button)."""

    def __repr__(self) -> str:
        return f"<FleetLockable {self.name!r} {len(self._figures)} processes>"


def _when(use: LockUse) -> float:
    return use.acquired if use.acquired is not None else use.released
