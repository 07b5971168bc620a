"""The storage behind SharedState: the store interface, change records, and the in-memory store.

The Redis store (``redis/store.py``) implements the same interface. SharedState picks its
implementation when it is built (``SharedState(store=None)`` in memory, ``store="redis://..."`` on
Redis), so the in-memory hot path reads ``MemoryStore.entries`` directly with no per-call dispatch.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from threading import current_thread
from typing import Any, Protocol

_now = time.time


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """One change: ``op`` is "set", "remove", "touch", "rename" or "reset" (clear / replacing restore)."""

    version: int
    op: str
    name: str
    time: float
    thread: str
    old_name: str | None = None


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed after a version. ``resync`` means the reader must reload from ``snapshot()``/``entries()``."""

    version: int
    records: tuple[ChangeRecord, ...]
    resync: bool


class _Entry:
    __slots__ = ("name", "scope", "thread", "time", "value", "version")

    def __init__(self, name: str, value: Any, scope: list[str], version: int, time: float, thread: str) -> None:
        self.name = name
        self.value = value
        self.scope = scope
        self.version = version
        self.time = time
        self.thread = thread


@dataclass(frozen=True, slots=True)
class EntryInfo:
    """A read-only view of one entry: the value is the live object (by reference), the rest is copied."""

    name: str
    value: Any
    scope: tuple[str, ...]
    version: int
    time: float
    thread: str


def _thread_name() -> str:
    return current_thread().name


class StateStore(Protocol):
    """What SharedState needs from a store. Keys are casefolded names; ``name`` is the name as shown.

    Values go in and come out as Python objects: the in-memory store keeps them by reference, the
    Redis store serialises them (and hands out fresh copies).
    """

    @property
    def version(self) -> int: ...

    def get(self, key: str) -> _Entry | None: ...

    def set(self, key: str, name: str, value: Any, scope: list[str]) -> None: ...

    def remove(self, key: str) -> _Entry | None: ...

    def touch(self, key: str) -> bool: ...

    def rename(self, key: str, new_key: str, new_name: str) -> None: ...

    def load(self, items: Iterable[tuple[str, Any, list[str]]], *, merge: bool) -> None: ...

    def items(self) -> list[_Entry]: ...

    def changes_since(self, version: int) -> Changes: ...


class MemoryStore:
    """The in-memory store: a dict of entries and a ring of change records, in this process only.

    The mutex guards the dict and the change ring only; it is never held while calling user code,
    serialising or doing I/O.
    """

    def __init__(self, ring_size: int) -> None:
        self.mutex = threading.Lock()
        self.entries: dict[str, _Entry] = {}
        self.version = 0
        # Raw tuples in ChangeRecord field order; readers build the records (keeps writes cheap).
        self.ring: deque[tuple[int, str, str, float, str, str | None]] = deque(maxlen=ring_size)
        # Set after every change (outside the mutex), so a viewer sleeps until something happens
        # instead of polling ``version``; a tuple, swapped whole, so writers iterate it lock-free.
        self.change_events: tuple[threading.Event, ...] = ()

    def _changed(self) -> None:
        for event in self.change_events:
            if not event.is_set():  # a reader still busy with the last change needs no second set()
                event.set()

    def _record(self, op: str, name: str, now: float, thread: str, old: str | None = None) -> int:
        self.version = v = self.version + 1
        self.ring.append((v, op, name, now, thread, old))
        return v

    def get(self, key: str) -> _Entry | None:
        return self.entries.get(key)

    def set(self, key: str, name: str, value: Any, scope: list[str]) -> None:
        now, thread = _now(), current_thread().name
        with self.mutex:
            old = self.entries.get(key)
            shown = old.name if old is not None else name
            self.version = v = self.version + 1
            self.ring.append((v, "set", shown, now, thread, None))
            self.entries[key] = _Entry(shown, value, scope, v, now, thread)
        if self.change_events:
            self._changed()

    def remove(self, key: str) -> _Entry | None:
        now, thread = _now(), _thread_name()
        with self.mutex:
            old = self.entries.pop(key, None)
            if old is not None:
                self._record("remove", old.name, now, thread)
        if old is not None and self.change_events:
            self._changed()
        return old

    def touch(self, key: str) -> bool:
        now, thread = _now(), _thread_name()
        with self.mutex:
            e = self.entries.get(key)
            if e is None:
                return False
            e.version = self._record("touch", e.name, now, thread)
            e.time, e.thread = now, thread
        if self.change_events:
            self._changed()
        return True

    def rename(self, key: str, new_key: str, new_name: str) -> None:
        now, thread = _now(), _thread_name()
        with self.mutex:
            e = self.entries.get(key)
            if e is None:
                raise KeyError(key)
            if new_key != key and new_key in self.entries:
                raise ValueError(f"an entry named '{self.entries[new_key].name}' already exists")
            del self.entries[key]
            v = self._record("rename", new_name, now, thread, e.name)
            self.entries[new_key] = _Entry(new_name, e.value, e.scope, v, now, thread)
        if self.change_events:
            self._changed()

    def load(self, items: Iterable[tuple[str, Any, list[str]]], *, merge: bool) -> None:
        now, thread = _now(), _thread_name()
        prepared = [(name.casefold(), name, value, scope) for name, value, scope in items]
        with self.mutex:
            if merge:
                for key, name, value, scope in prepared:
                    old = self.entries.get(key)
                    shown = old.name if old is not None else name
                    v = self._record("set", shown, now, thread)
                    self.entries[key] = _Entry(shown, value, scope, v, now, thread)
            else:
                v = self._record("reset", "", now, thread)
                fresh: dict[str, _Entry] = {}
                for key, name, value, scope in prepared:
                    fresh[key] = _Entry(name, value, scope, v, now, thread)
                self.entries = fresh
        if self.change_events:
            self._changed()

    def items(self) -> list[_Entry]:
        with self.mutex:
            return list(self.entries.values())

    def changes_since(self, version: int) -> Changes:
        with self.mutex:
            current = self.version
            if version >= current:
                return Changes(current, (), False)
            ring = self.ring
            oldest = ring[0][0] if ring else current + 1
            if version + 1 < oldest:
                return Changes(current, (), True)
            # Records are contiguous: index by offset from the oldest.
            raw = [ring[i] for i in range(version + 1 - oldest, len(ring))]
        records = tuple(ChangeRecord(*r) for r in raw)
        return Changes(current, records, any(r.op == "reset" for r in records))
