"""Whole-state "pode" saves: no selection, no {Value, Scope} envelope, a fused scan + fill, os.writev.

``SharedState.save(path)`` with no filter, no depth limit and the default format writes every
entry, so it can skip what a filtered save needs: selecting entries (a Python loop over them all)
and building the ``{name: (value, scope)}`` envelope that ``persistence.encode`` takes. Under the
global lockable, with the cyclic GC paused, ``hotpath.fill_chunk`` checks each value's types
(refusing what orjson would write but a "pode" file must not hold: UUID, Enum, datetime, NaN,
subclasses, non-str keys) while it fills a chunk of reused ``{"Value", "Scope"}`` wrappers, and orjson
serialises the chunk. The chunks are written with ``os.writev`` (no joined copy of the file); the
fsync, rename and folder fsync happen after the lockable is released (``atomic_write``).

On any doubt (a value the scan does not pass, orjson refusing something) the save takes today's
path, whose exact checker raises ``StateFileError`` naming the key path; nothing is written. Names
are not checked again: a state's names are non-empty and distinct under casefold by construction
(its keys are their casefolds), which is what ``encode`` checks them for. The
bytes are the same as ``encode`` writes. Filtered, depth-limited and pode-v2 saves keep that path
too. With the pure-Python hot paths, the scan is ``encode``'s own (C-speed builtins beat a Python
walk), still without the selection. The only module of this package that imports the engine's
``hotpath``: the scan and fill are compiled there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from operator import attrgetter
from pathlib import Path
from typing import Any

import orjson

from desktop_app.engine import hotpath
from desktop_app.engine.persistence.encoder import encode
from desktop_app.engine.persistence.file_writer import atomic_write
from desktop_app.engine.persistence.gc_pause import _gc_paused
from desktop_app.engine.persistence.pode_format import _PODE_OPTIONS

CHUNK = 512
"""Entries serialised per orjson call (their wrappers are reused from one chunk to the next). Measured on
a 200k-entry state: 64-1024 all encode within ~10-20 % of one bare orjson.dumps, 2048 ~45 % and 8192
~2x slower (the wrappers, the chunk dict and orjson's output stop fitting in the caches)."""

# The "pode" format's options: passing datetimes, dataclasses and subclasses through to a refusal.
# After the scan no such value is left, but the same options keep the bytes the same by construction.
_OPTIONS = _PODE_OPTIONS
_NAME, _VALUE, _SCOPE = attrgetter("name"), attrgetter("value"), attrgetter("scope")


def applies(format: str, scope: object, include: object, exclude: object, depth: int | None) -> bool:
    """True for a save of the whole state in the default format without a depth limit."""
    return format == "pode" and scope is None and include is None and exclude is None and depth is None


def save(
    lock: AbstractContextManager[Any],
    items: Callable[[], Sequence[Any]],
    target: Path,
    compress: bool,
) -> None:
    """Serialise ``items()`` (entries with ``name``, ``value``, ``scope``) under ``lock``, then write ``target``.

    Raises:
        StateFileError: a value a "pode" file cannot hold (naming its key path), or the write failed.
    """
    with lock:
        entries = items()
        if type(entries) is not list:  # the compiled fill takes a list
            entries = list(entries)
        with _gc_paused():
            parts = encode_chunks(entries, compress) if hotpath.IMPLEMENTATION == "compiled" else None
            if parts is None:
                parts = [_encode_exact(entries, compress, target)]
    atomic_write(target, parts)


def _encode_exact(entries: list[Any], compress: bool, target: Path) -> bytes:
    values = zip(map(_VALUE, entries), map(_SCOPE, entries), strict=True)
    envelope = dict(zip(map(_NAME, entries), values, strict=True))
    return encode(envelope, format="pode", compress=compress, path=target)


def encode_chunks(
    entries: list[Any],
    compress: bool,
    fill: Callable[[list[Any], int, int, list[dict[str, Any]], dict[str, Any]], int] | None = None,
) -> list[bytes | memoryview] | None:
    """The file's bytes as chunks to write in order, or None when a value needs a closer look.

    ``b"".join(chunks)`` equals ``encode({e.name: (e.value, e.scope)}, compress=compress)``.
    ``fill`` is ``hotpath.fill_chunk`` unless a test passes one twin explicitly.
    """
    n = len(entries)
    if not n:
        return [b"{}\n"]
    fill = fill or hotpath.fill_chunk
    options = _OPTIONS if compress else _OPTIONS | orjson.OPT_INDENT_2
    # Each chunk is a complete JSON object; its braces are cut off and the insides joined with ",".
    head, tail = (1, 1) if compress else (1, 2)
    pool: list[dict[str, Any]] = [{"Value": None, "Scope": None} for _ in range(min(CHUNK, n))]
    parts: list[bytes | memoryview] = [b"{"]
    try:
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)
            chunk: dict[str, Any] = {}
            if fill(entries, start, stop, pool, chunk) >= 0 or len(chunk) != stop - start:
                return None
            text = orjson.dumps(chunk, option=options)
            if start:
                parts.append(b",")
            parts.append(memoryview(text)[head:-tail])
    except orjson.JSONEncodeError:  # an int beyond 64 bits, a lone surrogate: the exact path says which
        return None
    finally:
        for wrapper in pool:
            wrapper["Value"] = wrapper["Scope"] = None
    parts.append(b"}\n" if compress else b"\n}\n")
    return parts
