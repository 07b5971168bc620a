"""State values as JSON for the command line: one-line previews cut at a width, and plain JSON data.

Pode v2 files hold types JSON has no word for. Here they read as strings: datetime, date and time
in ISO 8601, UUID as its canonical text, timedelta as Python writes it (``"1 day, 2:03:04"``), and
sets as sorted lists. In previews a Decimal is a bare number (``1.10``) and NaN / Infinity are
written as such; in plain data, which must be strict JSON, they are strings (``"1.10"``, ``"NaN"``)
so that nothing is rounded or refused. Anything else becomes the string of its ``repr``: rendering
never fails, whatever a file decoded to.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import uuid
from decimal import Decimal
from typing import Any

import orjson


class _Full(Exception):
    """The preview has reached its width: stop walking the value."""


class _Writer:
    """Collects text up to a limit, so a 10 MB value costs only its first few dozen characters."""

    __slots__ = ("left", "parts")

    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.left = limit

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.left -= len(text)
        if self.left < 0:
            raise _Full


def _float_text(value: float) -> str:
    if math.isfinite(value):
        return repr(value)
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


def _timedelta_text(value: _dt.timedelta) -> str:
    # str(timedelta(seconds=-1)) is "-1 day, 23:59:59"; "-0:00:01" reads as what it is.
    return f"-{-value}" if value < _dt.timedelta(0) else str(value)


def _string(value: Any) -> str | None:
    """The JSON-string reading of a non-JSON scalar, or None for JSON's own types and containers."""
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, _dt.timedelta):
        return _timedelta_text(value)
    return None


def _sorted_set(value: set[Any] | frozenset[Any]) -> list[Any]:
    # A set's order changes from run to run (string hashing is salted): sort, so output is stable.
    try:
        return sorted(value)
    except TypeError:  # mixed types
        return sorted(value, key=repr)


def _key_text(key: Any) -> str:
    return key if isinstance(key, str) else (_string(key) or str(key))


def _walk(value: Any, w: _Writer) -> None:
    if value is None:
        w.add("null")
    elif value is True or value is False:
        w.add("true" if value else "false")
    elif isinstance(value, str):
        if len(value) > w.left:  # escape only what can show: a cut string still overflows the width
            value = value[: w.left + 1]
        w.add(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        w.add(str(value))
    elif isinstance(value, float):
        w.add(_float_text(value))
    elif isinstance(value, dict):
        w.add("{")
        for i, (k, v) in enumerate(value.items()):
            w.add(", " if i else "")
            w.add(json.dumps(_key_text(k), ensure_ascii=False))
            w.add(": ")
            _walk(v, w)
        w.add("}")
    elif isinstance(value, list | tuple | set | frozenset):
        items = _sorted_set(value) if isinstance(value, set | frozenset) else value
        w.add("[")
        for i, v in enumerate(items):
            w.add(", " if i else "")
            _walk(v, w)
        w.add("]")
    elif isinstance(value, Decimal):
        w.add(str(value))
    else:
        text = _string(value)
        w.add(json.dumps(text if text is not None else repr(value), ensure_ascii=False))


_CONSTANTS = {None: "null", True: "true", False: "false"}


def preview(value: Any, width: int = 60) -> str:
    """``value`` as one line of JSON text, cut to at most ``width`` characters (ending in ``…``).

    Example:
        >>> preview({"values": [1, "a", None, True]})
        '{"values": [1, "a", null, true]}'
    """
    # Most values shown are short scalars: answer them without the walk (a full listing has millions).
    cls = type(value)
    if value is None or cls is bool:
        return _CONSTANTS[value]
    if cls is int:
        text = str(value)
        if len(text) <= width:
            return text
    elif cls is str and len(value) <= width and value.isprintable():
        text = orjson.dumps(value).decode()  # printable: nothing to escape but quotes and backslashes
        if len(text) <= width:
            return text
    w = _Writer(width)
    try:
        _walk(value, w)
    except _Full:
        return "".join(w.parts)[: width - 1] + "…"
    return "".join(w.parts)


def plain(value: Any) -> Any:
    """``value`` as data that strict JSON can hold (see the module docstring for each type)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _float_text(value)
    if isinstance(value, dict):
        return {_key_text(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return [plain(v) for v in _sorted_set(value)]
    if isinstance(value, Decimal):
        return str(value)
    text = _string(value)
    return text if text is not None else repr(value)


def dumps(data: Any) -> str:
    """One line of strict JSON for ``plain`` data (non-ASCII text kept as it is)."""
    try:
        return orjson.dumps(data).decode()
    except orjson.JSONEncodeError:  # deeper than orjson nests (254), or an int beyond 64 bits
        return json.dumps(data, ensure_ascii=False, allow_nan=False)


def _default(value: Any) -> Any:
    """What orjson calls for the types it does not write itself (and for datetimes, passed through)."""
    if isinstance(value, set | frozenset):
        return _sorted_set(value)
    if isinstance(value, Decimal):
        return str(value)
    text = _string(value)
    return text if text is not None else repr(value)


_FAST = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def to_json(value: Any) -> str:
    """``dumps(plain(value))``, several times faster for the usual value.

    orjson writes a value in one C call; only where it would differ from ``plain`` (it writes NaN
    and Infinity as null, and refuses very deep values and ints beyond 64 bits) does the slower
    walk run. A value whose text holds no ``null`` at all cannot have had a NaN in it.
    """
    try:
        data = orjson.dumps(value, default=_default, option=_FAST)
    except orjson.JSONEncodeError:
        return dumps(plain(value))
    return dumps(plain(value)) if b"null" in data else data.decode()


def json_size(value: Any) -> int:
    """About how many bytes ``value`` takes as compact JSON (exact for JSON data)."""
    try:
        return len(orjson.dumps(value, default=plain, option=orjson.OPT_NON_STR_KEYS))
    except orjson.JSONEncodeError:
        return len(dumps(plain(value)).encode())
