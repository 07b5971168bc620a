"""How often, how long and how much the bridge thread may work, and hold the global lockable, per turn."""

from __future__ import annotations

import time
from typing import Any

FRAME = 1 / 30
"""At most this many deltas a second reach the GUI (the first change after a quiet spell passes at once)."""
MIN_TURN = 0.005
"""The bridge takes at most one turn per this many seconds, however fast changes wake it."""
BRIDGE_SHARE = 0.02
"""Share of one core the bridge thread may use while following changes (it waits longer between turns
when a turn was expensive); a first load of a big state is not held to it. Under a write-heavy
workload every bit of it is GIL time taken from the threads being watched."""
LOCK_POLL = 0.9
"""How often the global lockable's holder is looked at (lock-free): a long hold shows within this."""
LOCK_STATUS_GAP = 0.9
"""At least this long between two lock statuses sent to the GUI."""
LOCK_RETRY = 0.002
"""After the lockable was busy, the bridge tries again this soon, then twice as late each time up to a frame."""
LOCK_HOLD = 0.004
"""The longest the bridge keeps the global lockable per acquisition (it copies in slices)."""
LOCK_BUDGET = 20_000
"""Elements a value may have to be copied under the lock; a bigger one is copied level by level outside it."""
STEP_TIME = 0.008
"""Work per loop turn before the bridge lets the GIL go (so the GUI thread stays responsive)."""
MAX_UPSERTS = 8_000
"""Upserts per delta: bounds the GUI's work per frame while a huge state loads."""
FIRST_SCREEN = 1_000
"""Entries in the first picture of a (re)load: enough to paint a screen, quick to copy."""
LOAD_CHUNK = 256
SCAN_AFTER = 256
"""Behind by more changes than this and than there are entries, the bridge compares entry versions
instead of reading the change records."""

clock = time.perf_counter


def try_lock_apart(lockable: Any) -> bool:
    """Take the lockable only if it is free now, never waiting, counted apart from its users' figures.

    A lockable without the observer hook is tried with a plain non-blocking acquire (counted as a use).
    """
    apart = getattr(lockable, "try_acquire_apart", None)
    if apart is not None:
        return bool(apart())
    return bool(lockable.acquire(False))


def unlock_apart(lockable: Any) -> None:
    """Release what ``try_lock_apart`` took."""
    release = getattr(lockable, "release_apart", None)
    if release is not None:
        release()
    else:
        lockable.release()
