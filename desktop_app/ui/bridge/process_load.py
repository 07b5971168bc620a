"""How busy the watched process is: the CPU its other threads use, seen from the GUI thread (no Qt, no engine)."""

from __future__ import annotations

import time

BUSY = 0.3
"""The rest of the process using more than this share of a core is a busy workload: the studio then
holds its own work (frames, repaints, samples) to its smallest shares, since every bit of it is GIL
time taken from the threads it watches."""
SAMPLE_EVERY = 0.25


class ProcessLoad:
    """CPU used by every thread of the process but the calling one, as a share of a core (lazily sampled).

    Call it from one thread (the GUI thread): its own CPU is what it subtracts.
    """

    def __init__(self) -> None:
        self._at = time.perf_counter()
        self._process = time.process_time()
        self._thread = time.thread_time()
        self.share = 0.0

    def busy(self) -> bool:
        now = time.perf_counter()
        span = now - self._at
        if span >= SAMPLE_EVERY:
            process, thread = time.process_time(), time.thread_time()
            self.share = max(0.0, (process - self._process) - (thread - self._thread)) / span
            self._at, self._process, self._thread = now, process, thread
        return self.share > BUSY


gui_process_load = ProcessLoad()
"""The one the GUI thread asks (the bridge's frame pacing, the views' work budgets)."""
