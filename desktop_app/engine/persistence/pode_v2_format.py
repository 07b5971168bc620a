"""The "pode-v2" format: Pode 2.14's typed envelope, written and read."""

from __future__ import annotations

import datetime as _dt
import math
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from desktop_app.engine.errors import StateFileError
from desktop_app.engine.persistence.entry_checks import (
    _check_entry_names,
    _check_names,
    _check_text,
    _raise_text_problem,
    _reject,
    _scope_list,
    _unsupported_reason,
)
from desktop_app.engine.persistence.gc_pause import _gc_paused
from desktop_app.engine.persistence.limits import (
    _INT32_MAX,
    _INT32_MIN,
    _INT64_MAX,
    _INT64_MIN,
    _MAYBE_BIG_INT,
    _ORJSON_MAX_WRITE_NESTING,
    _UINT64_MAX,
    MAX_DEPTH,
    _too_deep,
)
from desktop_app.engine.persistence.problems import (
    _Inexact,
    _int_problem,
    _json_kind,
    _Problem,
    _problem_error,
    _quoted,
    _shown,
    _type_name,
)
from desktop_app.engine.persistence.state_file import Entries, StateFile

_METADATA_KEY = "__pode_state_metadata__"
_DATA_KEY = "__pode_state_data__"
_VERSION = 2


# -- writing ------------------------------------------------------------------------------------


# The document is built and dropped while the collector is paused: it only ever holds plain
# containers, and collecting them on the way would only cost time.
@_gc_paused()
def _encode_v2(
    names: list[str],
    values: list[Any],
    scopes: list[Any],
    compress: bool,
    depth: int | None,
    path: str | None,
) -> bytes:
    _check_names(names, path)
    limit = MAX_DEPTH if depth is None else min(depth, MAX_DEPTH)
    items: list[dict[str, Any]] = []
    for name, value, scope in zip(names, values, scopes, strict=True):
        try:
            encoded = _v2_value(value, 8, 0, limit, set())
        except _Problem as problem:
            raise _problem_error(problem, name, path) from None
        except RecursionError:
            raise StateFileError("nested too deeply to save", path=path, key_path=name) from None
        items.append(
            {
                "Key": name,
                "Value": {
                    "Type": "ConcurrentDictionary",
                    "Items": [
                        {"Key": "Value", "Value": encoded},
                        {"Key": "Scope", "Value": [{"Type": "String", "Value": s} for s in scope]},
                    ],
                },
            }
        )
    document = {
        _METADATA_KEY: {"Version": _VERSION, "Timestamp": _utc_timestamp()},
        _DATA_KEY: {"Type": "ConcurrentDictionary", "Items": items},
    }
    options = orjson.OPT_APPEND_NEWLINE | (0 if compress else orjson.OPT_INDENT_2)
    try:
        return orjson.dumps(document, default=_reject, option=options)
    except orjson.JSONEncodeError as exc:  # everything above is plain JSON: only text can fail
        _raise_text_problem(names, values, scopes, path)
        raise StateFileError(f"cannot be written as JSON: {exc}", path=path) from exc


def _utc_timestamp() -> str:
    now = _dt.datetime.now(_dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _v2_int(value: int) -> dict[str, Any]:
    if _INT32_MIN <= value <= _INT32_MAX:
        return {"Type": "Int32", "Value": value}
    if _INT64_MIN <= value <= _INT64_MAX:
        return {"Type": "Int64", "Value": value}
    if 0 <= value <= _UINT64_MAX:
        return {"Type": "UInt64", "Value": value}
    raise _Problem(f"int {value} does not fit in 64 bits (Int64 or UInt64)")


def _v2_float(value: float) -> dict[str, Any]:
    if math.isfinite(value):
        return {"Type": "Double", "Value": value}
    # What PowerShell's ConvertTo-Json writes for them; the decoder reads these strings back.
    return {
        "Type": "Double",
        "Value": "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity"),
    }


def _v2_timespan(value: _dt.timedelta) -> dict[str, Any]:
    ticks = (value.days * 86_400 + value.seconds) * 10_000_000 + value.microseconds * 10
    if not _INT64_MIN <= ticks <= _INT64_MAX:
        raise _Problem(f"timedelta {value} is outside a .NET TimeSpan's range")
    return {"Type": "TimeSpan", "Value": ticks}


def _v2_decimal(value: Decimal) -> dict[str, Any]:
    if not value.is_finite():
        raise _Problem(f"Decimal {value} cannot be saved (.NET Decimal has no NaN or infinity)")
    return {"Type": "Decimal", "Value": str(value)}


def _v2_fragment(value: Any, nesting: int, limit: int, ancestors: set[int]) -> orjson.Fragment:
    encoded = _v2_value(value, 0, nesting, limit, ancestors)
    try:
        return orjson.Fragment(orjson.dumps(encoded, default=_reject))
    except orjson.JSONEncodeError as exc:  # only text can fail here: name the string
        _check_text(value)
        raise _Problem(f"cannot be written as JSON: {exc}") from None


def _v2_value(value: Any, level: int, nesting: int, limit: int, ancestors: set[int]) -> Any:
    """Encode one value; ``level`` is the JSON nesting of its encoding, ``nesting`` the user's depth."""
    cls = type(value)
    if cls is str:
        return {"Type": "String", "Value": value}
    if value is None:
        return None
    if cls is bool:
        return {"Type": "Boolean", "Value": value}
    if cls is int:
        return _v2_int(value)
    if cls is float:
        return _v2_float(value)
    if cls is dict or cls is list or cls is tuple or cls is set or cls is frozenset:
        if id(value) in ancestors:
            raise _Problem(f"this {cls.__name__} contains itself (a self-referencing container)")
        if nesting >= limit:
            raise _Problem(_too_deep(limit))
        # A dict costs three JSON levels (wrapper, Items, {Key, Value}), a set two, a list one,
        # and a scalar's {Type, Value} wrapper one more. ``level`` counts from the start of the
        # current orjson call; a subtree that would take it past what orjson writes becomes a
        # call of its own, spliced in as a Fragment (written compact: it cannot know its indent).
        if level + 4 > _ORJSON_MAX_WRITE_NESTING:
            return _v2_fragment(value, nesting, limit, ancestors)
        ancestors.add(id(value))
        out: Any
        if cls is dict:
            items = []
            for key, item in value.items():
                if type(key) is not str:
                    raise _Problem(f"dict key {key!r} is {_type_name(key)}; keys must be str")
                try:
                    items.append(
                        {"Key": key, "Value": _v2_value(item, level + 3, nesting + 1, limit, ancestors)}
                    )
                except _Problem as problem:
                    problem.parts.append(key)
                    raise
            out = {"Type": "Hashtable", "Items": items}
        else:
            inner = level + (2 if cls is set or cls is frozenset else 1)
            encoded = []
            index = 0
            try:
                for index, item in enumerate(value):  # noqa: B007 (index names the culprit)
                    encoded.append(_v2_value(item, inner, nesting + 1, limit, ancestors))
            except _Problem as problem:
                problem.parts.append(index)
                raise
            out = encoded if cls is list or cls is tuple else {"Type": "HashSet", "Items": encoded}
        ancestors.discard(id(value))
        return out
    if cls is _dt.datetime:
        offset = value.utcoffset()
        if offset is not None and offset % _dt.timedelta(minutes=1):
            # .NET offsets are whole minutes (and fromisoformat drops sub-second ones): keep the
            # instant by writing it in UTC.
            value = value.astimezone(_dt.UTC)
        return {"Type": "DateTime", "Value": value.isoformat()}
    if cls is _dt.timedelta:
        return _v2_timespan(value)
    if cls is uuid.UUID:
        return {"Type": "Guid", "Value": str(value)}
    if cls is Decimal:
        return _v2_decimal(value)
    raise _Problem(_unsupported_reason(value, "pode-v2"))


# -- reading ------------------------------------------------------------------------------------

_V2_DICTS = frozenset(
    name.lower()
    for name in (
        "Hashtable",
        "SyncHashtable",
        "OrderedHashtable",
        "OrderedDictionary",
        "Dictionary",
        "ConcurrentDictionary",
        "PodeConcurrentOrderedDictionary",
        "PSCustomObject",
    )
)
_V2_LISTS = frozenset(name.lower() for name in ("List", "PodeConcurrentList", "ConcurrentBag"))
_V2_SETS = frozenset(name.lower() for name in ("HashSet", "SortedSet", "PodeConcurrentSet"))
_V2_INTS = frozenset(
    name.lower() for name in ("Int32", "Int64", "Int16", "UInt16", "UInt32", "UInt64", "Byte", "SByte")
)
_V2_FLOATS = frozenset(name.lower() for name in ("Double", "Single", "Float"))
_V2_FLOAT_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _from_v2(document: dict[str, Any], path: str | None, exact: bool) -> StateFile:
    metadata = document[_METADATA_KEY]
    if type(metadata) is not dict:
        raise StateFileError(f"{_METADATA_KEY} must be an object, got {_json_kind(metadata)}", path=path)
    version = metadata.get("Version")
    if type(version) not in (int, float) or version != _VERSION:
        if type(version) is float and not exact and abs(version) >= _MAYBE_BIG_INT:
            raise _Inexact  # name the version as written
        shown = "(none given)" if "Version" not in metadata else _shown(version)
        raise StateFileError(
            f"unsupported state file version {shown}; this version of the app reads version {_VERSION} "
            "files (and older unversioned ones)",
            path=path,
        )
    if _DATA_KEY not in document:
        raise StateFileError(f"a version 2 state file needs {_DATA_KEY}, and this one has none", path=path)
    data = document[_DATA_KEY]
    try:
        items = _v2_items(data, _V2_DICTS, "a dictionary")
    except _Problem as problem:
        raise StateFileError(f"{_DATA_KEY}: {problem.reason}", path=path) from None
    entries: Entries = {}
    for index, item in enumerate(items):
        if type(item) is not dict or type(item.get("Key")) is not str or "Value" not in item:
            raise StateFileError(
                f"{_DATA_KEY} item {index} must be an object with a string Key and a Value", path=path
            )
        name = item["Key"]
        if name in entries:
            raise StateFileError(
                f"the entry {_quoted(name)} is given twice; one would silently replace the other", path=path
            )
        try:
            entries[name] = _v2_entry(item["Value"], exact)
        except _Problem as problem:
            raise _problem_error(problem, name, path) from None
    _check_entry_names(entries, path)
    return StateFile(entries, "pode-v2")


def _v2_items(obj: Any, tags: frozenset[str], what: str) -> list[Any]:
    """The Items list of a typed object whose Type is one of ``tags``."""
    if type(obj) is not dict:
        raise _Problem(f"expected {what} object with Type and Items, got {_json_kind(obj)}")
    tag = obj.get("Type")
    if type(tag) is not str or tag.lower() not in tags:
        raise _Problem(f"expected {what} Type, got {_shown(tag)}")
    items = obj.get("Items")
    if type(items) is not list:
        raise _Problem(f"Items of a {tag} must be an array, got {_json_kind(items)}")
    return items


def _v2_entry(entry: Any, exact: bool) -> tuple[Any, list[str]]:
    fields = _v2_items(entry, _V2_DICTS, "an entry: a dictionary")
    found: dict[str, Any] = {}
    for field in fields:
        if type(field) is not dict or type(field.get("Key")) is not str or "Value" not in field:
            raise _Problem("an entry's Items must be objects with a string Key and a Value")
        found[field["Key"]] = field["Value"]
    if "Value" not in found:
        raise _Problem("the entry has no Value")
    value = _v2_decode(found["Value"], 0, exact)
    scope = _scope_list(_v2_decode(found.get("Scope"), 0, exact))
    if scope is None:
        raise _Problem("the entry's Scope must be a list of strings")
    return value, scope


def _v2_decode(obj: Any, nesting: int, exact: bool) -> Any:
    """Decode one typed v2 value; ``nesting`` counts the containers of user data around it.

    ``exact``: the document was read with exact integers (see ``_exact_document``); otherwise a
    float where an integer may stand and big enough to have been one raises ``_Inexact``.
    """
    cls = type(obj)
    if cls is list:
        if nesting >= MAX_DEPTH:
            raise _Problem(_too_deep(MAX_DEPTH))
        return _v2_decode_items(obj, nesting + 1, exact)
    if cls is not dict:
        # a raw scalar, as Pode's decoder also accepts
        if cls is int and not _INT64_MIN <= obj <= _UINT64_MAX:
            raise _int_problem(obj)
        if cls is float and not exact and abs(obj) >= _MAYBE_BIG_INT:
            raise _Inexact
        return obj
    tag = obj.get("Type")
    if type(tag) is not str:
        raise _Problem("an object without a Type tag")
    kind = tag.lower()
    if kind in _V2_DICTS or kind in _V2_LISTS or kind in _V2_SETS:
        if nesting >= MAX_DEPTH:
            raise _Problem(_too_deep(MAX_DEPTH))
        items = obj.get("Items")
        if type(items) is not list:
            raise _Problem(f"Items of a {tag} must be an array, got {_json_kind(items)}")
        if kind in _V2_DICTS:
            result: dict[str, Any] = {}
            for item in items:
                if type(item) is not dict or "Value" not in item:
                    raise _Problem(f"Items of a {tag} must be objects with a Key and a Value")
                key = item.get("Key")
                if type(key) is not str:
                    raise _Problem(f"a {tag} key must be a string, got {_json_kind(key)}")
                try:
                    result[key] = _v2_decode(item["Value"], nesting + 1, exact)
                except _Problem as problem:
                    problem.parts.append(key)
                    raise
            return result
        decoded = _v2_decode_items(items, nesting + 1, exact)
        if kind in _V2_LISTS:
            return decoded
        try:
            return set(decoded)
        except TypeError:
            return decoded  # unhashable items (dicts, lists): a set cannot hold them, a list can
    if "Value" not in obj:
        raise _Problem(f"a {tag} needs a Value")
    return _v2_scalar(tag, kind, obj["Value"], exact)


def _v2_decode_items(items: list[Any], nesting: int, exact: bool) -> list[Any]:
    out = []
    index = 0
    try:
        for index, item in enumerate(items):  # noqa: B007 (index names the culprit)
            out.append(_v2_decode(item, nesting, exact))
    except _Problem as problem:
        problem.parts.append(index)
        raise
    return out


def _v2_scalar(tag: str, kind: str, value: Any, exact: bool) -> Any:
    cls = type(value)
    if cls is float and not exact and abs(value) >= _MAYBE_BIG_INT and kind not in _V2_FLOATS:
        raise _Inexact  # an Int64 beyond 64 bits or a big Decimal: read its digits exactly
    if kind in _V2_INTS:
        if cls is int:
            if not _INT64_MIN <= value <= _UINT64_MAX:
                raise _int_problem(value)
            return value
    elif kind in _V2_FLOATS:
        if cls is float or cls is int:
            try:
                return float(value)
            except OverflowError:
                pass
        if cls is str and value in _V2_FLOAT_WORDS:
            return _V2_FLOAT_WORDS[value]
    elif kind in ("string", "char"):
        if cls is str:
            return value
    elif kind == "boolean":
        if cls is bool:
            return value
    elif kind == "decimal":
        if cls in (str, int, float):
            try:
                number = Decimal(value if cls is not float else repr(value))
            except InvalidOperation:
                pass
            else:
                if number.is_finite():
                    return number
                # What _v2_decimal refuses to write, restore refuses to read.
                raise _Problem(
                    f"Decimal {value} cannot be held: .NET's Decimal has no NaN or infinity, so "
                    "neither Pode nor a pode-v2 save can keep it"
                )
    elif kind == "datetime":
        if cls is str:
            try:
                return _dt.datetime.fromisoformat(value)
            except ValueError:
                pass
    elif kind == "timespan":
        if cls is int:
            if not _INT64_MIN <= value <= _INT64_MAX:
                raise _Problem(f"TimeSpan of {value} ticks is outside a .NET TimeSpan's range (64 bits)")
            micro, rest = divmod(value, 10)
            try:
                return _dt.timedelta(microseconds=micro + (rest >= 5))
            except OverflowError:
                pass
    elif kind == "guid":
        if cls is str:
            try:
                return uuid.UUID(value)
            except ValueError:
                pass
    else:
        raise _Problem(f"unknown Type tag {tag!r}; this file holds a type the app cannot restore")
    raise _Problem(f"invalid {tag} value {_shown(value)}")
