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
            parts.append(f"at {key_path}")
        prefix = ": ".join([", ".join(parts)]) if parts else ""
        super().__init__(f"{prefix}: {reason}" if prefix else reason)


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


class StateStoreError(ConnectionError):
    """The state's store (Redis) could not be reached, or stopped answering.

    Raised within a few seconds (the client's connect and socket timeouts), never a hang. The
    message names the store's URL without its password. A change that raised this was applied
    entirely or not at all (each change is one atomic script); the client reconnects by itself
    on the next call once the store is back.

    Attributes:
        url: the store's URL with any password masked.
        reason: what went wrong, in words.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"state store {url}: {reason}")


class LockLost(RuntimeError):
    """A Redis lockable this thread held is no longer its own: its lease ran out (the process was
    paused longer than the lease, or the store lost the key) and another process may hold it now.

    Raised by a change made under that lockable (nothing is written) and by its release (which
    then frees nothing: the lock belongs to whoever holds it now).

    Attributes:
        lock: the lockable's name.
    """

    def __init__(self, lock: str, outcome: str = "nothing was written") -> None:
        self.lock = lock
        super().__init__(
            f"lock '{lock}' was lost: its lease ran out while this thread held it (a pause longer than "
            f"the lease?) and another process may hold it now; {outcome}"
        )
