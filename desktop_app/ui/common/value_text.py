"""How values read as text in the GUI: bounded previews, type labels, JSON for copy and edit, sort keys."""

from __future__ import annotations

import datetime as _dt
import decimal
import fractions
import json
import math
import uuid
from collections.abc import Iterator
from typing import Any

from desktop_app.ui.bridge.entry_snapshot import Opaque, Pending

PREVIEW_CHARS = 200
TOOLTIP_CHARS = 2000
TOOLTIP_LINES = 40
SHORT_LINE = 60
"""In several-line text, a container whose one-line form is shorter than this stays on one line."""

# How values read, everywhere in the GUI (tree cells, tooltips, the diff): JSON for JSON data, as
# the state files write it (true, null, "text", NaN); the types JSON lacks get one readable form
# each: a datetime, date, time, UUID or Decimal as its plain text (2024-05-01T12:00:00, 1.10), a
# tuple in parentheses, a set in braces (members sorted, as the tree lists them).


class _Full(Exception):
    pass


class _Writer:
    """Collects text up to a limit (characters, and lines when indenting) and stops the walk there,
    so a huge value costs only its first bytes."""

    __slots__ = ("left", "lines", "parts")

    def __init__(self, limit: int, lines: int = 0) -> None:
        self.parts: list[str] = []
        self.left = limit
        self.lines = lines

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.left -= len(text)
        if self.left <= 0:
            raise _Full

    def newline(self, indent: str) -> None:
        self.lines -= 1
        if self.lines < 0:
            raise _Full
        self.add("\n" + indent)


def _float_text(value: float) -> str:
    if math.isfinite(value):
        return repr(value)
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def scalar_text(value: Any) -> str:
    """One value that is not a container, as the GUI writes it (see the note at the top)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    t = type(value)
    if t is str:
        return json.dumps(value, ensure_ascii=False)
    if t is int:
        return str(value)
    if t is float:
        return _float_text(value)
    if t is Opaque:
        return value.text
    if t is Pending:
        return f"… (copy waits for the global lock: {value.type_name}, {value.length:,} items)"
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal | fractions.Fraction | _dt.timedelta):
        return str(value)
    if isinstance(value, str):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, float):  # subclasses (an int subclass passed above: int.__repr__ below)
        return _float_text(value)
    if isinstance(value, int):
        return int.__repr__(value)
    return repr(value)


def set_members(value: frozenset[Any] | set[Any]) -> list[Any]:
    """A set's members in the order the GUI lists them (stable from one frame to the next)."""
    return sorted(value, key=repr)


def _walk(value: Any, w: _Writer, indent: str | None, depth: int) -> None:
    if isinstance(value, dict):
        items: Any = value.items()
        opening, closing = "{", "}"
    elif isinstance(value, list):
        items, opening, closing = value, "[", "]"
    elif isinstance(value, tuple):
        items, opening, closing = value, "(", ")"
    elif isinstance(value, frozenset | set):
        items, opening, closing = set_members(value), "{", "}"
    else:
        w.add(scalar_text(value))
        return
    if not value:
        w.add(opening + closing)
        return
    if indent is not None:
        short = _fits_one_line(value)
        if short is not None:  # a short container reads best on one line, as in a compact JSON layout
            w.add(short)
            return
    pad = None if indent is None else indent * (depth + 1)
    w.add(opening)
    first = True
    for item in items:
        if not first:
            w.add("," if pad is not None else ", ")
        first = False
        if pad is not None:
            w.newline(pad)
        if opening == "{" and isinstance(value, dict):
            k, item = item
            w.add(scalar_text(k) if not isinstance(k, tuple) else _one_line(k))
            w.add(": ")
        _walk(item, w, indent, depth + 1)
    if indent is not None:
        w.newline(indent * depth)
    w.add(closing)


def _fits_one_line(value: Any, width: int = SHORT_LINE) -> str | None:
    w = _Writer(width)
    try:
        _walk(value, w, None, 0)
    except _Full:
        return None
    return "".join(w.parts)


def _one_line(value: Any) -> str:
    w = _Writer(PREVIEW_CHARS)
    try:
        _walk(value, w, None, 0)
    except _Full:
        pass
    return "".join(w.parts)


def preview(value: Any, limit: int = PREVIEW_CHARS) -> str:
    """A one-line text of ``value`` cut at about ``limit`` characters (the walk stops there)."""
    w = _Writer(limit)
    try:
        _walk(value, w, None, 0)
    except _Full:
        text = "".join(w.parts)
        return text[:limit] + "…"
    return "".join(w.parts)


def full_text(value: Any, limit: int = TOOLTIP_CHARS, lines: int = TOOLTIP_LINES) -> str:
    """``value`` indented over several lines (for tooltips), cut at ``limit`` characters or ``lines`` lines."""
    w = _Writer(limit, lines)
    try:
        _walk(value, w, "  ", 0)
    except _Full:
        return "".join(w.parts)[:limit].rstrip() + "\n…"
    return "".join(w.parts)


def type_name(value: Any) -> str:
    if value is None:
        return "None"
    t = type(value)
    if t is Opaque or t is Pending:
        return value.type_name
    if t is frozenset:
        return "set"
    return t.__name__


def type_label(value: Any) -> str:
    """``int``, ``str``, ``dict (3)``, ``list (1,024)``."""
    name = type_name(value)
    if type(value) is Pending:
        return f"{name} ({value.length:,})"
    if isinstance(value, dict | list | tuple | frozenset | set):
        return f"{name} ({len(value):,})"
    return name


def is_number(value: Any) -> bool:
    return type(value) in (int, float)


def to_json_data(value: Any) -> Any:
    """``value`` with tuples and sets as lists, non-JSON scalars as strings (for copy and the JSON editor)."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): to_json_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_data(v) for v in value]
    if isinstance(value, frozenset | set):
        return [to_json_data(v) for v in set_members(value)]
    if isinstance(value, float) and not math.isfinite(value):
        return value  # json.dumps writes NaN/Infinity, which json.loads reads back
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if type(value) is Opaque:
        return value.text
    return str(value)


def json_lossy_parts(value: Any) -> list[str]:
    """Kinds of data in ``value`` that JSON cannot keep (so the JSON editor can warn before it converts)."""
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, str):
                    found.add("non-string keys")
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, tuple):
            found.add("tuples")
            for x in v:
                walk(x)
        elif isinstance(v, frozenset | set):
            found.add("sets")
        elif not (v is None or isinstance(v, bool | int | float | str)):
            found.add(type_name(v))

    walk(value)
    return sorted(found)


def to_json_text(value: Any, indent: int | None = 2) -> str:
    return json.dumps(to_json_data(value), ensure_ascii=False, indent=indent)


def sort_key(value: Any) -> Any:
    """What the Value column sorts by: numbers by value, everything else by its preview text."""
    if type(value) in (int, float) and not (type(value) is float and math.isnan(value)):
        return float(value)
    return preview(value, 80).casefold()


def child_items(value: Any) -> Iterator[tuple[Any, Any]]:
    """(key, child) pairs of a container: dict keys, list/tuple indexes; set members numbered in a stable order."""
    if isinstance(value, dict):
        return iter(value.items())
    if isinstance(value, list | tuple):
        return enumerate(value)
    if isinstance(value, frozenset | set):
        return enumerate(set_members(value))
    return iter(())


def child_count(value: Any) -> int:
    if isinstance(value, dict | list | tuple | frozenset | set):
        return len(value)
    return 0


def format_time(t: float) -> str:
    if not t:
        return ""
    return _dt.datetime.fromtimestamp(t).strftime("%H:%M:%S")


def format_timestamp(t: float) -> str:
    if not t:
        return ""
    return _dt.datetime.fromtimestamp(t).isoformat(sep=" ", timespec="milliseconds")
