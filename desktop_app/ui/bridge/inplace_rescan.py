"""The bridge's in-place rescan: finds values mutated without ``state.touch()`` at a bounded share of one core."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from desktop_app.ui.bridge.bridge_limits import LOCK_BUDGET, LOCK_HOLD, clock, unlock_apart
from desktop_app.ui.bridge.entry_snapshot import EntrySnapshot, Pending, TooBig, fold, freeze, strict_equal

if TYPE_CHECKING:
    from desktop_app.engine.server import Server

RESCAN_SHARE = 0.04
"""Share of one core the in-place rescan may use (a token bucket), under the 5 % the GUI promises."""
RESCAN_BURST = 0.05
"""The most rescan time saved up for one turn (seconds)."""
RESCAN_PERIOD = 0.9
"""How often the in-place rescan runs: untracked in-place changes show within about this."""
WATCH_RECHECK = RESCAN_PERIOD
"""How often a value the view shows (on screen or expanded) is looked at again, outside the round."""
INPLACE_THREAD = "(in place)"
"""The 'By' of a change the rescan found: the value was mutated without ``state.touch()``."""


class InPlaceRescan:
    """Mixed into FeedReader (which owns the attributes below); runs on the bridge thread only."""

    _shadow: dict[str, EntrySnapshot]
    _containers: dict[str, None]
    _big: set[str]
    _dirty: dict[str, str]
    _watched: tuple[str, ...]
    _watch_checked: dict[str, float]
    _recheck: dict[str, None]
    _rescan_order: list[str]
    _rescan_pos: int
    _rescan_at: float
    _next_rescan: float
    _credit: float
    _retry_lock_at: float

    if TYPE_CHECKING:

        def _publish(self, snap: EntrySnapshot) -> None: ...

        def _try_lock(self, lockable: Any) -> bool: ...

    def _rescan(self, server: Server) -> None:
        now = clock()
        if now < self._next_rescan:
            return
        self._next_rescan = now + RESCAN_PERIOD
        self._credit = min(RESCAN_BURST, self._credit + (now - self._rescan_at) * RESCAN_SHARE)
        self._rescan_at = now
        if self._credit <= 0 or not self._containers:
            return
        keys = self._rescan_candidates(now)
        if not keys:
            return
        state = server.state
        start = clock()
        # Compared without the lock (each level copied in one GIL-atomic call): the lockable is
        # taken only to copy what really changed, so an unchanged state costs its users nothing.
        changed: list[str] = []
        for key in keys:
            if clock() - start > self._credit:
                break
            if self._differs(state, key):
                changed.append(key)
        if changed:
            lockable = server.lockable
            if clock() >= self._retry_lock_at and self._try_lock(lockable):
                big: list[str] = []
                copies: list[tuple[EntrySnapshot, Any]] = []
                try:
                    hold_until = clock() + LOCK_HOLD
                    for key in changed:
                        if clock() > hold_until:
                            break  # the rest is found again next turn
                        if key in self._big:
                            big.append(key)
                            continue
                        self._rescan_copy(state, key, [LOCK_BUDGET], copies)
                finally:
                    unlock_apart(lockable)
                for key in big[:1]:
                    # A huge value is copied outside the lock (level by level), one per turn; the bucket pays.
                    self._rescan_copy(state, key, None, copies)
                # Compared after the release: strict_equal walks in Python, and only the copy needs the lock.
                for snap, value in copies:
                    self._publish_if_changed(snap, value)
            else:
                self._recheck.update(dict.fromkeys(changed))
        self._credit -= clock() - start

    def _differs(self, state: Any, key: str) -> bool:
        """Whether ``key``'s live value differs from what the GUI has (read without the lock)."""
        snap = self._shadow.get(key)
        if snap is None or key in self._dirty:
            return False
        info = state.entry(snap.name)
        if info is None or info.version != snap.version:
            self._dirty[key] = snap.name  # the feed will bring it; make sure it is looked at
            return False
        if type(snap.value) is Pending:
            return True
        return not strict_equal(freeze(info.value), snap.value)

    def _rescan_candidates(self, now: float) -> list[str]:
        picked: list[str] = [k for k in self._recheck if k in self._containers]
        self._recheck.clear()
        for name in self._watched:
            key = fold(name)
            if key in self._containers and now - self._watch_checked.get(key, 0.0) >= WATCH_RECHECK:
                self._watch_checked[key] = now
                picked.append(key)
        if self._rescan_pos >= len(self._rescan_order):
            self._rescan_order = list(self._containers)
            self._rescan_pos = 0
        end = self._rescan_pos + 512
        picked.extend(self._rescan_order[self._rescan_pos : end])
        self._rescan_pos = end
        return picked

    def _rescan_copy(
        self, state: Any, key: str, budget: list[int] | None, copies: list[tuple[EntrySnapshot, Any]]
    ) -> None:
        snap = self._shadow.get(key)
        if snap is None or key in self._dirty:
            return
        info = state.entry(snap.name)
        if info is None or info.version != snap.version:
            if info is None or key not in self._dirty:
                self._dirty[key] = snap.name  # the feed will bring it; make sure it is looked at
            return
        try:
            copies.append((snap, freeze(info.value, budget)))
        except TooBig:
            self._big.add(key)

    def _publish_if_changed(self, snap: EntrySnapshot, value: Any) -> None:
        if type(snap.value) is Pending or not strict_equal(value, snap.value):
            changed = type(snap.value) is not Pending
            self._publish(
                snap._replace(
                    value=value,
                    time=time.time() if changed else snap.time,
                    thread=INPLACE_THREAD if changed else snap.thread,
                )
            )
