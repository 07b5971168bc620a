"""FailureLog: a job that keeps failing logs one full traceback, then one summary line per interval.

A timer failing every 10 ms used to write a traceback per run (1.56 MB in 20 s), burying everything
else in the log. The job itself still counts every error and keeps the last traceback (the Jobs dock
shows both); only the log is thinned.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

SUMMARY_INTERVAL = 60.0
"""Seconds between summary lines of a job that keeps failing (``FailureLog.interval`` overrides it per job)."""


def _times(n: int) -> str:
    return "1 more time" if n == 1 else f"{n:,} more times"


class FailureLog:
    """Decides, per job, which failures are logged in full and which are only counted.

    The first failure after a quiet ``interval`` is logged with its traceback. Failures within the
    interval after that are counted; the next one past the interval (or a successful run past it, or
    ``flush()`` when the job stops or completes) logs one summary line:
    ``[Timer] tick failed 1,998 more times in the last 60 s; last: ValueError: bad``.

    Attributes:
        interval: seconds between log lines of one job (default ``SUMMARY_INTERVAL``).
        clock: a ``time.monotonic``-like function; tests pass their own.
    """

    def __init__(
        self,
        label: str,
        logger: logging.Logger,
        interval: float = SUMMARY_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.log = logger
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._since: float | None = None  # when the last line was logged; None: quiet
        self._suppressed = 0
        self._last = ""

    def failed(self, error: BaseException, message: str) -> None:
        """Log (or count) one failed run; ``message`` is ``"<Type>: <text>"``."""
        now = self.clock()
        with self._lock:
            if self._since is None or (now - self._since >= self.interval and not self._suppressed):
                self._since = now
                full, summary = True, None
            elif now - self._since >= self.interval:
                summary = self._summary_line(now, self._suppressed + 1, message)
                self._since, self._suppressed = now, 0
                full = False
            else:
                self._suppressed += 1
                self._last = message
                return
        if full:
            self.log.error("%s raised %s", self.label, message, exc_info=error)
        else:
            self.log.error("%s", summary)

    def succeeded(self) -> None:
        """A run returned: past the interval, pending failures are summarised and the job counts as quiet."""
        if self._since is None:  # the common case, every successful run: no lock, no clock
            return
        with self._lock:
            if self._since is None:
                return
            now = self.clock()
            if now - self._since < self.interval:
                return
            summary = self._summary_line(now, self._suppressed, self._last) if self._suppressed else None
            self._since, self._suppressed = None, 0
        if summary:
            self.log.error("%s", summary)

    def flush(self) -> None:
        """Log the failures counted since the last line now (the job stops or has completed)."""
        with self._lock:
            if not self._suppressed or self._since is None:
                return
            summary = self._summary_line(self.clock(), self._suppressed, self._last)
            self._since, self._suppressed = None, 0
        self.log.error("%s", summary)

    def _summary_line(self, now: float, count: int, last: str) -> str:
        assert self._since is not None
        return f"{self.label} failed {_times(count)} in the last {now - self._since:.0f} s; last: {last}"
