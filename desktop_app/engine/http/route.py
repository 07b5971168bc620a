"""One ``METHOD /path`` route (Pode's Add-PodeRoute): its handler and its figures for the Jobs dock."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from desktop_app.engine.jobs.job import JobStats

LATENCY_KEEP = 1024
"""Recent request durations each route keeps for its p50 / p99."""


class Route(JobStats):
    """One ``METHOD /path`` handler and its figures for the jobs panel.

    ``count`` is the number of requests it answered, ``errors`` those whose handler raised (or returned
    something that cannot be sent); ``p50`` / ``p99`` are over the last ``LATENCY_KEEP`` requests, in
    seconds, from the request reaching the server to the answer being ready.
    """

    kind = "Route"

    def __init__(self, method: str, path: str, fn: Callable[..., Any]) -> None:
        super().__init__(f"{method} {path}")
        self.method = method
        self.path = path
        self.fn = fn
        self.last_status: int | None = None
        # Written only on the "http" thread; read from anywhere (copying a deque is atomic).
        self._latencies: deque[float] = deque(maxlen=LATENCY_KEEP)

    @property
    def requests(self) -> int:
        """Requests answered (the same as ``count``)."""
        return self.count

    def _percentile(self, q: float) -> float:
        recent = sorted(self._latencies)
        if not recent:
            return 0.0
        return recent[min(len(recent) - 1, int(q * len(recent)))]

    @property
    def p50(self) -> float:
        """Median latency in seconds over recent requests (0.0 before the first, as lock figures)."""
        return self._percentile(0.50)

    @property
    def p99(self) -> float:
        """99th-percentile latency in seconds over recent requests (0.0 before the first)."""
        return self._percentile(0.99)

    def __repr__(self) -> str:
        return f"<Route {self.name} count={self.count} errors={self.errors}>"
