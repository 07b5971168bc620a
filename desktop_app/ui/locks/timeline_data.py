"""The contention timeline's data types: segments, lanes, lock snapshots, and how durations and code sites read."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from desktop_app.engine.locks import Holder, Lockable, LockEvent

WINDOWS = (5.0, 10.0, 30.0, 60.0)
"""The time windows (seconds) a person can choose; 10 s is the default."""


class SegmentKind(enum.Enum):
    """What a thread was doing with a lock: Tracy's three lock states."""

    WAIT = "wait"
    HOLD = "hold"
    HOLD_CONTENDED = "hold_contended"


def short_site(site: str) -> str:
    """``/a/b/server.py:27`` -> ``server.py:27`` (file name and line)."""
    path, sep, line = site.rpartition(":")
    if not sep or not line.isdigit():
        return site.replace("\\", "/").rsplit("/", 1)[-1]
    return f"{path.replace(chr(92), '/').rsplit('/', 1)[-1]}:{line}"


def format_duration(seconds: float) -> str:
    """A duration for people: ``0.42 ms``, ``3.5 ms``, ``180 ms``, ``1.25 s``, ``2 min 05 s``."""
    if seconds < 0:
        seconds = 0.0
    ms = seconds * 1000.0
    if ms == 0:
        return "0 ms"
    if ms < 0.01:
        return "<0.01 ms"
    if ms < 1:
        return f"{ms:.2f} ms"
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 999.5:
        return f"{ms:.0f} ms"
    if seconds < 59.995:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


class Segment(NamedTuple):
    """A stretch of one thread's time on one lock, clipped to the timeline's window.

    ``began``/``ended`` are the whole wait or hold this piece belongs to (a hold is cut into
    HOLD and HOLD_CONTENDED pieces where others start and stop waiting). For a WAIT, ``others``
    is the thread that held the lock when the wait began (``other_site`` its code site) and
    ``more`` how many other threads held it before the wait ended; for HOLD_CONTENDED it is the
    threads that waited during the piece.
    """

    kind: SegmentKind
    lock: str
    start: float
    end: float
    thread: str
    began: float
    ended: float
    site: str = ""
    others: tuple[str, ...] = ()
    other_site: str = ""
    more: int = 0
    live: bool = False
    timed_out: bool = False

    @property
    def duration(self) -> float:
        """The visible length (clipped to the window), seconds."""
        return self.end - self.start

    @property
    def total(self) -> float:
        """The whole wait or hold this piece belongs to, seconds."""
        return self.ended - self.began

    @property
    def contended(self) -> bool:
        return self.kind is not SegmentKind.HOLD

    @property
    def detail(self) -> str:
        """What a tooltip says, e.g. "waited 180 ms for global, held by timer-forever at server.py:27"."""
        took = format_duration(self.total)
        if self.kind is SegmentKind.WAIT:
            if self.timed_out:
                text = f"gave up after {took} waiting for {self.lock}"
            elif self.live:
                text = f"waiting {took} so far for {self.lock}"
            else:
                text = f"waited {took} for {self.lock}"
            if self.others:
                text += f", held by {self.others[0]}"
                if self.other_site:
                    text += f" at {short_site(self.other_site)}"
                if self.more:
                    text += f" (then {self.more} other thread{'s' if self.more > 1 else ''})"
            return text
        verb = f"holding {self.lock} for {took} so far" if self.live else f"held {self.lock} for {took}"
        text = f"{verb} at {short_site(self.site)}" if self.site else verb
        if self.kind is SegmentKind.HOLD_CONTENDED and self.others:
            who = ", ".join(self.others[:4]) + (
                f" and {len(self.others) - 4} more" if len(self.others) > 4 else ""
            )
            text += f" while {who} waited"
        return text


@dataclass(frozen=True)
class LockSnapshot:
    """What the timeline needs from one lockable, read without locking."""

    name: str
    events: Sequence[LockEvent] = ()
    holder: Holder | None = None
    holder_requested: float | None = None
    holder_contended: bool = False
    waiters: Sequence[tuple[int, str, float]] = ()

    @classmethod
    def take(cls, lockable: Lockable) -> LockSnapshot:
        """Copy a lockable's waiters, holder and event ring, in that order.

        A thread that moves on meanwhile then shows twice (waiter and holder, or holder and
        event), which the timeline folds into one, rather than not at all.
        """
        waiters = tuple(lockable.waiting_threads())
        hold = lockable.current_hold()
        events: tuple[LockEvent, ...] = ()
        for _ in range(5):  # the ring may be appended to while it is copied
            try:
                events = tuple(lockable.events)
                break
            except RuntimeError:
                continue
        if hold is None:
            return cls(lockable.name, events, None, None, False, waiters)
        holder, requested, contended = hold
        return cls(lockable.name, events, holder, requested, contended, waiters)


@dataclass(frozen=True)
class Lane:
    """One thread's lane: a row of segments per lock it used in the window."""

    thread: str
    rows: tuple[tuple[str, tuple[Segment, ...]], ...]

    @property
    def locks(self) -> tuple[str, ...]:
        return tuple(lock for lock, _ in self.rows)

    @property
    def segments(self) -> list[Segment]:
        """Every segment of the lane, by start time."""
        return sorted((s for _, segs in self.rows for s in segs), key=lambda s: s.start)

    def segments_for(self, lock: str) -> tuple[Segment, ...]:
        for name, segs in self.rows:
            if name == lock:
                return segs
        return ()

    @property
    def contended(self) -> bool:
        return any(s.kind is not SegmentKind.HOLD for _, segs in self.rows for s in segs)

    @property
    def waited(self) -> float:
        """Seconds this thread spent waiting within the window."""
        return sum(s.duration for _, segs in self.rows for s in segs if s.kind is SegmentKind.WAIT)


@dataclass(frozen=True)
class Timeline:
    """Lanes of segments between ``start`` and ``end`` (``locks.clock()`` seconds)."""

    start: float
    end: float
    lanes: tuple[Lane, ...] = ()
    locks: tuple[str, ...] = ()
    only_contended: bool = False
    overrun: tuple[str, ...] = ()
    """Locks whose event ring turned over between two samples: their lanes have gaps."""
    _by_thread: dict[str, Lane] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_thread.update((lane.thread, lane) for lane in self.lanes)

    @property
    def window(self) -> float:
        return self.end - self.start

    def lane(self, thread: str) -> Lane | None:
        return self._by_thread.get(thread)

    def segments(
        self, *, kind: SegmentKind | None = None, thread: str | None = None, lock: str | None = None
    ) -> list[Segment]:
        """Segments matching all the given filters, by start time."""
        lanes = self.lanes if thread is None else [ln for ln in self.lanes if ln.thread == thread]
        out = [
            s
            for ln in lanes
            for name, segs in ln.rows
            if lock is None or name == lock
            for s in segs
            if kind is None or s.kind is kind
        ]
        out.sort(key=lambda s: s.start)
        return out
