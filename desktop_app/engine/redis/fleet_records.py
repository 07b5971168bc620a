"""What a fleet's readers get besides heartbeats: lock holders and states, lock uses, and change-feed reads.

Immutable records built by ``Fleet`` (``redis/fleet.py``) from Redis replies, safe to hand to
another thread; the parsing helpers here never raise on a malformed value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from desktop_app.engine.store import ChangeRecord


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lockable, from its Redis key: ``who`` is ``HOST:PID/THREAD``."""

    who: str
    site: str
    since: float
    """Seconds since the epoch, by the holder's clock."""
    lease_left: float
    """Seconds before the lease ends unless its holder renews it."""

    @property
    def process(self) -> str:
        """``HOST:PID`` (the heartbeat's key)."""
        return process_of(self.who)


@dataclass(frozen=True)
class LockState:
    """A lockable as Redis has it now: its holder, and the waiters registered in its wait set."""

    key: str
    """The casefolded name."""
    holder: LockHolder | None
    waiters: tuple[str, ...] = ()
    """``HOST:PID/THREAD`` of each process's waiter (one per process: its other threads queue locally)."""


@dataclass(frozen=True)
class LockUse:
    """One use of a lockable by any process, from the lock-event stream (times in seconds since the epoch)."""

    lock: str
    who: str
    site: str
    requested: float
    acquired: float | None
    """None: the wait timed out."""
    released: float
    contended: bool
    waiters: int


@dataclass(frozen=True)
class FeedNames:
    """What changed after a version, without a record object per change: a reader that only needs
    the names (to read their entries once) pays for no more."""

    version: int
    """The version of the last change read (the one asked from when nothing came)."""
    changes: list[tuple[str, str, str | None]]
    """(op, name, old name or None) in feed order."""
    gap: bool = False


@dataclass(frozen=True)
class FeedRead:
    """What one read of the change feed gave: the records after a version, or a gap (trimmed past it)."""

    records: tuple[ChangeRecord, ...]
    gap: bool = False


def process_of(who: str) -> str:
    """``HOST:PID/THREAD`` -> ``HOST:PID``."""
    return who.split("/", 1)[0]


def _holder(raw: bytes | None, info: bytes | None, pttl: int) -> LockHolder | None:
    """The holder from a lock key's value: ``TOKEN HOLDER_JSON``, or a bare token beside a ``lockinfo`` key."""
    if not raw:
        return None
    data: Any = None
    _token, sep, tail = raw.partition(b" ")
    for candidate in (tail if sep else None, info):
        if candidate:
            try:
                data = orjson.loads(candidate)
                break
            except orjson.JSONDecodeError:
                continue
    if not isinstance(data, dict):
        data = {}
    return LockHolder(
        str(data.get("who", "?")),
        str(data.get("site", "")),
        float(data.get("since", time.time())),
        max(0.0, pttl / 1000) if pttl and pttl > 0 else 0.0,
    )


def _text(value: bytes | None) -> str:
    return value.decode(errors="replace") if value is not None else ""


def _float(value: bytes | None, default: float = 0.0) -> float:
    try:
        return float(value) if value else default
    except ValueError:
        return default
