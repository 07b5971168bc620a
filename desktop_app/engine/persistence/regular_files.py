"""Regular files only: the checks that keep saves and restores away from folders, FIFOs and devices."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from desktop_app.engine.errors import StateFileError

_NODE_KINDS: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link that cannot be followed"),
)


def _not_regular(mode: int, path: Path, target: Path | None = None) -> StateFileError:
    """The error for a path that is not a regular file; ``target`` is where a symlink led."""
    kind = next((name for test, name in _NODE_KINDS if test(mode)), "not a regular file")
    if target is None and os.path.islink(path):
        target = Path(os.path.realpath(path))
    via = f" (the symlink points to {target})" if target is not None and target != path else ""
    return StateFileError(
        f"is {kind}{via}, not a regular file; state files are only read from and written to regular files",
        path=path,
    )


def _existing_regular_file(given: Path, target: Path) -> os.stat_result | None:
    """The target's stat, None if it does not exist; StateFileError if it is not a regular file."""
    try:
        existing = os.lstat(target)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError(f"cannot inspect the file: {exc.strerror or exc}", path=target) from exc
    if not stat.S_ISREG(existing.st_mode):
        raise _not_regular(existing.st_mode, given, target)
    return existing


# Opening a path only to read it or look at it: never block on a FIFO, never take a terminal as the
# controlling one, never leak the descriptor into a child process. temp_files.py probes with these too.
_LOOK_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
)
_READ_FLAGS = _LOOK_FLAGS | getattr(os, "O_BINARY", 0)


def _open_regular(path: Path) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file, without ever blocking on a FIFO.

    The caller's stat can be outrun (the file replaced by a FIFO in between), so the open is
    non-blocking and the descriptor itself is checked with fstat before anything is read.

    Raises:
        StateFileError: it is not a regular file.
        OSError: it cannot be opened.
    """
    fd = os.open(path, _READ_FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(mode, path)
        if _READ_FLAGS & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)  # a no-op for local files, but some network file systems honour it
        return open(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
