"""What a lockable's statistics read as: plain frozen data built from the hot path's raw records.

The hot path (``hotpath``, compiled or pure) records idents, clock readings, code objects and
instruction offsets; this module turns them into ``Holder``, ``LockEvent``, ``TimeFigures`` and
``LockStats`` only when someone reads them (the Locks dock, the timeline, a ``LockTimeout``).
``locks.py`` holds the Lockable itself and re-exports every public name here, so users keep
importing them from ``desktop_app.engine.locks``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import CodeType
from typing import Any

from desktop_app.engine import hotpath
from desktop_app.engine.hotpath import BOUNDS as _BOUNDS
from desktop_app.engine.hotpath import thread_names

clock = hotpath.clock
"""The clock every lock time is measured on (seconds, monotonic); the timeline uses it too."""


@dataclass(frozen=True)
class TimeFigures:
    """Wait or hold time figures, in seconds."""

    count: int = 0
    total: float = 0.0
    max: float = 0.0
    p50: float = 0.0
    p99: float = 0.0


def _percentile(buckets: list[int], count: int, largest: float, q: float) -> float:
    if not count:
        return 0.0
    rank = max(1, math.ceil(q * count))
    seen = 0
    for i, n in enumerate(buckets):
        seen += n
        if seen >= rank:
            return min(_BOUNDS[i], largest)
    return largest


def _figures(raw: tuple[int, float, float, list[int]]) -> TimeFigures:
    count, total, largest, buckets = raw
    return TimeFigures(
        count=count,
        total=total,
        max=largest,
        p50=_percentile(buckets, count, largest, 0.50),
        p99=_percentile(buckets, count, largest, 0.99),
    )


class Holder:
    """Who holds a lockable now: thread name, since when (``clock()``), and the code site ``file:line``."""

    __slots__ = ("ident", "since", "site", "thread")

    def __init__(self, thread: str, since: float, site: str, ident: int = 0) -> None:
        self.thread = thread
        self.since = since
        self.site = site
        self.ident = ident

    @property
    def held_for(self) -> float:
        return clock() - self.since

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Holder):
            return NotImplemented
        return (self.thread, self.since, self.site, self.ident) == (other.thread, other.since, other.site, other.ident)

    def __hash__(self) -> int:
        return hash((self.thread, self.since, self.site, self.ident))

    def __repr__(self) -> str:
        return f"Holder(thread={self.thread!r}, since={self.since!r}, site={self.site!r})"


@dataclass(frozen=True)
class LockEvent:
    """One use of a lockable, for the timeline. ``acquired`` is None when the wait timed out."""

    thread: str
    requested: float
    acquired: float | None
    released: float
    site: str = ""
    contended: bool = False
    waiters_at_release: int = 0


@dataclass(frozen=True)
class SlowWait:
    """A wait longer than the lockable's threshold, with the stacks of the waiter and the holder."""

    lock: str
    thread: str
    waited: float
    at: float
    holder: str | None
    holder_site: str | None
    waiter_stack: list[str] = field(default_factory=list)
    holder_stack: list[str] = field(default_factory=list)
    timed_out: bool = False


@dataclass(frozen=True)
class LockStats:
    """A plain-data picture of one lockable's statistics, safe to hand to another thread."""

    name: str
    acquisitions: int
    contentions: int
    timeouts: int
    wait: TimeFigures
    hold: TimeFigures
    thread_time_lost: float
    holder: Holder | None
    waiting: tuple[str, ...]
    since: float
    taken_at: float
    observer_acquisitions: int = 0
    """Uses by observers (the studio's bridge, ``try_acquire_apart``): not in any figure above."""
    observer_busy: int = 0
    """Observer tries that found the lock held (an observer never waits, so these cost no one anything)."""
    observer_hold: float = 0.0
    """Seconds observers held the lock in all."""

    @property
    def contention_pct(self) -> float:
        return 100.0 * self.contentions / self.acquisitions if self.acquisitions else 0.0

    @property
    def rate(self) -> float:
        """Acquisitions per second since the counters were last reset."""
        span = self.taken_at - self.since
        return self.acquisitions / span if span > 0 else 0.0


class LockTimeout(TimeoutError):
    """A lockable was not acquired in time. The message names the lock, the holder and how long it has held it."""

    def __init__(self, lock: str, timeout: float, holder: Holder | None) -> None:
        self.lock = lock
        self.timeout = timeout
        self.holder = holder
        if holder is not None:
            who = f"held by {holder.thread} for {holder.held_for:.3f}s at {holder.site}"
        else:
            who = "holder unknown (released meanwhile)"
        super().__init__(f"Timed out after {timeout:.3f}s waiting for lock '{lock}', {who}")


# Sites are recorded as (code object, instruction offset) and turned into "file:line" when read;
# the text is cached per code object (kept alive by the cache, so its id stays unique).
_site_cache: dict[int, tuple[CodeType, dict[int, str]]] = {}
_SITE_CACHE_MAX = 4096


def _line_of(code: CodeType, lasti: int) -> int:
    for start, end, line in code.co_lines():
        if start <= lasti < end:
            return line if line is not None else code.co_firstlineno
    return code.co_firstlineno


def _site(code: CodeType | None, lasti: int) -> str:
    """``file:line`` of a recorded site ("?:0" when there was no Python caller)."""
    if code is None:
        return "?:0"
    slot = _site_cache.get(id(code))
    if slot is None or slot[0] is not code:
        if len(_site_cache) >= _SITE_CACHE_MAX:
            _site_cache.clear()
        slot = _site_cache[id(code)] = (code, {})
    text = slot[1].get(lasti)
    if text is None:
        text = slot[1][lasti] = f"{code.co_filename}:{_line_of(code, lasti)}"
    return text


def _to_event(raw: tuple[Any, ...]) -> LockEvent:
    ident, requested, acquired, released, code, lasti, contended, waiters = raw
    return LockEvent(
        thread_names.name_of(ident, mono=requested),
        requested,
        acquired,
        released,
        "" if acquired is None else _site(code, lasti),
        contended,
        waiters,
    )


def _to_events(raws: list[tuple[Any, ...]]) -> tuple[LockEvent, ...]:
    """``_to_event`` for a whole ring: names and sites repeat, so each is resolved once per call."""
    spans: dict[int, tuple[float, float, str]] = {}  # ident -> (since, until, name) last resolved
    last_code, last_lasti, last_site = None, -2, ""  # consecutive events mostly share a site
    out = []
    for ident, requested, acquired, released, code, lasti, contended, waiters in raws:
        span = spans.get(ident)
        if span is None or not span[0] <= requested < span[1]:
            span = spans[ident] = thread_names.name_span(ident, requested)
        if acquired is None:
            site = ""
        elif code is last_code and lasti == last_lasti:
            site = last_site
        else:
            site = last_site = _site(code, lasti)
            last_code, last_lasti = code, lasti
        out.append(LockEvent(span[2], requested, acquired, released, site, contended, waiters))
    return tuple(out)


def _to_holder(raw: tuple[Any, ...] | None) -> Holder | None:
    if raw is None:
        return None
    ident, since, code, lasti, _requested, _contended = raw
    return Holder(thread_names.name_of(ident, mono=since), since, _site(code, lasti), ident)
