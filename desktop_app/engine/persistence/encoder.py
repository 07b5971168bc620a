"""``encode``: checks the entries and hands them to the chosen format's encoder."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from desktop_app.engine.persistence.entry_checks import _check_entry_names, _checked_scopes
from desktop_app.engine.persistence.limits import _STR_ONLY
from desktop_app.engine.persistence.pode_format import _encode_pode
from desktop_app.engine.persistence.pode_v2_format import _encode_v2
from desktop_app.engine.persistence.problems import _where
from desktop_app.engine.persistence.state_file import FORMATS


def encode(
    entries: Mapping[str, tuple[Any, Sequence[str]]],
    *,
    format: str = "pode",
    compress: bool = False,
    depth: int | None = None,
    path: str | os.PathLike[str] | None = None,
) -> bytes:
    """Serialise entries into the bytes of a state file.

    ``"pode"`` writes Pode's long-standing ``{"<name>": {"Value": v, "Scope": [...]}}``. Values
    must be JSON data: dict with str keys, list, tuple (written as a list), str, int within 64 bits,
    finite float, bool, None. ``"pode-v2"`` writes Pode 2.14's typed envelope and also holds
    datetime, timedelta, UUID, Decimal, set and frozenset (a ``datetime.date`` is refused: Pode
    has no date-only type and turning it into a midnight datetime would change its type). Nothing
    is ever turned into a string behind the caller's back: an unsupported value raises.

    Args:
        entries: name -> (value, scope), e.g. ``{"hash": ({"values": [1, 2]}, ["Users"])}``.
        format: "pode" or "pode-v2" (see ``FORMATS``).
        compress: write compact JSON instead of 2-space indented JSON.
        depth: the deepest container nesting allowed in any value, counted in the user's data:
            a scalar is depth 0, ``[1]`` is 1, ``{"a": [1]}`` is 2 (a set counts like a list).
            None means ``MAX_DEPTH``, the most a state file may hold; a larger depth is capped
            at ``MAX_DEPTH``.
        path: the file the bytes are meant for; only used in error messages.

    Returns:
        The file's bytes: UTF-8 JSON ending with a newline.

    Raises:
        StateFileError: a value the format cannot hold, nesting deeper than ``depth``, or a
            self-referencing container; ``key_path`` names the value, e.g. ``hash.values[3]``.
        ValueError: an unknown format name or a negative depth.

    Example:
        >>> encode({"count": (5, [])}, compress=True)
        b'{"count":{"Value":5,"Scope":[]}}\\n'
    """
    where = _where(path)
    if format not in FORMATS:
        raise ValueError(f"unknown state file format {format!r}; expected one of {', '.join(FORMATS)}")
    if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool) or depth < 0):
        raise ValueError(f"depth must be None or a non-negative int, got {depth!r}")
    names = list(entries)
    pairs = list(entries.values())
    values = list(map(itemgetter(0), pairs))
    scopes = _checked_scopes(names, list(map(itemgetter(1), pairs)), where)
    if set(map(type, names)) <= _STR_ONLY:  # other names are refused below, naming them
        _check_entry_names(entries, where)
    if format == "pode":
        return _encode_pode(names, values, scopes, compress, depth, where)
    return _encode_v2(names, values, scopes, compress, depth, where)
