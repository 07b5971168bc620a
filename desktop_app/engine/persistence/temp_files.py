"""Temporary files of saves: their names, the lock a live writer holds, and removing dead ones."""

from __future__ import annotations

import os
import secrets
import stat
import threading
from pathlib import Path

from desktop_app.engine.persistence.regular_files import _LOOK_FLAGS

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

# A save killed mid-write (SIGKILL, power loss) leaves its ``.<name>.<8 hex>.tmp`` behind, and
# such a file can be as big as the state. The next save to the same target removes them, and
# must never remove one that a live save is still writing: in another process (two apps saving
# the same file) or in this one (two threads). Age cannot tell these apart (a slow disk can
# spend seconds in one fsync; a paused process holds its file for as long as it likes), so
# liveness is what decides:
# - Each writer holds an exclusive flock on its temp file from creation until the rename. The
#   kernel drops a lock when its holder dies, however it dies, so a leftover a save can lock is
#   one whose writer is gone; one it cannot lock is skipped.
# - Temp files this process is writing are skipped without asking (on NFS, flock may be emulated
#   with per-process POSIX locks, which would let this process lock its own live temp files).
# - Between a writer's create and its lock (two system calls), its file looks abandoned. If a
#   cleaner removes it then, the writer sees after locking that its file has no link left and
#   starts again with a new name, so nothing is lost and no error is raised.
# - Only regular files named exactly as we name them for this target are touched; a symlink,
#   FIFO or folder of that name is left alone, and a file is only removed if the name still
#   refers to the inode that was locked.
# Without fcntl (Windows) a file its writer still has open cannot be deleted, so removing is
# simply tried. Removal is best effort: any error leaves the file for a later save.

_TEMP_HEX = frozenset("0123456789abcdef")
_TEMP_RANDOM_CHARS = 8
_in_flight: set[str] = set()
_in_flight_lock = threading.Lock()


def _temp_name(target_name: str) -> str:
    return f".{target_name}.{secrets.token_hex(_TEMP_RANDOM_CHARS // 2)}.tmp"


def _is_temp_name(name: str, prefix: str) -> bool:
    random = name[len(prefix) : -len(".tmp")]
    return (
        len(name) == len(prefix) + _TEMP_RANDOM_CHARS + len(".tmp")
        and name.startswith(prefix)
        and name.endswith(".tmp")
        and set(random) <= _TEMP_HEX
    )


def _in_flight_add(name: str) -> None:
    with _in_flight_lock:
        _in_flight.add(name)


def _in_flight_discard(name: str) -> None:
    with _in_flight_lock:
        _in_flight.discard(name)


def _lock_temp(fd: int) -> bool:
    """Lock a new temp file for as long as we write it; False if a cleaner got it first."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # a cleaner holds it and is about to remove it
    except OSError:
        return True  # no flock on this file system: write unlocked (cleaners skip what they cannot lock)
    return os.fstat(fd).st_nlink > 0


def _remove_leftovers(folder: Path, target_name: str) -> None:
    """Remove temp files of earlier saves to ``target_name`` whose writers are gone (see above)."""
    prefix = f".{target_name}."
    try:
        with os.scandir(folder) as entries:
            found = [
                entry.name
                for entry in entries
                if _is_temp_name(entry.name, prefix) and entry.is_file(follow_symlinks=False)
            ]
    except OSError:
        return
    for name in found:
        with _in_flight_lock:
            if name in _in_flight:
                continue
        _remove_if_abandoned(os.path.join(folder, name))


_PROBE_FLAGS = _LOOK_FLAGS | getattr(os, "O_NOFOLLOW", 0)


def _remove_if_abandoned(path: str) -> None:
    if fcntl is None:
        try:
            os.unlink(path)
        except OSError:
            pass
        return
    try:
        fd = os.open(path, _PROBE_FLAGS)
    except OSError:
        return
    try:
        locked = os.fstat(fd)
        if not stat.S_ISREG(locked.st_mode):
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # its writer is alive (or this file system has no flock: then leave it)
        now = os.lstat(path)
        if (now.st_dev, now.st_ino) == (locked.st_dev, locked.st_ino):
            os.unlink(path)
    except OSError:
        pass
    finally:
        os.close(fd)
