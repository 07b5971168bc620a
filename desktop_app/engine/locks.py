"""Instrumented re-entrant lockables (Pode's Lock-PodeObject) with contention statistics for the timeline.

The Lockable's hot path (acquire, release, ``with``, and an observer's ``try_acquire_apart``) is
``hotpath.LockCore``, compiled when built; this module adds the slow path (waiters, timeouts,
slow-wait stacks) and the readers. The plain data they return (``LockStats``, ``Holder``,
``LockEvent``, ``SlowWait``, ``TimeFigures``, ``LockTimeout``) lives in ``lock_records.py`` and is
importable from here.
"""

from __future__ import annotations

import sys
import threading
import traceback
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from threading import current_thread
from types import CodeType, FrameType, TracebackType

from desktop_app.engine import hotpath
from desktop_app.engine.lock_records import (
    Holder,
    LockEvent,
    LockStats,
    LockTimeout,
    SlowWait,
    TimeFigures,
    _figures,
    _to_event,
    _to_events,
    _to_holder,
    clock,
)

__all__ = [
    "RING_SIZE",
    "SLOW_WAIT_KEEP",
    "Holder",
    "LockEvent",
    "LockGuard",
    "LockStats",
    "LockTimeout",
    "Lockable",
    "Lockables",
    "SlowWait",
    "TimeFigures",
    "all_lockables",
    "clock",
]

RING_SIZE = hotpath.RING_SIZE
SLOW_WAIT_KEEP = 200


def _here() -> None:
    """Only its code object's file name is used: frames of this file are not "the caller"."""


hotpath.skip_frames_in(_here.__code__.co_filename)


def _user_frame() -> FrameType | None:
    """The innermost frame outside the lock machinery (this file, the hot paths, contextlib)."""
    skip = hotpath.skip_files()
    f: FrameType | None = sys._getframe(1)
    while f is not None and f.f_code.co_filename in skip:
        f = f.f_back
    return f


def _caller_site() -> tuple[CodeType | None, int]:
    f = _user_frame()
    return (f.f_code, f.f_lasti) if f is not None else (None, -1)


_all_lockables: weakref.WeakSet[Lockable] = weakref.WeakSet()


class Lockable(hotpath.LockCore):
    """A named, re-entrant lock compatible with ``threading.RLock``, with contention statistics.

    The RLock protocol (``acquire``, ``release``, ``with``, ``locked``, ``held_by_me``) is the hot
    path's (``hotpath.LockCore``, compiled when built): one non-blocking try; only when that fails
    does ``_acquire_contended`` below count a contention, time the wait, list the waiter and keep
    slow waits with stacks. Statistics are written while the lock is held, so they need no second
    lock. Thread names and code sites are recorded as idents and code objects and turned into text
    only when read (``events``, ``holder``, ``stats()``). An observer (the studio's bridge) takes it
    with ``try_acquire_apart()`` / ``release_apart()``: never waiting, counted only in
    ``LockStats.observer_*``.

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
        super().__init__()
        self.name = name
        self.slow_waits: deque[SlowWait] = deque(maxlen=SLOW_WAIT_KEEP)
        _all_lockables.add(self)

    # -- the slow path (the hot path calls it when the non-blocking try failed) ----------------------

    def _acquire_contended(self, me: int, blocking: bool, timeout: float) -> bool:
        requested = clock()
        if not blocking:
            self._note_failed(me, requested, requested, stacks=False)
            return False
        thread_name = current_thread().name
        self._waiting[me] = (thread_name, requested)
        seen: tuple[Holder, list[str]] | None = None
        try:
            slow = max(0.0, self.slow_wait_threshold)
            if timeout < 0 or timeout > slow:
                # A wait that reaches the slow-wait threshold looks once at what the holder is doing
                # (its stack) while it still holds the lock; after the release that is gone.
                got = self._wait_lock(slow)
                if not got:
                    seen = self._holder_stack()
                    left = -1.0 if timeout < 0 else max(0.0, requested + timeout - clock())
                    got = self._wait_lock(left)
            else:
                got = self._wait_lock(timeout)
        finally:
            self._waiting.pop(me, None)
        now = clock()
        if got:
            code, lasti = _caller_site()
            self._took(me, requested, now, code, lasti, True)
            waited = now - requested
            if waited >= self.slow_wait_threshold:
                self._keep_slow_wait(thread_name, waited, now, None, timed_out=False, seen=seen)
            return True
        self._note_failed(me, requested, now, stacks=True)
        return False

    def _note_failed(self, me: int, requested: float, now: float, *, stacks: bool) -> None:
        waited = now - requested
        holder = self.holder
        self._failed(me, requested, now)
        if stacks and waited >= self.slow_wait_threshold:
            self._keep_slow_wait(current_thread().name, waited, now, holder, timed_out=True)

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
            last = self._last_event_raw()
            prev = _to_event(last) if last is not None else None
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
                waiter_stack=traceback.format_stack(_user_frame()),
                holder_stack=holder_stack,
                timed_out=timed_out,
            )
        )

    # -- reading --------------------------------------------------------------------------------

    @property
    def holder(self) -> Holder | None:
        return _to_holder(self._hold_raw())

    @property
    def events(self) -> tuple[LockEvent, ...]:
        """The ring of recent uses, oldest first (a copy, safe to keep)."""
        return _to_events(self._events_raw())

    def current_hold(self) -> tuple[Holder, float, bool] | None:
        """(holder, when it asked for the lock, whether it had to wait), or None when free; read without locking.

        The timeline uses it to draw the wait before a hold that is still going on (the event ring
        only has it after the release). The three figures belong to the same acquisition: the hot
        path hands them over as one record.
        """
        raw = self._hold_raw()
        if raw is None:
            return None
        holder = _to_holder(raw)
        assert holder is not None
        return holder, raw[4], raw[5]

    def waiting(self) -> tuple[str, ...]:
        return tuple(name for name, _ in list(self._waiting.values()))

    def waiting_threads(self) -> list[tuple[int, str, float]]:
        """(ident, thread name, since) of each thread waiting now."""
        return [(ident, name, since) for ident, (name, since) in list(self._waiting.items())]

    def stats(self) -> LockStats:
        """A consistent-enough picture of the counters, as plain frozen data (read without locking)."""
        acquisitions, contentions, timeouts, lost, since, wait, hold = self._counters()
        observed, busy, observed_hold = self._observer_counters()
        return LockStats(
            name=self.name,
            acquisitions=acquisitions,
            contentions=contentions,
            timeouts=timeouts,
            wait=_figures(wait),
            hold=_figures(hold),
            thread_time_lost=lost,
            holder=self.holder,
            waiting=self.waiting(),
            since=since,
            taken_at=clock(),
            observer_acquisitions=observed,
            observer_busy=busy,
            observer_hold=observed_hold,
        )

    def reset_stats(self) -> None:
        """Zero the counters and histograms (the event ring and slow waits are cleared too)."""
        self._reset_counters()
        self.slow_waits.clear()

    def __repr__(self) -> str:
        h = self.holder
        return f"<Lockable {self.name!r} {'held by ' + h.thread if h else 'free'}>"


def all_lockables() -> list[Lockable]:
    """Every live Lockable in the process (for deadlock detection across servers)."""
    return list(_all_lockables)


class Lockables:
    """The named lockables of a server (Pode's New/Get/Test/Remove-PodeLockable); names are case-insensitive."""

    def __init__(self, factory: Callable[[str], Lockable] = Lockable) -> None:
        # factory: how a new name becomes a lockable (a Redis server passes its shared lockables)
        self._items: dict[str, Lockable] = {}
        self._mutex = threading.Lock()
        self._factory = factory

    def new(self, name: str) -> Lockable:
        """Create the named lockable, or return the existing one (Pode: a silent no-op)."""
        if not name:
            raise ValueError("a lockable needs a name")
        key = name.casefold()
        with self._mutex:
            found = self._items.get(key)
            if found is None:
                found = self._items[key] = self._factory(name)
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
        if exc_type is None:
            self._target.release()
        else:
            # the lockable's own __exit__: a Redis lockable logs a lost lease there, so the block's
            # own exception is the one that propagates
            self._target.__exit__(exc_type, exc, tb)
