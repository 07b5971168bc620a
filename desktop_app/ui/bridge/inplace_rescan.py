"""The bridge's in-place rescan: finds values mutated without ``state.touch()`` at a bounded share of one core."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from desktop_app.ui.bridge.bridge_limits import FRAME, LOCK_BUDGET, LOCK_HOLD, LOCK_TRY, clock
from desktop_app.ui.bridge.entry_snapshot import EntrySnapshot, Pending, TooBig, fold, freeze, strict_equal

if TYPE_CHECKING:
    from desktop_app.engine.server import Server

RESCAN_SHARE = 0.04
"""Share of one core the in-place rescan may use (a token bucket), under the 5 % the GUI promises."""
WATCH_RECHECK = 0.25
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
    _rescan_order: list[str]
    _rescan_pos: int
    _rescan_at: float
    _credit: float
    _retry_lock_at: float

    if TYPE_CHECKING:

        def _publish(self, snap: EntrySnapshot) -> None: ...

    def _rescan(self, server: Server) -> None:
        now = clock()
        self._credit = min(0.05, self._credit + (now - self._rescan_at) * RESCAN_SHARE)
        self._rescan_at = now
        if self._credit <= 0 or not self._containers or now < self._retry_lock_at:
            return
        keys = self._rescan_candidates(now)
        if not keys:
            return
        state = server.state
        lockable = server.lockable
        start = clock()
        big: list[str] = []
        copies: list[tuple[EntrySnapshot, Any]] = []
        if not lockable.acquire(True, LOCK_TRY):
            self._retry_lock_at = clock() + FRAME
            self._credit -= clock() - start
            return
        try:
            hold_until = start + min(self._credit, LOCK_HOLD)
            for key in keys:
                if clock() > hold_until:
                    break
                if key in self._big:
                    big.append(key)
                    continue
                self._rescan_copy(state, key, [LOCK_BUDGET], copies)
        finally:
            lockable.release()
        for key in big[:1]:
            # A huge value is copied outside the lock (level by level), one per turn; the bucket pays for it.
            self._rescan_copy(state, key, None, copies)
        # Compared after the release: strict_equal walks in Python, and only the copy needs the lock.
        for snap, value in copies:
            self._publish_if_changed(snap, value)
        self._credit -= clock() - start

    def _rescan_candidates(self, now: float) -> list[str]:
        picked: list[str] = []
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
