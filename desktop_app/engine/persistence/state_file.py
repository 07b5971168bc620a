"""What a state file holds once read: ``StateFile``, its ``Entries``, and the format names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Entries = dict[str, tuple[Any, list[str]]]
"""name -> (value, scope list), in insertion order."""

FORMATS = ("pode", "pode-v2")


@dataclass(frozen=True)
class StateFile:
    """What a state file holds.

    Attributes:
        entries: name -> (value, scope list), in file order.
        format: "pode" ({name: {Value, Scope}}), "pode-v2" (Pode 2.14's typed envelope) or
            "pode-legacy" (pre-scope {name: value}; every scope is []).
    """

    entries: Entries
    format: str
