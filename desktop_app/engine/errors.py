"""Typed errors the engine raises to people: each names the thing (file, key path, script) and what went wrong."""

from __future__ import annotations

from pathlib import Path


class StateFileError(Exception):
    """A state file could not be read or written.

    Attributes:
        path: the file concerned (None when serialising without a file).
        position: where in the file, e.g. "line 3, column 7" or "byte 120", or None.
        key_path: the value's path in the state, e.g. 'hash.values[3]', or None.
        reason: what went wrong, in words.
    """

    def __init__(
        self,
        reason: str,
        *,
        path: str | Path | None = None,
        position: str | None = None,
        key_path: str | None = None,
    ) -> None:
        self.reason = reason
        self.path = str(path) if path is not None else None
        self.position = position
        self.key_path = key_path
        parts = []
        if self.path:
            parts.append(self.path)
        if position:
            parts.append(position)
        if key_path:
            parts.append(f"at {_shortened(key_path)}")
        prefix = ": ".join([", ".join(parts)]) if parts else ""
        super().__init__(f"{prefix}: {reason}" if prefix else reason)


def _shortened(key_path: str, keep: int = 60) -> str:
    """A key path for a one-line message: a very deep one keeps its start and end (the attribute keeps it all)."""
    if len(key_path) <= 3 * keep:
        return key_path
    head = key_path[:keep]
    tail = key_path[-keep:]
    # cut where a key or index starts, so no part of the path is shown broken
    head_cut = max(head.rfind("["), head.rfind("."))
    tail_cut = min((i for i in (tail.find("["), tail.find(".")) if i >= 0), default=0)
    return f"{head[:head_cut] if head_cut > 0 else head}…{tail[tail_cut:]}"


class ScriptError(Exception):
    """A server script failed to load: syntax error, no ``setup``, or ``setup`` raised.

    Attributes:
        path: the script file.
        line: the line in the script where it failed, or None.
        reason: the message.
    """

    def __init__(self, reason: str, *, path: str | Path, line: int | None = None) -> None:
        self.reason = reason
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")
