"""SharedState: Pode's shared state store, thread-safe, with scopes, versions and a change feed."""

from __future__ import annotations

import copy
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from desktop_app.engine import hotpath, persistence
from desktop_app.engine.hotpath import thread_names
from desktop_app.engine.locks import Lockable
from desktop_app.engine.persistence import fast_save
from desktop_app.engine.store import (
    ChangeRecord,
    Changes,
    EntryInfo,
    MemoryEntry,
    MemoryStore,
    StateStore,
    _Entry,
)

__all__ = ["CHANGE_RING_SIZE", "ChangeRecord", "Changes", "EntryInfo", "SharedState"]

CHANGE_RING_SIZE = 10_000

ScopeArg = str | Sequence[str] | None
E = TypeVar("E", bound=MemoryEntry | _Entry)


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


def _info(e: MemoryEntry | _Entry) -> EntryInfo:
    # In memory the writer is a thread ident, named when read (hotpath.thread_names); a Redis entry
    # carries its writer's HOST:PID/THREAD as text.
    thread = e.thread if isinstance(e.thread, str) else thread_names.name_of(e.thread, wall=e.time)
    return EntryInfo(e.name, e.value, tuple(e.scope), e.version, e.time, thread)


def select(
    entries: Iterable[E], pattern: str | None, scope: ScopeArg, include: ScopeArg, exclude: ScopeArg
) -> list[E]:
    """The entries matching (AND) scope (any-of), include, exclude (wins) and an unanchored regex."""
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
    for e in entries:
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


class SharedState:
    """Pode's shared state: named entries holding any value by reference, each with a list of scopes.

    Every method is safe from any thread: single operations are atomic. Compound read-modify-write on
    a value needs a lockable (``with server.lockable:``), exactly as in Pode. Names are
    case-insensitive and case-preserving.

    ``SharedState(store="redis://HOST:PORT/DB", namespace="shop")`` builds a RedisSharedState
    instead: the same API, shared by every process on that URL and namespace.

    Example:
        >>> state = SharedState()
        >>> state.set("hash", {"values": []}, scope="users")
        {'values': []}
        >>> state.get("HASH")
        {'values': []}
    """

    def __new__(
        cls,
        root: str | os.PathLike[str] | None = None,
        *,
        lockable: Lockable | None = None,
        ring_size: int = CHANGE_RING_SIZE,
        store: str | None = None,
        namespace: str | None = None,
        lease_ms: int | None = None,
    ) -> SharedState:
        # The implementation is chosen once, here: a Redis URL gives the Redis subclass, so the
        # in-memory methods below carry no per-call store dispatch. The signature repeats
        # __init__'s, not *args/**kwargs: help(), inspect.signature() and IDEs show __new__'s.
        if store is not None and cls is SharedState:
            from desktop_app.engine.redis.state import RedisSharedState

            return super().__new__(RedisSharedState)
        return super().__new__(cls)

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        lockable: Lockable | None = None,
        ring_size: int = CHANGE_RING_SIZE,
        store: str | None = None,
        namespace: str | None = None,
        lease_ms: int | None = None,
    ) -> None:
        """A state in this process, or (with ``store``) a RedisSharedState shared through Redis.

        Args:
            root: the folder ``./`` paths in save/restore are relative to.
            lockable: the global lockable (``edit``, ``snapshot`` and ``save`` take it); a new one if None.
            ring_size: how many change records the feed keeps.
            store: None keeps the state in this process; ``"redis://HOST:PORT/DB"`` shares it through
                Redis with every process using the same URL and ``namespace`` (see RedisSharedState).
            namespace: the Redis namespace (default "default"); only with ``store``.
            lease_ms: the lease of the Redis lockables this state creates; only with ``store``.
        """
        if store is not None or namespace is not None or lease_ms is not None:
            raise ValueError("namespace and lease_ms need store='redis://...' (the in-memory state has neither)")
        self.root = Path(root) if root is not None else None
        self.lockable = lockable if lockable is not None else Lockable("global")
        self._store = MemoryStore(ring_size)

    @property
    def _backend(self) -> StateStore:
        """The store the methods both states share go through (RedisSharedState gives its own).

        The in-memory hot path (``set``, ``get``, ``len``) reads ``_store`` directly instead.
        """
        return self._store

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
    ) -> Sequence[MemoryEntry | _Entry]:
        return select(self._store.items(), pattern, scope, include, exclude)

    def clear(self) -> None:
        """Remove every entry (on Redis, of the namespace, for every process); readers are told to resync."""
        self._backend.load((), merge=False)

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
            self._backend.rename(name.casefold(), new_name.casefold(), new_name)

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
        """A number that grows on every change (on Redis, the namespace's: one round trip)."""
        return self._backend.version

    def changes_since(self, version: int) -> Changes:
        """Changes after ``version``; ``resync`` is True when the reader fell behind the ring or a reset happened."""
        return self._backend.changes_since(version)

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
        """Every entry with its version, time and writer thread.

        Values by reference in memory; on Redis, fresh copies read in one consistent MULTI, sorted by name.
        """
        return [_info(e) for e in self._backend.items()]

    def entry(self, name: str) -> EntryInfo | None:
        e = self._backend.get(_check_name(name).casefold())
        return None if e is None else _info(e)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """A deep copy ``{name: {"Value": ..., "Scope": [...]}}``, taken under the global lockable."""
        with self.lockable:
            items = self._store.items()
            return {e.name: {"Value": copy.deepcopy(e.value), "Scope": list(e.scope)} for e in items}

    def load_entries(self, entries: Mapping[str, tuple[Any, Sequence[str]]], *, merge: bool = False) -> None:
        """Replace the whole state with ``entries`` (atomically as other threads, and on Redis other
        processes, see it: one script there), or upsert them (``merge``)."""
        for name in entries:
            _check_name(name)
        self._backend.load(((n, v, _norm_scope(s)) for n, (v, s) in entries.items()), merge=merge)

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
        half-written; the file is written after the lockable is released. On Redis the entries are
        fresh copies read in one MULTI, and the lockable is not taken (see ``_save_guard``). A
        whole-state save in the default format (no filter, no depth) skips selection and the
        envelope (``persistence.fast_save``).

        Raises:
            StateFileError: a value the format cannot hold (naming its key path), or the file could not be written.
            ValueError: an unknown format.
        """
        target = self.resolve(path)
        if fast_save.applies(format, scope, include, exclude, depth):
            fast_save.save(self._save_guard(), self._backend.items, target, compress)
            return target
        with self._save_guard():
            selected = select(self._backend.items(), None, scope, include, exclude)
            data = persistence.encode(
                {e.name: (e.value, e.scope) for e in selected},
                format=format,
                compress=compress,
                depth=depth,
                path=target,
            )
        persistence.atomic_write(target, data)
        return target

    def _save_guard(self) -> AbstractContextManager[Any]:
        """What ``save`` holds while it reads and serialises: the global lockable, as values are live objects."""
        return self.lockable

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


# With the compiled hot paths, set() and get() run without bytecode: the same checks (they call
# _check_name and _norm_scope for anything unusual), the same results; the methods above stay the
# specification and run on the pure hot paths. RedisSharedState has its own set() and get().
_compiled = hotpath.compiled_state_methods(_check_name, _norm_scope)
if _compiled is not None:
    SharedState.set, SharedState.get = _compiled  # type: ignore[method-assign]
