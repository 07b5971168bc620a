"""How values read as text in the GUI: bounded previews, type labels, JSON for copy and edit, sort keys."""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Iterator
from typing import Any

from desktop_app.ui.bridge.entry_snapshot import Opaque, Pending

PREVIEW_CHARS = 200
TOOLTIP_CHARS = 2000


class _Full(Exception):
    pass


class _Writer:
    """Collects text up to a limit and stops the walk there, so a huge value costs only its first bytes."""

    __slots__ = ("left", "parts")

    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.left = limit

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.left -= len(text)
        if self.left <= 0:
            raise _Full


def _scalar_text(value: Any, nested: bool) -> str:
    if value is None or value is True or value is False:
        return repr(value)
    t = type(value)
    if t is str:
        if nested:
            return json.dumps(value, ensure_ascii=False)
        return value.replace("\r\n", "↵").replace("\n", "↵").replace("\t", "→")
    if t is float:
        return repr(value)
    if t is Opaque:
        return value.text
    if t is Pending:
        return f"… (copy waits for the global lock: {value.type_name}, {value.length:,} items)"
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    return str(value) if t is int else repr(value)


def _walk(value: Any, w: _Writer, nested: bool) -> None:
    if isinstance(value, dict):
        w.add("{")
        first = True
        for k, v in value.items():
            if not first:
                w.add(", ")
            first = False
            w.add(_scalar_text(k, True) if not isinstance(k, tuple) else repr(k))
            w.add(": ")
            _walk(v, w, True)
        w.add("}")
    elif isinstance(value, list | tuple):
        w.add("[" if isinstance(value, list) else "(")
        for i, v in enumerate(value):
            if i:
                w.add(", ")
            _walk(v, w, True)
        if isinstance(value, tuple) and len(value) == 1:
            w.add(",")
        w.add("]" if isinstance(value, list) else ")")
    elif isinstance(value, frozenset | set):
        if not value:
            w.add("set()")
            return
        w.add("{")
        for i, v in enumerate(value):
            if i:
                w.add(", ")
            _walk(v, w, True)
        w.add("}")
    else:
        w.add(_scalar_text(value, nested))


def preview(value: Any, limit: int = PREVIEW_CHARS) -> str:
    """A one-line text of ``value`` cut at about ``limit`` characters (the walk stops there)."""
    w = _Writer(limit)
    try:
        _walk(value, w, False)
    except _Full:
        text = "".join(w.parts)
        return text[:limit] + "…"
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
        return [to_json_data(v) for v in sorted(value, key=repr)]
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
        return enumerate(sorted(value, key=repr))
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
