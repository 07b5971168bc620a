"""Counting nouns the way people say them: "1 entry", "2 entries", "1,024 snapshots"."""

from __future__ import annotations

_IRREGULAR = {"entry": "entries", "was": "were", "is": "are", "process": "processes"}


def plural(noun: str, n: int) -> str:
    """``noun`` as it reads after ``n``: ``plural("entry", 2)`` -> ``entries``."""
    if n == 1:
        return noun
    return _IRREGULAR.get(noun, noun + "s")


def count(n: int, noun: str) -> str:
    """``count(1, "entry")`` -> ``1 entry``; ``count(1500, "change")`` -> ``1,500 changes``."""
    return f"{n:,} {plural(noun, n)}"
