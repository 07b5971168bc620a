"""Which frames of a captured stack are the person's code, and which are library plumbing to fold away."""

from __future__ import annotations

import os
import re
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass

from desktop_app.engine import locks as _engine_locks

_FRAME = re.compile(r'\s*File "(?P<file>[^"]*)", line (?P<line>\d+), in (?P<func>.*)')
_ENGINE_DIR = os.path.normcase(os.path.dirname(os.path.realpath(_engine_locks.__file__))) + os.sep


def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    return tuple(sorted(os.path.normcase(os.path.realpath(p)) + os.sep for p in roots if p))


_LIBRARY_ROOTS = _library_roots()


def frame_file(frame: str) -> str:
    """The file a ``traceback.format_stack`` entry is in ("" if the entry is not a frame)."""
    match = _FRAME.match(frame)
    return match.group("file") if match else ""


def library_kind(filename: str) -> str | None:
    """What library a frame's file belongs to (``threading``, ``desktop_app.engine``), or None for the person's code.

    Library: the engine itself, the standard library and installed packages: what every stack of a
    timer or a route starts with, whatever the script does.
    """
    if filename.startswith("<frozen"):
        return "python"  # <frozen importlib._bootstrap>
    if not filename or filename.startswith("<"):
        return None  # <string>, <stdin>: code the person ran
    slashed = filename.replace("\\", "/")
    real = os.path.normcase(os.path.realpath(filename))
    if real.startswith(_ENGINE_DIR) or "/desktop_app/engine/" in slashed:
        return "desktop_app.engine"
    for root in _LIBRARY_ROOTS:
        if real.startswith(root):
            rest = real[len(root) :].replace("\\", "/")
            top = rest.split("/", 1)[0]
            if top in ("site-packages", "dist-packages"):
                top = rest.split("/")[1] if rest.count("/") >= 1 else top
            return os.path.splitext(top)[0] or "python"
    # a frozen bundle names stdlib files without a folder
    if "/" not in slashed and os.path.splitext(slashed)[0] in sys.stdlib_module_names:
        return os.path.splitext(slashed)[0]
    return None


@dataclass(frozen=True)
class FoldedStack:
    """A stack with library frames set aside: ``shown`` in their order (outermost first)."""

    shown: tuple[str, ...]
    hidden: int
    kinds: tuple[str, ...]
    """The libraries hidden, in the order they first appear."""


def fold_stack(frames: Sequence[str]) -> FoldedStack:
    """Keep the person's frames; fold the rest. A stack with no frame of the person's shows whole."""
    shown: list[str] = []
    kinds: dict[str, None] = {}
    for frame in frames:
        kind = library_kind(frame_file(frame))
        if kind is None:
            shown.append(frame)
        else:
            kinds[kind] = None
    if not shown:
        return FoldedStack(tuple(frames), 0, ())
    return FoldedStack(tuple(shown), len(frames) - len(shown), tuple(kinds))
