"""Copying live values for the GUI: immutables as they are, containers under a lock try that never waits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop_app.engine.state import EntryInfo
from desktop_app.ui.bridge.bridge_limits import (
    FRAME,
    LOCK_BUDGET,
    LOCK_HOLD,
    LOCK_RETRY,
    clock,
    try_lock_apart,
    unlock_apart,
)
from desktop_app.ui.bridge.entry_snapshot import (
    IMMUTABLE_TYPES,
    EntrySnapshot,
    TooBig,
    fold,
    freeze,
    placeholder,
)

if TYPE_CHECKING:
    from desktop_app.engine.server import Server


class LockedCopy:
    """Mixed into FeedReader (which owns the attributes below); runs on the bridge thread only.

    The global lockable is taken only by a try that never waits, counted apart from its users'
    figures (``try_acquire_apart``), and held at most LOCK_HOLD per acquisition.
    """

    _shadow: dict[str, EntrySnapshot]
    _big: set[str]
    _dirty: dict[str, str]
    _retry_lock_at: float
    _lock_backoff: float

    def _snapshot_all(
        self, server: Server, infos: list[EntryInfo], *, placeholders: bool
    ) -> list[EntrySnapshot]:
        """Snapshots of ``infos`` in order. Containers are copied under one bounded lock try; if the
        lock is busy they become Pending placeholders (``placeholders``) or go back to the dirty set."""
        out: list[EntrySnapshot | None] = []
        locked: list[int] = []
        big: list[int] = []
        for info in infos:
            v = info.value
            if type(v) in IMMUTABLE_TYPES:
                out.append(EntrySnapshot(info.name, v, info.scope, info.version, info.time, info.thread))
            else:
                (big if fold(info.name) in self._big else locked).append(len(out))
                out.append(None)
        if locked:
            lockable = server.lockable
            got = clock() >= self._retry_lock_at and self._try_lock(lockable)
            if got:
                hold_until = clock() + LOCK_HOLD
                try:
                    for n, i in enumerate(locked):
                        info = infos[i]
                        if clock() > hold_until:
                            # Out of hold time: the rest waits for the next slice.
                            for j in locked[n:]:
                                self._requeue(infos[j], out, j, placeholders)
                            break
                        try:
                            value = freeze(info.value, [LOCK_BUDGET])
                        except TooBig:
                            self._big.add(fold(info.name))
                            big.append(i)
                            continue
                        out[i] = EntrySnapshot(
                            info.name, value, info.scope, info.version, info.time, info.thread
                        )
                finally:
                    unlock_apart(lockable)
            else:
                for i in locked:
                    self._requeue(infos[i], out, i, placeholders)
        for i in big:
            # Too big to copy under the lock: copied level by level (each level one GIL-atomic copy).
            info = infos[i]
            out[i] = EntrySnapshot(
                info.name, freeze(info.value), info.scope, info.version, info.time, info.thread
            )
        return [s for s in out if s is not None]

    def _try_lock(self, lockable: Any) -> bool:
        """One try for the lockable, never waiting. After a failure the next try comes after a backoff
        that doubles from LOCK_RETRY to a frame: an edit's short hold costs the tree a few ms, a
        lock that stays busy costs the holders one failed try per frame."""
        if try_lock_apart(lockable):
            self._lock_backoff = LOCK_RETRY
            return True
        self._retry_lock_at = clock() + self._lock_backoff
        self._lock_backoff = min(FRAME, self._lock_backoff * 2)
        return False

    def _requeue(self, info: EntryInfo, out: list[EntrySnapshot | None], i: int, placeholders: bool) -> None:
        self._dirty[fold(info.name)] = info.name
        if placeholders and fold(info.name) not in self._shadow:
            out[i] = EntrySnapshot(
                info.name, placeholder(info.value), info.scope, info.version, info.time, info.thread
            )
