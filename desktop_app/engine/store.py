"""The storage behind SharedState: the store interface, change records, and the in-memory store.

The Redis store (``redis/store.py``) implements the same interface. SharedState picks its
implementation when it is built (``SharedState(store=None)`` in memory, ``store="redis://..."`` on
Redis), so the in-memory hot path reads ``MemoryStore.entries`` directly with no per-call dispatch.
The in-memory store's write and its entries are the hot path's (``hotpath.StoreCore``,
``hotpath.Entry``, compiled when built): they record the writer as a thread ident, which
``thread_names`` turns into a name when a reader asks.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from desktop_app.engine import hotpath
from desktop_app.engine.hotpath import thread_names

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
    """An entry as the Redis store reads it: ``thread`` is the writer's ``HOST:PID/THREAD``."""

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


MemoryEntry = hotpath.Entry
"""An in-memory entry: name, value, scope, version, time and the writer's thread ident."""

StoredEntry = MemoryEntry | _Entry
"""An entry as a store hands it out: in memory (writer as an ident) or from Redis (writer as text)."""


class StateStore(Protocol):
    """What SharedState needs from a store. Keys are casefolded names; ``name`` is the name as shown.

    Values go in and come out as Python objects: the in-memory store keeps them by reference, the
    Redis store serialises them (and hands out fresh copies).
    """

    @property
    def version(self) -> int: ...

    def get(self, key: str) -> StoredEntry | None: ...

    def set(self, key: str, name: str, value: Any, scope: list[str]) -> None: ...

    def remove(self, key: str) -> StoredEntry | None: ...

    def touch(self, key: str) -> bool: ...

    def rename(self, key: str, new_key: str, new_name: str) -> None: ...

    def load(self, items: Iterable[tuple[str, Any, list[str]]], *, merge: bool) -> None: ...

    def items(self) -> Sequence[StoredEntry]: ...

    def changes_since(self, version: int) -> Changes: ...


class MemoryStore(hotpath.StoreCore):
    """The in-memory store: a dict of entries and a ring of change records, in this process only.

    ``hotpath.StoreCore`` holds ``mutex``, ``entries``, ``version``, ``ring`` (raw tuples in
    ChangeRecord field order, with the writer's thread ident; readers build the records) and
    ``change_events`` (set after every change, outside the mutex, so a viewer sleeps until something
    happens instead of polling ``version``; a tuple, swapped whole, so writers iterate it lock-free),
    and the hot ``set``, which sets them too. The mutex guards the dict and the change ring only; it
    is never held while calling user code, serialising or doing I/O.
    """

    def _record(self, op: str, name: str, now: float, thread: int, old: str | None = None) -> int:
        self.version = v = self.version + 1
        self.ring.append((v, op, name, now, thread, old))
        return v

    def get(self, key: str) -> MemoryEntry | None:
        return self.entries.get(key)

    def remove(self, key: str) -> MemoryEntry | None:
        now, thread = _now(), self._writer()
        with self.mutex:
            old = self.entries.pop(key, None)
            if old is not None:
                self._record("remove", old.name, now, thread)
        if old is not None and self.change_events:
            self._changed()
        return old

    def touch(self, key: str) -> bool:
        now, thread = _now(), self._writer()
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
        now, thread = _now(), self._writer()
        with self.mutex:
            e = self.entries.get(key)
            if e is None:
                raise KeyError(key)
            if new_key != key and new_key in self.entries:
                raise ValueError(f"an entry named '{self.entries[new_key].name}' already exists")
            del self.entries[key]
            v = self._record("rename", new_name, now, thread, e.name)
            self.entries[new_key] = MemoryEntry(new_name, e.value, e.scope, v, now, thread)
        if self.change_events:
            self._changed()

    def load(self, items: Iterable[tuple[str, Any, list[str]]], *, merge: bool) -> None:
        now, thread = _now(), self._writer()
        prepared = [(name.casefold(), name, value, scope) for name, value, scope in items]
        with self.mutex:
            if merge:
                for key, name, value, scope in prepared:
                    old = self.entries.get(key)
                    shown = old.name if old is not None else name
                    v = self._record("set", shown, now, thread)
                    self.entries[key] = MemoryEntry(shown, value, scope, v, now, thread)
            else:
                v = self._record("reset", "", now, thread)
                fresh: dict[str, MemoryEntry] = {}
                for key, name, value, scope in prepared:
                    fresh[key] = MemoryEntry(name, value, scope, v, now, thread)
                self.entries = fresh
        if self.change_events:
            self._changed()

    def items(self) -> list[MemoryEntry]:
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
        name_of = thread_names.name_of
        records = tuple(ChangeRecord(v, op, n, t, name_of(w, wall=t), old) for v, op, n, t, w, old in raw)
        return Changes(current, records, any(r.op == "reset" for r in records))
