"""How the Jobs dock says times: countdowns, ages, durations and intervals in words a person reads at a glance."""

from __future__ import annotations

from datetime import datetime


def format_seconds(seconds: float) -> str:
    """``1.43`` -> ``1.4 s``; ``75`` -> ``1 min 15 s``; ``7260`` -> ``2 h 1 min``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def format_countdown(when: datetime | None, now: datetime) -> str:
    """Time until ``when``: ``in 1.4 s``, ``due`` once reached, ``—`` when there is none."""
    if when is None:
        return "—"
    left = (when - now).total_seconds()
    return "due" if left <= 0.05 else f"in {format_seconds(left)}"


def format_age(when: datetime | None, now: datetime) -> str:
    """Time since ``when``: ``2.1 s ago``; ``—`` when it never happened."""
    if when is None:
        return "—"
    return f"{format_seconds(max(0.0, (now - when).total_seconds()))} ago"


def format_duration(seconds: float | None) -> str:
    """``0.0032`` -> ``3.2 ms``; ``1.5`` -> ``1.50 s``; ``—`` for None."""
    if seconds is None:
        return "—"
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def format_interval(seconds: float) -> str:
    return f"every {seconds:g} s" if seconds < 60 else f"every {format_seconds(seconds)}"
