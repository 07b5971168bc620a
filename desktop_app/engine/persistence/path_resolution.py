"""``resolve_path``: where a state file path given to save or restore points, as Pode resolves it."""

from __future__ import annotations

import os
import re
from pathlib import Path

_RELATIVE_PATH = re.compile(r"^\.{1,2}([\\/]|$)")


def resolve_path(path: str | os.PathLike[str], root: str | os.PathLike[str] | None) -> Path:
    """Resolve a state file path the way Pode's ``Get-PodeRelativePath -JoinRoot`` does.

    Paths starting ``./``, ``.\\``, ``../``, ``..\\`` or exactly ``.`` / ``..`` are joined onto
    ``root``; every other path is returned as given (a leading ``~`` is expanded). On POSIX a
    Windows-style ``.\\data\\state.json`` uses ``/`` as separator, so scripts written on Windows work.
    ``pathlib`` drops a leading ``./``, so ``Path("./x")`` is the bare relative path ``x``: pass a
    str to have it joined onto the root.

    Args:
        path: the path a user passed to save or restore.
        root: the server's root folder; None means the current working directory.

    Returns:
        The path to use. It is not normalised or resolved further.

    Example:
        >>> resolve_path("./state.json", "/srv/app")
        PosixPath('/srv/app/state.json')
    """
    text = os.fspath(path)
    match = _RELATIVE_PATH.match(text)
    if match is None:
        return Path(text).expanduser()
    if os.sep == "/" and match.group(1) == "\\":
        text = text.replace("\\", "/")
    base = Path(root).expanduser() if root is not None else Path.cwd()
    return base / text
