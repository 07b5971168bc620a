"""Thread names resolved lazily from thread idents, so the hot paths record an int instead of a name.

Locks and state writes record ``threading.get_ident()``. Reading ``current_thread().name`` on every
use costs more than the rest of a store write, and cannot be done without running bytecode. Instead
the registry is told a thread's name when it matters:

* when a lockable or the store sees a thread it did not see last (a lock changing owner, a new
  writer), before any lock is taken: ``note()``;
* when a job thread takes a job's name (``jobs.job.rename_thread``): ``note()`` again.

Readers (``Lockable.events``, ``holder``, ``SharedState.entries``, the change feed) resolve an
ident with ``name_of(ident, mono=... or wall=...)``: the name the thread had at that moment, as the
history of each ident keeps when a name started. Idents are reused by new threads once a thread
ends; the end is noticed through a thread-local sentinel, which bumps the hot paths' generation so
every cached "last thread" is forgotten and the new thread is noted before its first record.
Histories of ended threads are kept (readers still resolve old records), at most ``KEEP_ENDED``.

A thread renamed without ``rename_thread`` (``current_thread().name = ...``) shows its new name
from the next time a lockable or the store sees it after another thread.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

KEEP_ENDED = 4096
"""Ended threads whose names are kept for readers; older ones are forgotten (their records show the ident)."""

_mutex = threading.Lock()
# ident -> [(monotonic since, wall-clock since, name)], oldest first; one entry per name it had.
_history: dict[int, list[tuple[float, float, str]]] = {}
_alive: set[int] = set()
_ended: deque[int] = deque()
_local = threading.local()

on_thread_end: list[Callable[[], None]] = []
"""Called (no arguments, from the ending thread) when a noted thread ends; the hot paths register here."""


class _Sentinel:
    """Lives in a thread's thread-local storage; dropped when that thread ends."""

    __slots__ = ("ident",)

    def __init__(self, ident: int) -> None:
        self.ident = ident

    def __del__(self) -> None:
        # Runs on the ending thread while its state is torn down: only atomic container operations
        # and the hot paths' generation bump, nothing that asks threading who is running.
        try:
            _alive.discard(self.ident)
            _ended.append(self.ident)
            for bump in on_thread_end:
                bump()
        except Exception:  # at interpreter exit the module may be half torn down
            pass


def note() -> None:
    """Record the calling thread's current name (cheap when it is already known).

    Called by the hot paths when a lockable or the store sees a thread other than the last one, and
    by ``jobs.job.rename_thread``.
    """
    me = threading.get_ident()
    name = threading.current_thread().name
    fresh = me not in _alive
    hist = _history.get(me)
    if not fresh and hist and hist[-1][2] == name:
        if len(_ended) > KEEP_ENDED:
            with _mutex:
                _prune()
        return
    with _mutex:
        hist = _history.setdefault(me, [])
        if not hist or hist[-1][2] != name:
            hist.append((time.monotonic(), time.time(), name))
        if fresh:
            _alive.add(me)
            _local.sentinel = _Sentinel(me)
        if len(_ended) > KEEP_ENDED:
            _prune()


def _prune() -> None:
    # Called with _mutex held.
    while len(_ended) > KEEP_ENDED:
        ident = _ended.popleft()
        hist = _history.get(ident)
        if hist is None:
            continue
        if ident in _alive:  # a new thread has this ident now: keep only its own name
            del hist[:-1]
        else:
            del _history[ident]


def name_of(ident: int, *, mono: float | None = None, wall: float | None = None) -> str:
    """The name thread ``ident`` had at ``mono`` (``time.monotonic()``) or ``wall`` (``time.time()``).

    Without a time, the latest name. An ident never noted (or forgotten) reads ``thread <ident>``.

    Example:
        >>> note(); name_of(threading.get_ident()) == threading.current_thread().name
        True
    """
    hist = _history.get(ident)
    if not hist:
        return f"thread {ident}"
    if len(hist) == 1 or (mono is None and wall is None):
        return hist[-1][2]
    if mono is not None:
        for since, _, name in reversed(hist):
            if since <= mono:
                return name
    else:
        assert wall is not None
        for _, since, name in reversed(hist):
            if since <= wall:
                return name
    return hist[0][2]


def name_span(ident: int, mono: float) -> tuple[float, float, str]:
    """(since, until, name): the name ``ident`` had at ``mono`` and the monotonic interval it held it.

    Readers converting many records keep the span and skip the lookup for the next record of the
    same ident that falls inside it.
    """
    hist = _history.get(ident)
    if not hist:
        return -math.inf, math.inf, f"thread {ident}"
    until = math.inf
    for since, _, name in reversed(hist):
        if since <= mono:
            return since, until, name
        until = since
    return -math.inf, until, hist[0][2]


def known() -> int:
    """How many idents have a history (for tests and diagnostics)."""
    return len(_history)
