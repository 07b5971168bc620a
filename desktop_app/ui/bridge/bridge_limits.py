"""How often, how long and how much the bridge thread may work, and hold the global lockable, per turn."""

from __future__ import annotations

import time

FRAME = 1 / 30
"""At most this many deltas a second reach the GUI (the first change after a quiet spell passes at once)."""
IDLE_POLL = 0.005
"""How often an idle bridge looks at ``state.version`` (a lock-free read)."""
LOCK_TRY = 0.004
"""The bounded try for the global lockable; on failure the bridge retries next frame."""
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

clock = time.perf_counter
