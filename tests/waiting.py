"""Waiting on a condition with a deadline (the engine's equivalent of qtbot.waitUntil)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def wait_until(cond: Callable[[], object], timeout: float = 5.0, step: float = 0.005) -> bool:
    """True as soon as ``cond()`` is truthy; False if it is still falsy after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        if cond():
            return True
        pause.wait(step)
    return bool(cond())
