"""SharedState: Pode's shared state store, thread-safe, with scopes, versions and a change feed."""

from __future__ import annotations

import copy
import os
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from threading import current_thread
from typing import Any

from desktop_app.engine import persistence
from desktop_app.engine.locks import Lockable

CHANGE_RING_SIZE = 10_000
_now = time.time

ScopeArg = str | Sequence[str] | None


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


def _norm_scope(scope: ScopeArg) -> list[str]:
    if scope is None:
        return []
    if isinstance(scope, str):
        return [scope]
    out = list(scope)
    for s in out:
        if not isinstance(s, str):
            raise ValueError(f"scope names must be strings, got {s!r}")
    return out


def _check_name(name: object) -> str:
    if name is None or not isinstance(name, str) or not name:
        raise ValueError(f"a state entry needs a non-empty string name, got {name!r}")
    return name


def _thread_name() -> str:
    return current_thread().name


class _MemoryStore:
    """The storage behind SharedState (kept small so a Redis-backed store can take its place later).

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
        now, thread = time.time(), _thread_name()
        with self.mutex:
            old = self.entries.pop(key, None)
            if old is not None:
                self._record("remove", old.name, now, thread)
        if old is not None and self.change_events:
            self._changed()
        return old

    def touch(self, key: str) -> bool:
        now, thread = time.time(), _thread_name()
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
        now, thread = time.time(), _thread_name()
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
        now, thread = time.time(), _thread_name()
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


class SharedState:
    """Pode's shared state: named entries holding any value by reference, each with a list of scopes.

    Every method is safe from any thread: single operations are atomic. Compound read-modify-write on
    a value needs a lockable (``with server.lockable:``), exactly as in Pode. Names are
    case-insensitive and case-preserving.

    Example:
        >>> state = SharedState()
        >>> state.set("hash", {"values": []}, scope="users")
        {'values': []}
        >>> state.get("HASH")
        {'values': []}
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        lockable: Lockable | None = None,
        ring_size: int = CHANGE_RING_SIZE,
    ) -> None:
        self.root = Path(root) if root is not None else None
        self.lockable = lockable if lockable is not None else Lockable("global")
        self._store = _MemoryStore(ring_size)

    # -- single operations ------------------------------------------------------------------------

    def set(self, name: str, value: Any = None, scope: ScopeArg = None) -> Any:
        """Create or replace an entry (its scope too; no scope means ``[]``). Returns the value."""
        if not name or not isinstance(name, str):
            _check_name(name)
        self._store.set(name.casefold(), name, value, [] if scope is None else _norm_scope(scope))
        return value

    def get(self, name: str, default: Any = None, with_scope: bool = False) -> Any:
        """The entry's value (by reference), or ``default``; ``with_scope`` gives ``{"Value", "Scope"}``."""
        if not name or not isinstance(name, str):
            _check_name(name)
        e = self._store.entries.get(name.casefold())
        if e is None:
            return None if with_scope else default
        if with_scope:
            return {"Value": e.value, "Scope": list(e.scope)}
        return e.value

    def remove(self, name: str) -> Any:
        """Remove an entry and return its value (None if it did not exist)."""
        e = self._store.remove(_check_name(name).casefold())
        return e.value if e is not None else None

    def test(self, name: str) -> bool:
        return self._store.get(_check_name(name).casefold()) is not None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(name) and self.test(name)

    def __len__(self) -> int:
        return len(self._store.entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def names(
        self,
        pattern: str | None = None,
        scope: ScopeArg = None,
        include: ScopeArg = None,
        exclude: ScopeArg = None,
    ) -> list[str]:
        """Entry names filtered (AND) by scope (any-of), include, exclude (wins) and an unanchored regex.

        Raises:
            ValueError: ``pattern`` is not a valid regular expression.
        """
        return [e.name for e in self._select(pattern, scope, include, exclude)]

    def _select(
        self, pattern: str | None, scope: ScopeArg, include: ScopeArg, exclude: ScopeArg
    ) -> list[_Entry]:
        rx = None
        if pattern is not None and pattern.strip():
            try:
                rx = re.compile(pattern, re.IGNORECASE)
            except re.error as err:
                raise ValueError(f"invalid name pattern {pattern!r}: {err}") from None
        scopes = {s.casefold() for s in _norm_scope(scope)}
        inc = {s.casefold() for s in _norm_scope(include)}
        exc = {s.casefold() for s in _norm_scope(exclude)}
        out = []
        for e in self._store.items():
            if scopes and not any(s.casefold() in scopes for s in e.scope):
                continue
            key = e.name.casefold()
            if inc and key not in inc:
                continue
            if exc and key in exc:
                continue
            if rx is not None and not rx.search(e.name):
                continue
            out.append(e)
        return out

    def clear(self) -> None:
        """Remove every entry (readers are told to resync)."""
        self._store.load((), merge=False)

    def touch(self, name: str) -> None:
        """Record that a value was changed in place (so the change feed and the GUI see it).

        Raises:
            KeyError: no such entry.
        """
        if not self._store.touch(_check_name(name).casefold()):
            raise KeyError(name)

    @contextmanager
    def edit(self, name: str) -> Iterator[Any]:
        """Hold the global lockable, yield the entry's value for in-place changes, touch it on exit.

        Example:
            >>> state = SharedState(); _ = state.set("hash", {"values": []})
            >>> with state.edit("hash") as h:
            ...     h["values"].append(1)
        """
        with self.lockable:
            e = self._store.get(_check_name(name).casefold())
            if e is None:
                raise KeyError(name)
            try:
                yield e.value
            finally:
                self._store.touch(name.casefold())

    def rename(self, name: str, new_name: str) -> None:
        """Rename an entry keeping its value and scope, as one step under the global lockable.

        Raises:
            KeyError: no entry called ``name``.
            ValueError: ``new_name`` is empty or another entry already has it.
        """
        _check_name(name)
        _check_name(new_name)
        with self.lockable:
            self._store.rename(name.casefold(), new_name.casefold(), new_name)

    def set_scope(self, name: str, scope: ScopeArg) -> None:
        """Replace an entry's scopes, keeping its value."""
        with self.lockable:
            e = self._store.get(_check_name(name).casefold())
            if e is None:
                raise KeyError(name)
            self._store.set(name.casefold(), e.name, e.value, _norm_scope(scope))

    # -- reading for viewers ----------------------------------------------------------------------

    @property
    def version(self) -> int:
        """A number that grows on every change."""
        return self._store.version

    def changes_since(self, version: int) -> Changes:
        """Changes after ``version``; ``resync`` is True when the reader fell behind the ring or a reset happened."""
        return self._store.changes_since(version)

    def add_change_event(self, event: threading.Event) -> None:
        """Have ``event`` set after every change, so a viewer can wait for one instead of polling ``version``.

        The event is set outside the state's mutex, after ``version`` has grown: a reader that
        clears it *before* reading ``version`` never misses a change. A write costs one emptiness
        check while nobody listens, and one ``is_set()`` per listener while a reader is busy.

        Example:
            >>> state = SharedState(); changed = threading.Event()
            >>> state.add_change_event(changed); _ = state.set("a", 1)
            >>> changed.is_set()
            True
        """
        store = self._store
        with store.mutex:
            if event not in store.change_events:
                store.change_events = (*store.change_events, event)

    def remove_change_event(self, event: threading.Event) -> None:
        """Stop setting ``event`` on changes (unknown events are ignored)."""
        store = self._store
        with store.mutex:
            store.change_events = tuple(e for e in store.change_events if e is not event)

    def entries(self) -> list[EntryInfo]:
        """Every entry with its version, time and writer thread (values by reference)."""
        return [
            EntryInfo(e.name, e.value, tuple(e.scope), e.version, e.time, e.thread) for e in self._store.items()
        ]

    def entry(self, name: str) -> EntryInfo | None:
        e = self._store.get(_check_name(name).casefold())
        if e is None:
            return None
        return EntryInfo(e.name, e.value, tuple(e.scope), e.version, e.time, e.thread)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """A deep copy ``{name: {"Value": ..., "Scope": [...]}}``, taken under the global lockable."""
        with self.lockable:
            items = self._store.items()
            return {e.name: {"Value": copy.deepcopy(e.value), "Scope": list(e.scope)} for e in items}

    def load_entries(self, entries: Mapping[str, tuple[Any, Sequence[str]]], *, merge: bool = False) -> None:
        """Replace the whole state with ``entries`` (atomically as other threads see it), or upsert them."""
        for name in entries:
            _check_name(name)
        self._store.load(((n, v, _norm_scope(s)) for n, (v, s) in entries.items()), merge=merge)

    # -- persistence ------------------------------------------------------------------------------

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """The file a path refers to: ``./`` and ``../`` paths are relative to ``root``."""
        return persistence.resolve_path(path, self.root)

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        scope: ScopeArg = None,
        include: ScopeArg = None,
        exclude: ScopeArg = None,
        compress: bool = False,
        format: str = "pode",
        depth: int | None = None,
    ) -> Path:
        """Save the selected entries atomically (temp file, fsync, rename) and return the file's path.

        Values are serialised under the global lockable, so a job mutating a value under it is never
        half-written; the file is written after the lockable is released.

        Raises:
            StateFileError: a value the format cannot hold (naming its key path), or the file could not be written.
            ValueError: an unknown format.
        """
        target = self.resolve(path)
        with self.lockable:
            selected = self._select(None, scope, include, exclude)
            data = persistence.encode(
                {e.name: (e.value, e.scope) for e in selected},
                format=format,
                compress=compress,
                depth=depth,
                path=target,
            )
        persistence.atomic_write(target, data)
        return target

    def restore(self, path: str | os.PathLike[str], *, merge: bool = False) -> str | None:
        """Load a state file (Pode v2, {Value, Scope} or pre-scope); returns its format, or None for a no-op.

        A missing, empty or ``null`` file changes nothing. With ``merge`` each key in the file
        overwrites the same key and the others stay; otherwise the whole state is replaced.

        Raises:
            StateFileError: the file is corrupt or of an unknown version; the live state is untouched.
        """
        loaded = persistence.read_file(self.resolve(path))
        if loaded is None:
            return None
        self.load_entries(loaded.entries, merge=merge)
        return loaded.format

    def __repr__(self) -> str:
        return f"<SharedState {len(self)} entries, version {self.version}>"
