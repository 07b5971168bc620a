"""``atomic_write``: replace a state file so readers see the old one or the new one, never a mix."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from desktop_app.engine.errors import StateFileError
from desktop_app.engine.persistence.regular_files import _existing_regular_file
from desktop_app.engine.persistence.temp_files import (
    _in_flight_add,
    _in_flight_discard,
    _lock_temp,
    _remove_leftovers,
    _temp_name,
)


def atomic_write(path: str | os.PathLike[str], data: bytes | Sequence[bytes | memoryview]) -> None:
    """Replace ``path`` with ``data`` so that readers see the old file or the new one, never a mix.

    Writes a temporary ``.<name>.<random>.tmp`` in the same folder, flushes and fsyncs it,
    renames it over the target with ``os.replace`` and fsyncs the folder (best effort). An
    existing file keeps its permission bits (and, best effort, its owner); a new file gets
    ``0o666 & ~umask``. A symlink is followed: the file it points to is replaced, the link stays.
    Only a regular file (or nothing) is ever replaced: a folder, FIFO, socket or device node at
    the target (or at the end of the symlink) is refused and left as it is, so even as root
    ``atomic_write("/dev/null", ...)`` cannot replace the system's ``/dev/null``.
    On any error the temporary file is removed and the target is untouched. A process killed
    mid-write cannot remove its temporary file; the next write to the same target does (see
    ``_remove_leftovers``).

    Args:
        path: the state file to write.
        data: the complete new contents, e.g. from ``encode``, or a list of chunks written in order
            with ``os.writev`` (``fast_save`` passes orjson's chunks without joining them).

    Raises:
        StateFileError: the folder does not exist, the target is not a regular file (a folder,
            FIFO, socket, device node), or the OS refused (permissions, disk full, ...); the
            message names the file.

    Example:
        >>> atomic_write("state.json", encode({"count": (5, [])}))  # doctest: +SKIP
    """
    given = Path(os.fspath(path))
    target = given
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    folder = target.parent
    if not folder.is_dir():
        raise StateFileError(f"folder {str(folder)!r} does not exist; create it first", path=target)
    existing = _existing_regular_file(given, target)

    _remove_leftovers(folder, target.name)
    mode = stat.S_IMODE(existing.st_mode) if existing is not None else 0o666
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    temp: Path | None = None
    fd = -1
    try:
        for _ in range(100):
            temp = folder / _temp_name(target.name)
            _in_flight_add(temp.name)
            try:
                # The kernel applies the umask to a new file's mode, which is exactly 0o666 & ~umask.
                fd = os.open(temp, flags, mode & 0o777)
            except FileExistsError:
                _in_flight_discard(temp.name)
                continue
            if _lock_temp(fd):
                break
            # Another save took it for a dead writer's leftover before we locked it: start again.
            os.close(fd)
            fd = -1
            _in_flight_discard(temp.name)
        else:
            temp = None
            raise FileExistsError(f"no free temporary file name in {folder}")
        if existing is not None:
            _copy_mode_and_owner(fd, temp, existing)
        _write_all(fd, data)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        # Again, right before the rename: narrows the window in which a node appearing at the
        # target would be replaced (rename cannot be told to replace regular files only).
        _existing_regular_file(given, target)
        os.replace(temp, target)
        _in_flight_discard(temp.name)
        temp = None
    except BaseException as exc:
        if fd >= 0:
            os.close(fd)
        if temp is not None:
            try:
                os.unlink(temp)
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise StateFileError(f"cannot write the file: {exc.strerror or exc}", path=target) from exc
        raise
    finally:
        if temp is not None:
            _in_flight_discard(temp.name)
    _fsync_folder(folder)


def _write_all(fd: int, data: bytes | Sequence[bytes | memoryview]) -> None:
    """Write all of ``data``; chunks go out with ``os.writev``, at most IOV_MAX per call."""
    chunks = [memoryview(data)] if isinstance(data, bytes | bytearray | memoryview) else [memoryview(c) for c in data]
    if not hasattr(os, "writev"):  # Windows
        chunks = [memoryview(b"".join(chunks))]
    i = 0
    while i < len(chunks):
        if len(chunks) - i == 1:
            written = os.write(fd, chunks[i])
        else:
            written = os.writev(fd, chunks[i : i + _IOV_MAX])
        while i < len(chunks) and len(chunks[i]) <= written:
            written -= len(chunks[i])
            i += 1
        if written:
            chunks[i] = chunks[i][written:]


_IOV_MAX = 1024  # IOV_MAX on Linux and macOS: the most buffers one writev takes


def _copy_mode_and_owner(fd: int, temp: Path, existing: os.stat_result) -> None:
    mode = stat.S_IMODE(existing.st_mode)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        else:  # Windows: only the read-only bit exists
            os.chmod(temp, mode)
    except OSError:
        pass  # file systems without POSIX modes (FAT, some network shares)
    if hasattr(os, "fchown") and hasattr(os, "geteuid"):
        if (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
            try:
                os.fchown(fd, existing.st_uid, existing.st_gid)
                os.fchmod(fd, mode)  # chown clears setuid/setgid bits
            except OSError:
                pass  # only root may give a file away; the mode is kept regardless


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable. Not possible on Windows, nor on some file systems.
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
