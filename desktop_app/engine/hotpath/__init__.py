"""The engine's hot paths: the compiled ``_hotpath`` when it was built, else its pure-Python twin.

What lives here: ``_hotpath.c`` (the compiled Lockable core, store write, Server.lock and save scan),
``pure.py`` (its twin and readable specification), ``thread_names.py`` (thread idents resolved to
names when read) and this chooser. It imports only the standard library and
``persistence.limits``; ``locks``, ``store``, ``state``, ``server`` and ``persistence.fast_save``
build on it.

``STATE_STUDIO_PURE=1`` forces the pure twin (as ``AIOHTTP_NO_EXTENSIONS`` does for aiohttp).
``IMPLEMENTATION`` says which one runs ("compiled" or "pure"); ``state-studio --version`` shows it.
Both are configured here, once, with the same histogram bounds, ring size and name registry.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from desktop_app.engine.hotpath import pure as hotpath_pure
from desktop_app.engine.hotpath import thread_names
from desktop_app.engine.persistence.limits import MAX_DEPTH

RING_SIZE = 4096
"""Events each lockable keeps for the timeline."""

# Histogram buckets: 1 us .. ~100 s, 8 buckets per power of two (about 9 % resolution).
_BUCKETS_PER_OCTAVE = 8
_MIN_SECONDS = 1e-6
_N_BUCKETS = int(math.log2(100 / _MIN_SECONDS) * _BUCKETS_PER_OCTAVE) + 2
BOUNDS = [_MIN_SECONDS * 2 ** (i / _BUCKETS_PER_OCTAVE) for i in range(_N_BUCKETS)]
"""Upper bound (seconds) of each histogram bucket; a duration goes in the first bucket whose bound it does not exceed."""

SAVE_MAX_DEPTH = MAX_DEPTH
"""Deepest container nesting a whole-state save scans as clean (persistence's MAX_DEPTH): deeper goes
to the exact checker, which refuses it naming the key path."""

PURE_ENV = "STATE_STUDIO_PURE"

_skip: set[str] = {
    contextlib.contextmanager.__code__.co_filename,
    hotpath_pure.configure.__code__.co_filename,
}

if TYPE_CHECKING:
    # The pure twin is the specification; the compiled module has the same names and signatures.
    from desktop_app.engine.hotpath.pure import Entry, Guard, LockCore, StoreCore, fill_chunk, monotonic, wall
else:
    _compiled = None
    if os.environ.get(PURE_ENV, "").strip() in ("", "0"):
        try:
            _compiled = importlib.import_module("desktop_app.engine.hotpath._hotpath")
        except ImportError:  # not built (no compiler at install time, or a free-threaded CPython)
            _compiled = None
    _impl = _compiled if _compiled is not None else hotpath_pure
    LockCore = _impl.LockCore
    Guard = _impl.Guard
    Entry = _impl.Entry
    StoreCore = _impl.StoreCore
    fill_chunk = _impl.fill_chunk
    monotonic = _impl.monotonic
    wall = _impl.wall

IMPLEMENTATION = "pure" if LockCore is hotpath_pure.LockCore else "compiled"
"""Which hot paths run: "compiled" (the C module) or "pure" (``hotpath.pure``)."""

clock = monotonic
"""The clock every lock time is measured on (seconds, the same as ``time.monotonic()``)."""


def compiled_state_methods(
    check_name: Callable[[object], str], norm_scope: Callable[[Any], list[str]]
) -> tuple[Any, Any] | None:
    """The compiled ``SharedState.set`` and ``get`` (method descriptors), or None on the pure hot paths.

    They defer to ``check_name`` and ``norm_scope`` for a bad name and an unusual scope, so the
    errors and results are those of state.py's own methods, which stay the specification.
    """
    if IMPLEMENTATION != "compiled":
        return None
    compiled = importlib.import_module("desktop_app.engine.hotpath._hotpath")
    compiled.configure_state(check_name, norm_scope)
    return compiled.state_set, compiled.state_get


def compiled_server_lock(python_lock: Callable[..., Any]) -> Any | None:
    """A compiled ``Server.lock`` (method descriptor), or None on the pure hot paths.

    Called with no arguments it returns ``self._global_guard`` without running bytecode, so
    ``with server.lock():`` costs what ``with server.lockable:`` costs; any argument goes to
    ``python_lock``, server.py's method, which stays the specification.
    """
    if IMPLEMENTATION != "compiled":
        return None
    compiled = importlib.import_module("desktop_app.engine.hotpath._hotpath")
    compiled.configure_server(python_lock)
    return compiled.server_lock


def _twins() -> list[ModuleType]:
    """Both twins when the compiled one exists: tests use them side by side."""
    twins: list[ModuleType] = [hotpath_pure]
    try:
        twins.append(importlib.import_module("desktop_app.engine.hotpath._hotpath"))
    except ImportError:
        pass
    return twins


def _configure() -> None:
    for twin in _twins():
        twin.configure(
            bounds=BOUNDS,
            ring_size=RING_SIZE,
            skip_files=frozenset(_skip),
            note_thread=thread_names.note,
            max_depth=SAVE_MAX_DEPTH,
        )


def skip_frames_in(filename: str) -> None:
    """Frames of this file are lock machinery, not the caller whose site a lock records."""
    _skip.add(filename)
    _configure()


def skip_files() -> frozenset[str]:
    """The files whose frames are skipped when looking for a lock's caller."""
    return frozenset(_skip)


for _twin in _twins():
    thread_names.on_thread_end.append(_twin.bump_generation)
_configure()
