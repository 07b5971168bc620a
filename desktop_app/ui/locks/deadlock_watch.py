"""Deadlock rings as the Locks dock reports them: believed on a second look, each logged once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from desktop_app.engine.deadlock import DeadlockCycle, detect_deadlocks
from desktop_app.engine.locks import Lockable

deadlock_log = logging.getLogger("desktop_app.engine.deadlock")

REMEMBERED = 256
"""Keys of deadlocks already logged that are kept (oldest forgotten first)."""


class DeadlockWatch:
    """Looks for wait-for rings in lock-free reads; one per dock, used on the GUI thread."""

    def __init__(self) -> None:
        self._suspects: dict[tuple[Any, ...], DeadlockCycle] = {}
        self._reported: dict[tuple[Any, ...], None] = {}  # oldest first

    def clear(self) -> None:
        """Forget the rings seen once (another server); the ones logged stay logged."""
        self._suspects.clear()

    def check(self, locks: Sequence[Lockable]) -> tuple[list[DeadlockCycle], list[DeadlockCycle]]:
        """Returns the deadlocks confirmed now, and those among them never reported before (logged here)."""
        found = detect_deadlocks(locks)
        # A ring is believed when a second look sees the very same waits (lock-free reads can
        # catch a ring that is coming apart); each distinct deadlock is logged once.
        confirmed = [c for c in found if c.key in self._suspects]
        self._suspects = {c.key: c for c in found}
        new: list[DeadlockCycle] = []
        for cycle in confirmed:
            if cycle.key not in self._reported:
                self._reported[cycle.key] = None
                if len(self._reported) > REMEMBERED:
                    del self._reported[next(iter(self._reported))]
                deadlock_log.error("Deadlock: %s", cycle.describe())
                new.append(cycle)
        return confirmed, new


def banner_text(confirmed: Sequence[DeadlockCycle]) -> str:
    """The dock's red banner: who waits for whom on which lockables, one line per deadlock."""
    return "\n".join(
        f"⚠ Deadlock: {' → '.join(c.threads)} → {c.threads[0]} wait for each other "
        f"on {', '.join(repr(lk) for lk in dict.fromkeys(c.locks))}. {c.describe()}."
        for c in confirmed
    )
