"""Instrumented re-entrant lockables (Pode's Lock-PodeObject) with contention statistics for the timeline."""

from __future__ import annotations

import math
import sys
import threading
import time
import traceback
import weakref
from bisect import bisect_left
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from threading import current_thread
from types import TracebackType
from typing import Any

clock = time.monotonic
"""The clock every lock time is measured on (seconds, monotonic); the timeline uses it too."""

# Histogram buckets: 1 us .. ~100 s, 8 buckets per power of two (about 9 % resolution).
_BUCKETS_PER_OCTAVE = 8
_MIN_SECONDS = 1e-6
_N_BUCKETS = int(math.log2(100 / _MIN_SECONDS) * _BUCKETS_PER_OCTAVE) + 2
_BOUNDS = [_MIN_SECONDS * 2 ** (i / _BUCKETS_PER_OCTAVE) for i in range(_N_BUCKETS)]

RING_SIZE = 4096
SLOW_WAIT_KEEP = 200

_THIS_FILE = __file__
_SKIP_FILES = {_THIS_FILE, __import__("contextlib").__file__}


_LAST = _N_BUCKETS - 1


def _bucket(seconds: float) -> int:
    return bisect_left(_BOUNDS, seconds, 0, _LAST)


class _Histogram:
    """A bounded log-scale histogram: count, total, max and percentiles in O(buckets)."""

    __slots__ = ("buckets", "count", "max", "total")

    def __init__(self) -> None:
        self.buckets = [0] * _N_BUCKETS
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        self.buckets[_bucket(seconds)] += 1
        self.count += 1
        self.total += seconds
        if seconds > self.max:
            self.max = seconds

    def percentile(self, q: float) -> float:
        if not self.count:
            return 0.0
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for i, n in enumerate(self.buckets):
            seen += n
            if seen >= rank:
                return min(_BOUNDS[i], self.max)
        return self.max

    def figures(self) -> TimeFigures:
        return TimeFigures(
            count=self.count,
            total=self.total,
            max=self.max,
            p50=self.percentile(0.50),
            p99=self.percentile(0.99),
        )


@dataclass(frozen=True)
class TimeFigures:
    """Wait or hold time figures, in seconds."""

    count: int = 0
    total: float = 0.0
    max: float = 0.0
    p50: float = 0.0
    p99: float = 0.0


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


# What the hot path stores instead of a Holder: (thread name, since, frame's file, line, ident).
# The name is read at acquire time: pool threads are renamed for each job they run.
_HoldInfo = tuple[str, float, str, int, int]


def _to_event(raw: tuple[Any, ...]) -> LockEvent:
    thread, requested, acquired, released, site, contended, waiters = raw
    if isinstance(site, tuple):  # the holder's _HoldInfo
        site = f"{site[2]}:{site[3]}"
    return LockEvent(thread, requested, acquired, released, site, contended, waiters)


def _to_holder(info: _HoldInfo | None) -> Holder | None:
    if info is None:
        return None
    thread, since, file, line, ident = info
    return Holder(thread, since, f"{file}:{line}", ident)


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


def _caller_frame() -> tuple[str, int]:
    f = sys._getframe(2)
    while f is not None and f.f_code.co_filename in _SKIP_FILES:
        f = f.f_back  # type: ignore[assignment]
    if f is None:
        return "?", 0
    return f.f_code.co_filename, f.f_lineno


_all_lockables: weakref.WeakSet[Lockable] = weakref.WeakSet()


class Lockable:
    """A named, re-entrant lock compatible with ``threading.RLock``, with contention statistics.

    The fast path is one non-blocking acquire; only when that fails is a contention counted and the
    wait timed. Statistics are written while the lock is held (or with single atomic operations such
    as ``deque.append``), so they need no second lock.

    Example:
        >>> lock = Lockable("orders")
        >>> with lock:
        ...     pass
        >>> lock.stats().acquisitions
        1
    """

    slow_wait_threshold = 0.020
    """Waits longer than this (seconds) are kept with stacks in ``slow_waits``; class-wide default."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.RLock()
        self._owner = 0
        self._depth = 0
        self._hold_info: _HoldInfo | None = None
        self._acquired_at = 0.0
        self._requested_at = 0.0
        self._was_contended = False
        self._waiting: dict[int, tuple[str, float]] = {}
        self._pending_timeouts: deque[float] = deque()
        # Raw tuples in LockEvent field order: building the dataclass is left to readers.
        self._events: deque[tuple[Any, ...]] = deque(maxlen=RING_SIZE)
        self.slow_waits: deque[SlowWait] = deque(maxlen=SLOW_WAIT_KEEP)
        self._reset_counters()
        _all_lockables.add(self)

    def _reset_counters(self) -> None:
        self._acquisitions = 0
        self._contentions = 0
        self._timeouts = 0
        self._wait = _Histogram()
        self._hold = _Histogram()
        self._lost = 0.0
        self._since = clock()
        self._apart_acquisitions = 0
        self._apart_busy = 0
        self._apart_hold = 0.0

    # -- RLock protocol -------------------------------------------------------------------------

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Acquire the lock, as ``RLock.acquire``: re-entrant; False when not acquired in time."""
        me = threading.get_ident()
        if self._owner == me:
            self._lock.acquire()
            self._depth += 1
            return True
        if self._lock.acquire(False):
            # The uncontended path, inlined: everything here runs while holding the lock.
            now = clock()
            self._owner = me
            self._depth = 1
            self._acquisitions += 1
            self._requested_at = self._acquired_at = now
            self._was_contended = False
            f = sys._getframe(1)
            code = f.f_code
            if code.co_filename in _SKIP_FILES:
                file, line = _caller_frame()
            else:
                file, line = code.co_filename, f.f_lineno
            self._hold_info = (current_thread().name, now, file, line, me)
            if self._pending_timeouts:
                self._fold_timeouts()
            return True
        requested = clock()
        if not blocking:
            self._note_failed(me, requested, requested, stacks=False)
            return False
        thread_name = threading.current_thread().name
        self._waiting[me] = (thread_name, requested)
        seen: tuple[Holder, list[str]] | None = None
        try:
            slow = max(0.0, self.slow_wait_threshold)
            if timeout < 0 or timeout > slow:
                # Contended path only: a wait that reaches the slow-wait threshold looks once at
                # what the holder is doing (its stack) while it still holds the lock; after the
                # release that is gone.
                got = self._lock.acquire(True, slow)
                if not got:
                    seen = self._holder_stack()
                    left = -1.0 if timeout < 0 else max(0.0, requested + timeout - clock())
                    got = self._lock.acquire(True, left)
            else:
                got = self._lock.acquire(True, timeout)
        finally:
            self._waiting.pop(me, None)
        now = clock()
        if got:
            self._on_acquired(me, requested, now, contended=True, seen=seen)
            return True
        self._note_failed(me, requested, now, stacks=True)
        return False

    def release(self) -> None:
        """Release one level; the last level records the hold time. Raises RuntimeError if not owned."""
        if self._owner != threading.get_ident():
            raise RuntimeError(f"cannot release lock '{self.name}': not held by this thread")
        if self._depth > 1:
            self._depth -= 1
            self._lock.release()
            return
        now = clock()
        held = now - self._acquired_at
        h = self._hold
        h.buckets[bisect_left(_BOUNDS, held, 0, _LAST)] += 1
        h.count += 1
        h.total += held
        if held > h.max:
            h.max = held
        info = self._hold_info
        if info is not None:
            # The raw site: "file:line" is built by readers.
            self._events.append(
                (info[0], self._requested_at, self._acquired_at, now, info, self._was_contended, len(self._waiting))
            )
        self._hold_info = None
        self._owner = 0
        self._depth = 0
        self._lock.release()

    __enter__ = acquire

    # -- observers --------------------------------------------------------------------------------

    def try_acquire_apart(self) -> bool:
        """Take the lock only if it is free right now, counted apart from its users' figures.

        For observers such as the studio's bridge, which copies values under the lock: watching must
        not change what is watched. The try never waits; a success or a failure is counted in
        ``LockStats.observer_*``, not in acquisitions, contentions, timeouts, hold times or the
        event ring. While it holds the lock it is the ``holder`` (a user that waits meanwhile
        really waits, and is counted). Release with ``release_apart()``.
        """
        me = threading.get_ident()
        if self._owner == me:
            self._lock.acquire()
            self._depth += 1
            return True
        if not self._lock.acquire(False):
            self._apart_busy += 1  # only observers write it; at worst two failing at once count one
            return False
        now = clock()
        self._owner = me
        self._depth = 1
        self._requested_at = self._acquired_at = now
        self._was_contended = False
        file, line = _caller_frame()
        self._hold_info = (current_thread().name, now, file, line, me)
        self._apart_acquisitions += 1
        return True

    def release_apart(self) -> None:
        """Release what ``try_acquire_apart`` took. Raises RuntimeError if not owned."""
        if self._owner != threading.get_ident():
            raise RuntimeError(f"cannot release lock '{self.name}': not held by this thread")
        if self._depth > 1:
            self._depth -= 1
            self._lock.release()
            return
        self._apart_hold += clock() - self._acquired_at
        self._hold_info = None
        self._owner = 0
        self._depth = 0
        self._lock.release()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def locked(self) -> bool:
        return self._owner != 0

    def held_by_me(self) -> bool:
        return self._owner == threading.get_ident()

    # -- bookkeeping (runs while holding the lock) ------------------------------------------------

    def _on_acquired(
        self,
        me: int,
        requested: float,
        now: float,
        *,
        contended: bool,
        seen: tuple[Holder, list[str]] | None = None,
    ) -> None:
        self._owner = me
        self._depth = 1
        self._acquisitions += 1
        self._requested_at = requested
        self._acquired_at = now
        self._was_contended = contended
        file, line = _caller_frame()
        thread = current_thread()
        self._hold_info = (thread.name, now, file, line, me)
        if self._pending_timeouts:
            self._fold_timeouts()
        if contended:
            waited = now - requested
            self._contentions += 1
            self._wait.add(waited)
            self._lost += waited
            if waited >= self.slow_wait_threshold:
                self._keep_slow_wait(thread.name, waited, now, None, timed_out=False, seen=seen)

    def _fold_timeouts(self) -> None:
        while self._pending_timeouts:
            waited = self._pending_timeouts.popleft()
            self._timeouts += 1
            self._contentions += 1
            self._wait.add(waited)
            self._lost += waited

    def _note_failed(self, me: int, requested: float, now: float, *, stacks: bool) -> None:
        # Not holding the lock here: hand the figure over through an atomic append; the next holder
        # (or stats()) folds it into the counters.
        waited = now - requested
        holder = self.holder
        name = current_thread().name
        self._pending_timeouts.append(waited)
        self._events.append((name, requested, None, now, "", True, 0))
        if stacks and waited >= self.slow_wait_threshold:
            self._keep_slow_wait(name, waited, now, holder, timed_out=True)

    def _holder_stack(self) -> tuple[Holder, list[str]] | None:
        """The holder now and its formatted stack, or None if the lock was released meanwhile."""
        holder = self.holder
        if holder is None:
            return None
        frame = sys._current_frames().get(holder.ident)
        return holder, traceback.format_stack(frame) if frame is not None else []

    def _keep_slow_wait(
        self,
        thread: str,
        waited: float,
        now: float,
        holder: Holder | None,
        *,
        timed_out: bool,
        seen: tuple[Holder, list[str]] | None = None,
    ) -> None:
        # Only slow waits pay for stacks; the holder's previous owner is what the waiter sat behind.
        holder_name: str | None
        holder_site: str | None
        holder_stack: list[str]
        if seen is not None and not timed_out:
            holder_name, holder_site, holder_stack = seen[0].thread, seen[0].site, seen[1]
        elif holder is None and not timed_out:
            prev = _to_event(self._events[-1]) if self._events else None
            holder_name = prev.thread if prev else None
            holder_site = prev.site if prev else None
            holder_stack = []
        else:
            holder_name = holder.thread if holder else None
            holder_site = holder.site if holder else None
            frame = sys._current_frames().get(holder.ident) if holder else None
            holder_stack = traceback.format_stack(frame) if frame is not None else []
        self.slow_waits.append(
            SlowWait(
                lock=self.name,
                thread=thread,
                waited=waited,
                at=now,
                holder=holder_name,
                holder_site=holder_site,
                waiter_stack=traceback.format_stack(sys._getframe(3)),
                holder_stack=holder_stack,
                timed_out=timed_out,
            )
        )

    # -- reading --------------------------------------------------------------------------------

    @property
    def holder(self) -> Holder | None:
        return _to_holder(self._hold_info)

    @property
    def events(self) -> tuple[LockEvent, ...]:
        """The ring of recent uses, oldest first (a copy, safe to keep)."""
        return tuple(_to_event(e) for e in tuple(self._events))

    def current_hold(self) -> tuple[Holder, float, bool] | None:
        """(holder, when it asked for the lock, whether it had to wait), or None when free; read without locking.

        The timeline uses it to draw the wait before a hold that is still going on (the event ring
        only has it after the release). The three figures belong to the same acquisition: they are
        written before ``_holder`` and only rewritten after a release has cleared it.
        """
        info = self._hold_info
        requested, contended = self._requested_at, self._was_contended
        if info is None or self._hold_info is not info:
            return None
        holder = _to_holder(info)
        assert holder is not None
        return holder, requested, contended

    def waiting(self) -> tuple[str, ...]:
        return tuple(name for name, _ in list(self._waiting.values()))

    def waiting_threads(self) -> list[tuple[int, str, float]]:
        """(ident, thread name, since) of each thread waiting now."""
        return [(ident, name, since) for ident, (name, since) in list(self._waiting.items())]

    def stats(self) -> LockStats:
        """A consistent-enough picture of the counters, as plain frozen data (read without locking)."""
        pending = list(self._pending_timeouts)
        wait = self._wait
        lost = self._lost + sum(pending)
        return LockStats(
            name=self.name,
            acquisitions=self._acquisitions,
            contentions=self._contentions + len(pending),
            timeouts=self._timeouts + len(pending),
            wait=wait.figures(),
            hold=self._hold.figures(),
            thread_time_lost=lost,
            holder=self.holder,
            waiting=self.waiting(),
            since=self._since,
            taken_at=clock(),
            observer_acquisitions=self._apart_acquisitions,
            observer_busy=self._apart_busy,
            observer_hold=self._apart_hold,
        )

    def reset_stats(self) -> None:
        """Zero the counters and histograms (the event ring and slow waits are cleared too)."""
        self._pending_timeouts.clear()
        self._reset_counters()
        self._events.clear()
        self.slow_waits.clear()

    def __repr__(self) -> str:
        h = self.holder
        return f"<Lockable {self.name!r} {'held by ' + h.thread if h else 'free'}>"


def all_lockables() -> list[Lockable]:
    """Every live Lockable in the process (for deadlock detection across servers)."""
    return list(_all_lockables)


class Lockables:
    """The named lockables of a server (Pode's New/Get/Test/Remove-PodeLockable); names are case-insensitive."""

    def __init__(self) -> None:
        self._items: dict[str, Lockable] = {}
        self._mutex = threading.Lock()

    def new(self, name: str) -> Lockable:
        """Create the named lockable, or return the existing one (Pode: a silent no-op)."""
        if not name:
            raise ValueError("a lockable needs a name")
        key = name.casefold()
        with self._mutex:
            found = self._items.get(key)
            if found is None:
                found = self._items[key] = Lockable(name)
            return found

    def get(self, name: str) -> Lockable | None:
        return self._items.get(name.casefold())

    def test(self, name: str) -> bool:
        return name.casefold() in self._items

    def remove(self, name: str) -> None:
        with self._mutex:
            self._items.pop(name.casefold(), None)

    def clear(self) -> None:
        with self._mutex:
            self._items.clear()

    def list(self) -> list[Lockable]:
        return list(self._items.values())

    def __iter__(self) -> Iterator[Lockable]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self._items)


class LockGuard:
    """The context manager ``server.lock()`` returns: acquires with a timeout, raises LockTimeout."""

    __slots__ = ("_check_global", "_global", "_target", "_timeout")

    def __init__(
        self, target: Lockable, timeout: float | None, check_global: Lockable | None
    ) -> None:
        if timeout is not None and timeout < 0:
            raise ValueError(f"lock timeout must be >= 0 seconds or None, got {timeout}")
        self._target = target
        self._timeout = timeout
        self._global = check_global

    def __enter__(self) -> Lockable:
        if self._timeout is None and self._global is None:
            self._target.acquire()
            return self._target
        deadline = None if self._timeout is None else clock() + self._timeout
        if self._global is not None and self._global is not self._target:
            # Pode #781: wait until global is free, but do not keep holding it.
            self._take(self._global, deadline)
            self._global.release()
        self._take(self._target, deadline)
        return self._target

    def _take(self, lock: Lockable, deadline: float | None) -> None:
        if deadline is None:
            lock.acquire()
            return
        remaining = max(0.0, deadline - clock())
        got = lock.acquire(True, remaining) if remaining > 0 else lock.acquire(False)
        if not got:
            raise LockTimeout(lock.name, self._timeout or 0.0, lock.holder)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._target.release()
