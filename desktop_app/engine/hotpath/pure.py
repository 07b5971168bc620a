"""The engine's hot paths in pure Python: the readable specification of the compiled twin, ``_hotpath.c``.

What runs on every lock use, every state write and every whole-state save lives here and in the C
module, which must behave the same way (``make test`` runs the engine's tests against both;
``STATE_STUDIO_PURE=1`` forces this one). ``hotpath`` (this package's ``__init__``) picks one;
nothing else imports this module directly except tests.

* ``LockCore``: the uncontended acquire/release of a ``Lockable`` (``locks.py`` adds the slow path
  with waiters, timeouts and slow-wait stacks, ``_acquire_contended``). It records the owner ident,
  the depth, the count, the acquire time and the caller's code object + instruction offset; the
  last release adds the hold time to the histogram and one event to the ring. Names and
  ``file:line`` text are made only when someone reads them. ``try_acquire_apart`` /
  ``release_apart`` are an observer's uses, counted apart; ``_took``, ``_release_held`` and
  ``_unlock`` let a subclass take and give back more than the raw lock (``RedisLockable``).
* ``Guard``: ``with server.lock():`` on the global lockable, giving the lockable as its target.
* ``StoreCore`` / ``Entry``: ``SharedState``'s store write and its entries (writer as an ident);
  the write sets the store's ``change_events`` after the change, outside the mutex.
* ``fill_chunk``: a whole-state "pode" save's type scan fused with filling the ``{Value, Scope}``
  chunk handed to orjson.
"""

from __future__ import annotations

import _thread
import itertools
import math
import sys
import threading
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable
from types import CodeType, FrameType, TracebackType
from typing import Any

monotonic = time.monotonic
"""The clock lock times use."""
wall = time.time
"""The clock entry and change times use."""

_get_ident = threading.get_ident

# Set by configure() (the package's __init__ calls it once for both twins).
_bounds: list[float] = [1.0]
_last_bucket = 0
_ring_size = 4096
_max_depth = 200  # persistence.MAX_DEPTH; configure() sets it
_skip_files: frozenset[str] = frozenset()
_note_thread: Callable[[], None] | None = None

_generations = itertools.count(2)
_generation = 1


def configure(
    bounds: list[float],
    ring_size: int,
    skip_files: frozenset[str],
    note_thread: Callable[[], None] | None,
    max_depth: int,
) -> None:
    """Histogram bounds, ring size, the files whose frames are not "the caller", the name registry's
    ``note`` and the deepest nesting a whole-state save scans."""
    global _bounds, _last_bucket, _ring_size, _skip_files, _note_thread, _max_depth
    _bounds = list(bounds)
    _last_bucket = len(_bounds) - 1
    _ring_size = ring_size
    _skip_files = skip_files
    _note_thread = note_thread
    _max_depth = max_depth


def bump_generation() -> None:
    """A thread ended: every cached "last owner" / "last writer" ident may now belong to a new thread."""
    global _generation
    _generation = next(_generations)


def generation() -> int:
    return _generation


def _caller_site(frame: FrameType | None) -> tuple[CodeType | None, int]:
    """The first frame outside the lock machinery: its code object and instruction offset."""
    while frame is not None and frame.f_code.co_filename in _skip_files:
        frame = frame.f_back
    if frame is None:
        return None, -1
    return frame.f_code, frame.f_lasti


class _Hist:
    """count, total, max and log-scale bucket counts of durations in seconds."""

    __slots__ = ("buckets", "count", "max", "total")

    def __init__(self) -> None:
        self.buckets = [0] * len(_bounds)
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        self.buckets[bisect_left(_bounds, seconds, 0, _last_bucket)] += 1
        self.count += 1
        self.total += seconds
        if seconds > self.max:
            self.max = seconds

    def raw(self, extra: list[float] | None = None) -> tuple[int, float, float, list[int]]:
        if not extra:
            return self.count, self.total, self.max, list(self.buckets)
        copy = _Hist()
        copy.buckets, copy.count, copy.total, copy.max = list(self.buckets), self.count, self.total, self.max
        for seconds in extra:
            copy.add(seconds)
        return copy.raw()


HoldRaw = tuple[int, float, CodeType | None, int, float, bool]
"""(owner ident, acquired at, code, instruction offset, requested at, contended)."""
EventRaw = tuple[int, float, float | None, float, CodeType | None, int, bool, int]
"""(ident, requested, acquired or None when the wait failed, released, code, offset, contended, waiters)."""
HistRaw = tuple[int, float, float, list[int]]
"""(count, total, max, bucket counts)."""


class LockCore:
    """The part of ``Lockable`` that runs on every use: an RLock-compatible re-entrant lock with counters.

    Subclasses provide ``_acquire_contended(me, blocking, timeout) -> bool`` (called when the lock
    is taken by another thread) and a ``name``.
    """

    name: str

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()
        self._owner = 0
        self._depth = 0
        # The holder, written last on acquire and cleared first on release, so a reader sees it whole.
        self._hold: HoldRaw | None = None
        self._last_owner = 0
        self._gen_seen = 0
        self._waiting: dict[int, tuple[str, float]] = {}
        self._events: deque[EventRaw] = deque(maxlen=_ring_size)
        # Failed waits happen without holding the lock: handed over through an atomic append and
        # folded into the counters by the next holder (or read as they are by _counters()).
        self._pending: deque[float] = deque()
        self._reset()

    def _reset(self) -> None:
        self._acquisitions = 0
        self._contentions = 0
        self._timeouts = 0
        self._lost = 0.0
        self._wait = _Hist()
        self._holdh = _Hist()
        self._since = monotonic()
        # Observers (try_acquire_apart): counted in none of the figures above.
        self._apart_acquisitions = 0
        self._apart_busy = 0
        self._apart_hold = 0.0

    def _acquire_contended(self, me: int, blocking: bool, timeout: float) -> bool:
        raise NotImplementedError

    # -- the RLock protocol ----------------------------------------------------------------------

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Acquire, as ``RLock.acquire``: re-entrant; False when not acquired in time."""
        me = _get_ident()
        if self._owner == me:
            self._depth += 1
            return True
        if me != self._last_owner or self._gen_seen != _generation:
            if _note_thread is not None:
                _note_thread()
            self._last_owner, self._gen_seen = me, _generation
        if self._lock.acquire(False):
            now = monotonic()
            code, lasti = _caller_site(sys._getframe(1))
            self._owner = me
            self._depth = 1
            self._acquisitions += 1
            if self._pending:
                self._fold()
            self._hold = (me, now, code, lasti, now, False)
            return True
        return self._acquire_contended(me, bool(blocking), timeout)

    __enter__ = acquire

    def release(self) -> None:
        """Release one level; the last one records the hold. RuntimeError if this thread does not hold it."""
        me = _get_ident()
        if self._owner != me or not me:
            raise RuntimeError(f"cannot release lock '{getattr(self, 'name', '?')}': not held by this thread")
        if self._depth > 1:
            self._depth -= 1
            return
        now = monotonic()
        hold = self._hold
        assert hold is not None
        self._hold = None
        ident, acquired, code, lasti, requested, contended = hold
        self._holdh.add(now - acquired)
        self._events.append((ident, requested, acquired, now, code, lasti, contended, len(self._waiting)))
        self._owner = 0
        self._depth = 0
        self._lock.release()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def locked(self) -> bool:
        return self._owner != 0

    # -- observers ---------------------------------------------------------------------------------

    def try_acquire_apart(self) -> bool:
        """Take the lock only if it is free now, never waiting (for observers such as the studio's bridge).

        Counted in ``_observer_counters`` only, never in acquisitions, contentions, hold times or
        the ring; while it holds, the observer is the holder. Re-entrant like ``acquire``."""
        me = _get_ident()
        if self._owner == me:
            self._depth += 1
            return True
        if me != self._last_owner or self._gen_seen != _generation:
            if _note_thread is not None:
                _note_thread()
            self._last_owner, self._gen_seen = me, _generation
        if not self._lock.acquire(False):
            self._apart_busy += 1  # only observers write it; at worst two failing at once count one
            return False
        now = monotonic()
        code, lasti = _caller_site(sys._getframe(1))
        self._owner = me
        self._depth = 1
        self._apart_acquisitions += 1
        self._hold = (me, now, code, lasti, now, False)
        return True

    def release_apart(self) -> None:
        """Release what ``try_acquire_apart`` took. RuntimeError if this thread does not hold it."""
        me = _get_ident()
        if self._owner != me or not me:
            raise RuntimeError(f"cannot release lock '{getattr(self, 'name', '?')}': not held by this thread")
        if self._depth > 1:
            self._depth -= 1
            return
        hold = self._hold
        assert hold is not None
        self._hold = None
        self._apart_hold += monotonic() - hold[1]
        self._owner = 0
        self._depth = 0
        self._lock.release()

    def _observer_counters(self) -> tuple[int, int, float]:
        """(observer acquisitions, observer tries that found it busy, seconds observers held it)."""
        return self._apart_acquisitions, self._apart_busy, self._apart_hold

    def held_by_me(self) -> bool:
        return self._owner != 0 and self._owner == _get_ident()

    # -- for the slow path (locks.py) --------------------------------------------------------------

    def _wait_lock(self, timeout: float) -> bool:
        """Block on the raw lock: timeout < 0 waits forever, 0 tries once."""
        if timeout == 0:
            return self._lock.acquire(False)
        return self._lock.acquire(True, -1 if timeout < 0 else timeout)

    def _took(
        self, me: int, requested: float, acquired: float, code: CodeType | None, lasti: int, contended: bool
    ) -> None:
        """A wait succeeded (the slow path, or a subclass that takes more than the raw lock): record
        the holder and the acquisition, and the wait when it was contended."""
        self._owner = me
        self._depth = 1
        self._acquisitions += 1
        if contended:
            waited = acquired - requested
            self._contentions += 1
            self._wait.add(waited)
            self._lost += waited
        if self._pending:
            self._fold()
        self._hold = (me, acquired, code, lasti, requested, bool(contended))

    def _release_held(self) -> EventRaw:
        """The last release's bookkeeping (hold histogram, ring event, owner cleared), returning the
        event; the raw lock stays taken until ``_unlock()``. For a subclass that gives back more
        than the raw lock (a Redis lockable)."""
        me = _get_ident()
        if self._owner != me or not me:
            raise RuntimeError(f"cannot release lock '{getattr(self, 'name', '?')}': not held by this thread")
        if self._depth != 1:
            raise RuntimeError("_release_held: only for the last level")
        now = monotonic()
        hold = self._hold
        assert hold is not None
        self._hold = None
        ident, acquired, code, lasti, requested, contended = hold
        self._holdh.add(now - acquired)
        event = (ident, requested, acquired, now, code, lasti, contended, len(self._waiting))
        self._events.append(event)
        self._owner = 0
        self._depth = 0
        return event

    def _unlock(self) -> None:
        """Free the raw lock taken by ``_wait_lock`` (not recorded by ``_took``) or kept by ``_release_held``."""
        if self._owner != 0:
            raise RuntimeError("_unlock: the lock has an owner (release it instead)")
        self._lock.release()

    def _failed(self, me: int, requested: float, now: float) -> None:
        """A wait failed (timeout, or a non-blocking try): count it, add a ring event. Lock not held."""
        self._pending.append(now - requested)
        self._events.append((me, requested, None, now, None, -1, True, 0))

    def _fold(self) -> None:
        while self._pending:
            waited = self._pending.popleft()
            self._timeouts += 1
            self._contentions += 1
            self._wait.add(waited)
            self._lost += waited

    # -- for readers ---------------------------------------------------------------------------

    def _hold_raw(self) -> HoldRaw | None:
        return self._hold

    def _events_raw(self) -> list[EventRaw]:
        return list(self._events)

    def _last_event_raw(self) -> EventRaw | None:
        try:
            return self._events[-1]
        except IndexError:
            return None

    def _counters(self) -> tuple[int, int, int, float, float, HistRaw, HistRaw]:
        """(acquisitions, contentions, timeouts, thread time lost, since, wait histogram, hold histogram)."""
        pending = list(self._pending)
        return (
            self._acquisitions,
            self._contentions + len(pending),
            self._timeouts + len(pending),
            self._lost + sum(pending),
            self._since,
            self._wait.raw(pending),
            self._holdh.raw(),
        )

    def _reset_counters(self) -> None:
        self._pending.clear()
        self._reset()
        self._events.clear()


class Guard:
    """``with guard:`` holds the lockable and gives it as the ``as`` target (``server.lock()``)."""

    __slots__ = ("lockable",)

    def __init__(self, lockable: LockCore) -> None:
        self.lockable = lockable

    def __enter__(self) -> Any:
        self.lockable.acquire()
        return self.lockable

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.lockable.release()


class Entry:
    """One state entry. ``thread`` is the writer's ident (``thread_names`` resolves it when read)."""

    __slots__ = ("name", "scope", "thread", "time", "value", "version")

    def __init__(
        self, name: str, value: Any, scope: list[str], version: int, time: float, thread: int
    ) -> None:
        self.name = name
        self.value = value
        self.scope = scope
        self.version = version
        self.time = time
        self.thread = thread


ChangeRaw = tuple[int, str, str, float, int, str | None]
"""(version, op, name, time, writer ident, old name)."""


class StoreCore:
    """The in-memory store's data and its write: entries by casefolded name, a version, a change ring.

    ``mutex`` guards the dict and the ring; it is never held while calling user code.
    """

    def __init__(self, ring_size: int) -> None:
        self.mutex = threading.Lock()
        self.entries: dict[str, Entry] = {}
        self.version = 0
        self.ring: deque[ChangeRaw] = deque(maxlen=ring_size)
        # Set after every change (outside the mutex), so a viewer sleeps until something happens
        # instead of polling ``version``; a tuple, swapped whole, so writers iterate it lock-free.
        self.change_events: tuple[threading.Event, ...] = ()
        self._last_writer = 0
        self._gen_seen = 0

    def _changed(self) -> None:
        """Set the change events that are not set yet (call after a change, outside the mutex)."""
        for event in self.change_events:
            if not event.is_set():  # a reader still busy with the last change needs no second set()
                event.set()

    def _writer(self) -> int:
        """The calling thread's ident, after telling the name registry about a new writer."""
        me = _get_ident()
        if me != self._last_writer or self._gen_seen != _generation:
            if _note_thread is not None:
                _note_thread()
            self._last_writer, self._gen_seen = me, _generation
        return me

    def set(self, key: str, name: str, value: Any, scope: list[str]) -> None:
        """Create or replace the entry ``key`` (an existing entry keeps its shown name)."""
        me = _get_ident()
        if me != self._last_writer or self._gen_seen != _generation:
            self._writer()
        now = wall()
        with self.mutex:
            old = self.entries.get(key)
            shown = old.name if old is not None else name
            self.version = v = self.version + 1
            self.ring.append((v, "set", shown, now, me, None))
            self.entries[key] = Entry(shown, value, scope, v, now, me)
        if self.change_events:
            self._changed()


# -- the whole-state save ------------------------------------------------------------------------

_JSON_SCALARS = (str, int, bool, type(None))


def _clean(value: Any, depth: int) -> bool:
    """True: JSON data a "pode" file holds as it is. False: look closer (the exact checker names it)."""
    cls = type(value)
    if cls in _JSON_SCALARS:
        return True  # ints beyond 64 bits make orjson fail, which also leads to the exact checker
    if cls is float:
        return math.isfinite(value)
    if cls is dict or cls is list or cls is tuple:
        if depth >= _max_depth:
            return False  # too deep, or a container that holds itself
        if cls is dict:
            return all(type(k) is str and _clean(v, depth + 1) for k, v in value.items())
        return all(_clean(item, depth + 1) for item in value)
    return False  # UUID, Enum, datetime, set, subclasses... orjson would write some of them


def _clean_scope(scope: Any) -> bool:
    return type(scope) in (list, tuple) and all(type(s) is str for s in scope)


def fill_chunk(
    entries: list[Any], start: int, stop: int, pool: list[dict[str, Any]], out: dict[str, Any]
) -> int:
    """Fill ``out`` with ``{name: pool[i - start]}``, each wrapper ``{"Value": value, "Scope": scope}``.

    Returns -1 when every entry in ``entries[start:stop]`` is clean JSON data, else the index of
    the first one to check closely (``out`` is then incomplete).
    """
    for i in range(start, stop):
        e = entries[i]
        if (
            type(e) is not Entry
            or type(e.name) is not str
            or not _clean_scope(e.scope)
            or not _clean(e.value, 0)
        ):
            return i
        wrapper = pool[i - start]
        wrapper["Value"] = e.value
        wrapper["Scope"] = e.scope
        out[e.name] = wrapper
    return -1
