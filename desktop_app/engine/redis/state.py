"""SharedState on Redis: the same API, shared by every process on one URL and namespace."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from desktop_app.engine.locks import Lockable
from desktop_app.engine.redis.conn import RedisConnection
from desktop_app.engine.redis.lock_space import LockSpace
from desktop_app.engine.redis.store import MISSING, RedisStore, encode_value
from desktop_app.engine.state import (
    CHANGE_RING_SIZE,
    EntryInfo,
    ScopeArg,
    SharedState,
    _check_name,
    _Entry,
    _norm_scope,
    select,
)
from desktop_app.engine.store import StateStore

DEFAULT_NAMESPACE = "default"
LAST_GOT_KEEP = 256
"""Per thread, the objects last got for this many names are kept for ``touch()`` to write back."""


class RedisSharedState(SharedState):
    """Pode's shared state kept in Redis: what ``SharedState(store="redis://...", namespace=...)`` builds.

    Every call keeps its meaning across all processes on the same URL and namespace: a ``set`` that
    has returned is seen by every ``get``, ``names``, ``snapshot`` and ``save`` in any process.
    What differs from the in-memory state:

    - ``get()`` returns a fresh copy (Redis holds JSON). ``touch(name)`` writes back the object this
      thread last got (or set) for that name, so Pode's pattern works unchanged::

          with server.lockable:
              h = state.get("hash")
              h["values"].append(1)
              state.touch("hash")

    - ``edit(name)`` reads, yields and writes back on a normal exit; if the block raises, nothing
      is written (the in-memory edit cannot undo in-place changes).
    - Values must be what a "pode" state file holds (JSON data); anything else raises ValueError
      naming the entry and writes nothing.
    - ``names()``, ``entries()``, ``snapshot()`` and ``save()`` list entries by name, and read them in
      one consistent MULTI without taking the global lockable.

    Raises (from any method):
        StateStoreError: Redis cannot be reached (within a few seconds; a change is applied entirely
            or not at all).
        LockLost: a change made while holding a Redis lockable whose lease ran out; nothing written.
    """

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
        if store is None:
            raise ValueError("RedisSharedState needs store='redis://HOST:PORT/DB'")
        self.root = Path(root) if root is not None else None
        self.namespace = DEFAULT_NAMESPACE if namespace is None else namespace
        conn = RedisConnection.open(store)
        self.store_url = conn.url
        self.lock_space = LockSpace.open(conn, self.namespace)
        self.lease_ms = lease_ms
        self.lockable = lockable if lockable is not None else self.lock_space.lockable("global", lease_ms)
        self._redis = RedisStore(
            conn, self.namespace, ring_size, self.lock_space.fences, self.lock_space.lost
        )
        self._mine = threading.local()

    @property
    def _backend(self) -> StateStore:
        return self._redis

    # -- the objects this thread got, for touch() -----------------------------------------------

    def _remember(self, key: str, value: Any) -> None:
        objs: dict[str, Any] | None = getattr(self._mine, "objs", None)
        if objs is None:
            objs = self._mine.objs = {}
        objs.pop(key, None)
        objs[key] = value
        if len(objs) > LAST_GOT_KEEP:
            del objs[next(iter(objs))]

    def _forget(self, key: str) -> None:
        objs: dict[str, Any] | None = getattr(self._mine, "objs", None)
        if objs:
            objs.pop(key, None)

    def _mine_for(self, key: str) -> Any:
        objs: dict[str, Any] | None = getattr(self._mine, "objs", None)
        return objs.get(key, MISSING) if objs else MISSING

    # -- single operations ----------------------------------------------------------------------

    def set(self, name: str, value: Any = None, scope: ScopeArg = None) -> Any:
        """Create or replace an entry in Redis. Returns ``value`` (which ``touch`` writes back later).

        Raises:
            ValueError: ``value`` is not what a "pode" state file holds (the message names the entry).
        """
        if not name or not isinstance(name, str):
            _check_name(name)
        key = name.casefold()
        self._redis.set(key, name, value, [] if scope is None else _norm_scope(scope))
        self._remember(key, value)
        return value

    def get(self, name: str, default: Any = None, with_scope: bool = False) -> Any:
        """A fresh copy of the entry's value, or ``default``; ``with_scope`` gives ``{"Value", "Scope"}``."""
        if not name or not isinstance(name, str):
            _check_name(name)
        key = name.casefold()
        if with_scope:
            found = self._redis.get_with_scope(key)
            if found is None:
                return None
            self._remember(key, found[0])
            return {"Value": found[0], "Scope": found[1]}
        value = self._redis.get_value(key)
        if value is MISSING:
            return default
        self._remember(key, value)
        return value

    def remove(self, name: str) -> Any:
        key = _check_name(name).casefold()
        e = self._redis.remove(key)
        self._forget(key)
        return e.value if e is not None else None

    def test(self, name: str) -> bool:
        return self._redis.exists(_check_name(name).casefold())

    def __len__(self) -> int:
        return self._redis.count()

    def _select(
        self, pattern: str | None, scope: ScopeArg, include: ScopeArg, exclude: ScopeArg
    ) -> list[_Entry]:
        return select(self._redis.heads(), pattern, scope, include, exclude)

    def touch(self, name: str) -> None:
        """Write back the object this thread last got (or set) for ``name``, recording a change.

        Without such an object (another thread or process got it) only the change is recorded.

        Raises:
            KeyError: no such entry (nothing is written).
            ValueError: the object no longer holds only JSON data.
        """
        key = _check_name(name).casefold()
        obj = self._mine_for(key)
        ok = (
            self._redis.touch(key)
            if obj is MISSING
            else self._redis.put(key, name, encode_value(name, obj), None, op="touch")
        )
        if not ok:
            raise KeyError(name)

    @contextmanager
    def edit(self, name: str) -> Iterator[Any]:
        """Hold the global lockable, yield a copy of the value, write it back on a normal exit.

        Example:
            >>> with state.edit("hash") as h:  # doctest: +SKIP
            ...     h["values"].append(1)
        """
        key = _check_name(name).casefold()
        with self.lockable:
            value = self._redis.get_value(key)
            if value is MISSING:
                raise KeyError(name)
            self._remember(key, value)
            yield value
            if not self._redis.put(key, name, encode_value(name, value), None, op="touch"):
                raise KeyError(name)

    def rename(self, name: str, new_name: str) -> None:
        super().rename(name, new_name)
        self._forget(name.casefold())

    def set_scope(self, name: str, scope: ScopeArg) -> None:
        key = _check_name(name).casefold()
        scopes = _norm_scope(scope)
        with self.lockable:
            if not self._redis.set_scope(key, scopes):
                raise KeyError(name)

    # -- reading for viewers --------------------------------------------------------------------

    def add_change_event(self, event: threading.Event) -> None:
        """Not on Redis: other processes change the state too; follow the feed (``XREAD BLOCK``) instead."""
        raise NotImplementedError("a Redis state is followed through its change feed, not change events")

    def remove_change_event(self, event: threading.Event) -> None:
        """Nothing to remove: ``add_change_event`` never registers on Redis."""

    def entry(self, name: str) -> EntryInfo | None:
        info = super().entry(name)
        if info is not None:  # a value got through entry() is written back by touch() too
            self._remember(name.casefold(), info.value)
        return info

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """``{name: {"Value", "Scope"}}`` of fresh copies, read in one MULTI (no global lockable needed)."""
        return {e.name: {"Value": e.value, "Scope": list(e.scope)} for e in self._redis.items()}

    def _save_guard(self) -> AbstractContextManager[Any]:
        # items() reads every entry in one MULTI and hands out fresh copies: consistent without
        # taking the global lockable
        return nullcontext()

    def __repr__(self) -> str:
        return f"<SharedState on {self.store_url} namespace {self.namespace!r}>"
