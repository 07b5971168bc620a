"""Save and restore files in Pode's state formats: strict encoding, tolerant reading, atomic writes."""

from __future__ import annotations

import datetime as _dt
import gc
import itertools
import json
import math
import os
import re
import secrets
import stat
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import chain, repeat
from operator import itemgetter, setitem
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from desktop_app.engine.errors import StateFileError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "FORMATS",
    "MAX_DEPTH",
    "Entries",
    "StateFile",
    "atomic_write",
    "decode",
    "encode",
    "read_file",
    "resolve_path",
]

Entries = dict[str, tuple[Any, list[str]]]
"""name -> (value, scope list), in insertion order."""

FORMATS = ("pode", "pode-v2")

_METADATA_KEY = "__pode_state_metadata__"
_DATA_KEY = "__pode_state_data__"
_VERSION = 2

MAX_DEPTH = 200
"""The deepest a value in a state file may nest: containers inside containers, counted in the
user's data (a scalar is 0, ``[1]`` is 1, ``{"a": [1]}`` is 2; a set counts like a list).

The one limit for every path: restore refuses deeper files (StateFileError naming the file and
the key path), save and convert refuse deeper values, and everything restore accepts is saved
again in either format, copied by ``snapshot()``, compared by ``diff``, shown by ``inspect`` and
the tree. Why 200: a "pode" file spends two JSON levels on the document and the entry, and
orjson writes at most 254, so "pode" cannot hold more than 252; and the recursive readers of a
value (copy.deepcopy, the diff, the tree's copies and filter) spend two to three Python frames a
level, so 200 leaves them at least ~400 of Python's default 1000 for their callers.
"""

# orjson refuses to write deeper than this (measured: 254 levels serialise, 255 do not) and to
# read deeper than 1024. pode-v2 spends up to three JSON levels on each level of user data, so
# its deep subtrees are serialised by separate orjson calls and spliced in (see ``_v2_value``).
_ORJSON_MAX_WRITE_NESTING = 254

_NONE_TYPE = type(None)
_JSON_SCALARS: frozenset[type] = frozenset({str, int, float, bool, _NONE_TYPE})
_JSON_CONTAINERS: frozenset[type] = frozenset({dict, list, tuple})
_JSON_TYPES: frozenset[type] = _JSON_SCALARS | _JSON_CONTAINERS
_STR_ONLY: frozenset[type] = frozenset({str})
_SCOPE_TYPES: frozenset[type] = frozenset({list, tuple})

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UINT64_MAX = 2**64 - 1
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1

# orjson natively writes datetimes, dataclasses and subclasses of builtins; passing them through
# to a default that raises is what keeps "pode" files free of silently stringified values.
_PODE_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
)
# Entries are serialised in chunks through a small pool of reused {Value, Scope} dicts, so a
# 200k-entry save does not allocate 200k wrapper dicts.
_CHUNK = 2048

_RELATIVE_PATH = re.compile(r"^\.{1,2}([\\/]|$)")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class StateFile:
    """What a state file holds.

    Attributes:
        entries: name -> (value, scope list), in file order.
        format: "pode" ({name: {Value, Scope}}), "pode-v2" (Pode 2.14's typed envelope) or
            "pode-legacy" (pre-scope {name: value}; every scope is []).
    """

    entries: Entries
    format: str


class _Inexact(Exception):
    """Internal: orjson read what may be an integer beyond 64 bits as a float; read exactly instead."""


class _Problem(Exception):
    """Internal: what is wrong and where; the key path is collected innermost-first while unwinding."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.parts: list[str | int] = []


# ---------------------------------------------------------------------------------------------
# Paths


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


# ---------------------------------------------------------------------------------------------
# Key paths


def _key_path(name: str, parts: Sequence[str | int]) -> str:
    """Render ``name`` plus dict keys and list indexes as ``hash.values[3]`` / ``hash["odd key"]``."""
    out = [name]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    # a lone surrogate cannot be printed; show it escaped
    return "".join(out).encode("utf-8", "backslashreplace").decode("utf-8")


def _where(path: str | os.PathLike[str] | None) -> str | None:
    return os.fspath(path) if path is not None else None


def _problem_error(problem: _Problem, name: str, path: str | None) -> StateFileError:
    return StateFileError(
        problem.reason,
        path=path,
        key_path=_key_path(name, problem.parts[::-1]),
    )


def _type_name(value: object) -> str:
    cls = type(value)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


# ---------------------------------------------------------------------------------------------
# Encoding


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


def _check_entry_names(names: Mapping[str, Any], path: str | None) -> None:
    """Refuse names the state cannot hold apart: an empty one, or two equal but for case.

    Names in a state are case-insensitive (``str.casefold``), so "Count" and "count" in one file
    would silently become one entry. ``names`` is a mapping keyed by the names. The usual case,
    no name changing under casefold, is one C-speed pass over all names joined together.
    """
    if "" in names:
        raise StateFileError(
            'an entry has an empty name (""); state entry names must be non-empty', path=path
        )
    joined = "\x00".join(names)
    if joined.casefold() == joined:
        return
    folded = list(map(str.casefold, names))
    if len(set(folded)) == len(folded):
        return
    first_of: dict[str, str] = {}
    for name, key in zip(names, folded, strict=True):
        other = first_of.setdefault(key, name)
        if other is not name:
            raise StateFileError(
                f"the entries {_quoted(other)} and {_quoted(name)} differ only in case; names are "
                "case-insensitive, so one would silently replace the other: rename one",
                path=path,
            )


def _quoted(name: str) -> str:
    return json.dumps(name, ensure_ascii=False)


def _check_names(names: list[str], path: str | None) -> None:
    if not set(map(type, names)) <= _STR_ONLY:
        bad = next(name for name in names if type(name) is not str)
        raise StateFileError(f"state names must be str, got {_type_name(bad)} {bad!r}", path=path)


def _checked_scopes(names: list[str], scopes: list[Any], path: str | None) -> list[Any]:
    """Return scopes as lists/tuples of str; a lone str becomes [str] and None becomes []."""
    if set(map(type, scopes)) <= _SCOPE_TYPES and set(map(type, chain.from_iterable(scopes))) <= _STR_ONLY:
        return scopes
    fixed: list[Any] = []
    for name, scope in zip(names, scopes, strict=True):
        if scope is None:
            scope = []
        elif type(scope) is str:
            scope = [scope]
        elif type(scope) not in _SCOPE_TYPES:
            try:
                scope = list(scope)
            except TypeError:
                raise StateFileError(
                    f"Scope must be a list of str, got {_type_name(scope)}",
                    path=path,
                    key_path=name,
                ) from None
        bad = [item for item in scope if type(item) is not str]
        if bad:
            raise StateFileError(
                f"Scope must be a list of str, it holds {_type_name(bad[0])} {bad[0]!r}",
                path=path,
                key_path=name,
            )
        fixed.append(scope)
    return fixed


def _reject(value: Any) -> Any:
    # orjson calls this for anything it does not write natively (and, with the passthrough
    # options, for datetimes, dataclasses and subclasses of builtins).
    raise TypeError(f"{_type_name(value)} is not JSON data")


def _encode_pode(
    names: list[str],
    values: list[Any],
    scopes: list[Any],
    compress: bool,
    depth: int | None,
    path: str | None,
) -> bytes:
    if not names:
        return b"{}\n"
    options = _PODE_OPTIONS if compress else _PODE_OPTIONS | orjson.OPT_INDENT_2
    # The output is byte-for-byte what orjson.dumps({name: {"Value": v, "Scope": s}}) writes,
    # assembled from chunks: strip each chunk's braces and join the insides with ",".
    head, tail = (1, 1) if compress else (1, 2)
    pool = [{"Value": None, "Scope": None} for _ in range(min(_CHUNK, len(names)))]
    parts: list[bytes | memoryview] = [b"{"]
    try:
        for start in range(0, len(names), _CHUNK):
            stop = start + _CHUNK
            chunk_values = values[start:stop]
            wrappers = pool[: len(chunk_values)]
            deque(map(setitem, wrappers, repeat("Value"), chunk_values), maxlen=0)
            deque(map(setitem, wrappers, repeat("Scope"), scopes[start:stop]), maxlen=0)
            text = orjson.dumps(
                dict(zip(names[start:stop], wrappers, strict=True)), default=_reject, option=options
            )
            if start:
                parts.append(b",")
            parts.append(memoryview(text)[head:-tail])
    except orjson.JSONEncodeError as exc:
        _check_names(names, path)  # orjson refuses a name that is not a str: say which
        _raise_pode_problem(names, values, depth, path)
        _raise_text_problem(names, values, scopes, path)
        raise StateFileError(f"cannot be written as JSON: {exc}", path=path) from exc
    finally:
        for wrapper in pool:
            wrapper["Value"] = wrapper["Scope"] = None
    parts.append(b"}\n" if compress else b"\n}\n")
    data = b"".join(parts)
    if not _pode_values_clean(values, data, depth):
        _raise_pode_problem(names, values, depth, path)
    return data


def _too_deep(limit: int) -> str:
    if limit < MAX_DEPTH:
        return f"nested deeper than depth={limit} (containers inside containers)"
    return f"nested deeper than {MAX_DEPTH} levels, the most a state file may hold (containers inside containers)"


def _pode_values_clean(values: list[Any], data: bytes, depth: int | None) -> bool:
    """Cheap check of what orjson accepted: only JSON types, no NaN/inf, no deeper than ``depth``.

    Runs after orjson succeeded, so there is no cycle and every int fits 64 bits. It walks the
    values level by level with C-speed idioms (``gc.get_referents`` for the children of all
    containers of a level at once, ``set(map(type, ...))`` for their types) and never calls
    Python code per object. False means "look closer": ``_raise_pode_problem`` then finds the
    culprit exactly, or finds nothing when the null count below was fooled by a string.
    """
    level: list[Any] = values
    index = 0
    nones = 0
    saw_float = False
    limit = MAX_DEPTH if depth is None else min(depth, MAX_DEPTH)
    while level:
        kinds = set(map(type, level))
        # orjson also writes UUID, Enum members and Fragment natively; those must be refused.
        if not kinds <= _JSON_TYPES:
            return False
        if _NONE_TYPE in kinds:
            nones += level.count(None)
        saw_float = saw_float or float in kinds
        if kinds <= _JSON_SCALARS:
            break
        if index >= limit:
            return False
        level = gc.get_referents(*level)
        index += 1
    if saw_float:
        # orjson writes NaN and infinities as null. Every None is a null token too, so as many
        # "null"s as Nones proves there is no non-finite float. Strings may contain "null" as
        # well; then count only "null" followed by what can follow a null token (",", "]", "}",
        # or a newline, which a JSON string never holds raw). Still more: look closer.
        if data.count(b"null") != nones and sum(map(data.count, _NULL_TOKENS)) != nones:
            return False
    return True


_NULL_TOKENS = (b"null,", b"null]", b"null}", b"null\n")


def _raise_pode_problem(names: list[str], values: list[Any], depth: int | None, path: str | None) -> None:
    """Find the first value a "pode" file cannot hold and raise StateFileError naming it."""
    limit = MAX_DEPTH if depth is None else min(depth, MAX_DEPTH)
    for name, value in zip(names, values, strict=True):
        try:
            _check_pode_value(value, 0, limit, depth, set())
        except _Problem as problem:
            raise _problem_error(problem, name, path) from None
        except RecursionError:
            raise StateFileError("nested too deeply to check", path=path, key_path=name) from None


def _check_pode_value(value: Any, level: int, limit: int, depth: int | None, ancestors: set[int]) -> None:
    cls = type(value)
    if cls is str or cls is bool or value is None:
        return
    if cls is int:
        if not _INT64_MIN <= value <= _UINT64_MAX:
            raise _Problem(f"int {value} does not fit in 64 bits (JSON numbers in Pode files are 64-bit)")
        return
    if cls is float:
        if not math.isfinite(value):
            raise _Problem(f"float {value!r} cannot be written as JSON")
        return
    if cls is dict or cls is list or cls is tuple:
        if id(value) in ancestors:
            raise _Problem(f"this {cls.__name__} contains itself (a self-referencing container)")
        if level >= limit:
            raise _Problem(_too_deep(limit))
        ancestors.add(id(value))
        if cls is dict:
            for key, item in value.items():
                if type(key) is not str:
                    raise _Problem(f"dict key {key!r} is {_type_name(key)}; JSON object keys must be str")
                try:
                    _check_pode_value(item, level + 1, limit, depth, ancestors)
                except _Problem as problem:
                    problem.parts.append(key)
                    raise
        else:
            for index, item in enumerate(value):
                try:
                    _check_pode_value(item, level + 1, limit, depth, ancestors)
                except _Problem as problem:
                    problem.parts.append(index)
                    raise
        ancestors.discard(id(value))
        return
    raise _Problem(_unsupported_reason(value, "pode"))


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_NOT_TEXT = "is not valid Unicode text (it holds a lone surrogate), so it cannot be written as UTF-8"


def _raise_text_problem(names: list[str], values: list[Any], scopes: list[Any], path: str | None) -> None:
    """Find the first string (name, scope, key or value) that UTF-8 cannot hold; raise naming it."""
    for name, value, scope in zip(names, values, scopes, strict=True):
        shown = _key_path(name, ())
        if not _is_text(name):
            raise StateFileError(f"the name {_NOT_TEXT}", path=path, key_path=shown)
        if not all(map(_is_text, scope)):
            raise StateFileError(f"a Scope string {_NOT_TEXT}", path=path, key_path=shown)
        try:
            _check_text(value)
        except _Problem as problem:
            raise _problem_error(problem, name, path) from None


def _check_text(value: Any) -> None:
    # Only called on values the encoder already walked, so there is no cycle to guard against.
    cls = type(value)
    if cls is str:
        if not _is_text(value):
            raise _Problem(f"this string {_NOT_TEXT}")
    elif cls is dict:
        for key, item in value.items():
            if type(key) is str and not _is_text(key):
                raise _Problem(f"a key of this dict {_NOT_TEXT}")
            try:
                _check_text(item)
            except _Problem as problem:
                problem.parts.append(key)
                raise
    elif cls in (list, tuple, set, frozenset):
        for index, item in enumerate(value):
            try:
                _check_text(item)
            except _Problem as problem:
                problem.parts.append(index)
                raise


def _unsupported_reason(value: Any, format: str) -> str:
    kind = _type_name(value)
    if format == "pode":
        if isinstance(value, (_dt.date, _dt.time, _dt.timedelta, uuid.UUID, Decimal, set, frozenset)):
            return f"{kind} is not JSON data; save with format='pode-v2' to keep it, or convert it"
        return (
            f"{kind} is not JSON data (dict, list, str, int, float, bool or None); convert it before saving"
        )
    return f"{kind} cannot be saved in a pode-v2 file; convert it to a supported type before saving"


# -- pode-v2 --------------------------------------------------------------------------------------


def _encode_v2(
    names: list[str],
    values: list[Any],
    scopes: list[Any],
    compress: bool,
    depth: int | None,
    path: str | None,
) -> bytes:
    _check_names(names, path)
    with _gc_paused():
        # The document is built and dropped while the collector is paused: it only ever holds
        # plain containers, and collecting them on the way would only cost time.
        return _dump_v2(names, values, scopes, compress, depth, path)


def _dump_v2(
    names: list[str],
    values: list[Any],
    scopes: list[Any],
    compress: bool,
    depth: int | None,
    path: str | None,
) -> bytes:
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


# ---------------------------------------------------------------------------------------------
# Writing


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
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
        data: the complete new contents, e.g. from ``encode``.

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
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
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


# -- temporary files ------------------------------------------------------------------------------
#
# A save killed mid-write (SIGKILL, power loss) leaves its ``.<name>.<8 hex>.tmp`` behind, and
# such a file can be as big as the state. The next save to the same target removes them, and
# must never remove one that a live save is still writing: in another process (two apps saving
# the same file) or in this one (two threads). Age cannot tell these apart (a slow disk can
# spend seconds in one fsync; a paused process holds its file for as long as it likes), so
# liveness is what decides:
# - Each writer holds an exclusive flock on its temp file from creation until the rename. The
#   kernel drops a lock when its holder dies, however it dies, so a leftover a save can lock is
#   one whose writer is gone; one it cannot lock is skipped.
# - Temp files this process is writing are skipped without asking (on NFS, flock may be emulated
#   with per-process POSIX locks, which would let this process lock its own live temp files).
# - Between a writer's create and its lock (two system calls), its file looks abandoned. If a
#   cleaner removes it then, the writer sees after locking that its file has no link left and
#   starts again with a new name, so nothing is lost and no error is raised.
# - Only regular files named exactly as we name them for this target are touched; a symlink,
#   FIFO or folder of that name is left alone, and a file is only removed if the name still
#   refers to the inode that was locked.
# Without fcntl (Windows) a file its writer still has open cannot be deleted, so removing is
# simply tried. Removal is best effort: any error leaves the file for a later save.

_TEMP_HEX = frozenset("0123456789abcdef")
_TEMP_RANDOM_CHARS = 8
_in_flight: set[str] = set()
_in_flight_lock = threading.Lock()


def _temp_name(target_name: str) -> str:
    return f".{target_name}.{secrets.token_hex(_TEMP_RANDOM_CHARS // 2)}.tmp"


def _is_temp_name(name: str, prefix: str) -> bool:
    random = name[len(prefix) : -len(".tmp")]
    return (
        len(name) == len(prefix) + _TEMP_RANDOM_CHARS + len(".tmp")
        and name.startswith(prefix)
        and name.endswith(".tmp")
        and set(random) <= _TEMP_HEX
    )


def _in_flight_add(name: str) -> None:
    with _in_flight_lock:
        _in_flight.add(name)


def _in_flight_discard(name: str) -> None:
    with _in_flight_lock:
        _in_flight.discard(name)


def _lock_temp(fd: int) -> bool:
    """Lock a new temp file for as long as we write it; False if a cleaner got it first."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # a cleaner holds it and is about to remove it
    except OSError:
        return True  # no flock on this file system: write unlocked (cleaners skip what they cannot lock)
    return os.fstat(fd).st_nlink > 0


def _remove_leftovers(folder: Path, target_name: str) -> None:
    """Remove temp files of earlier saves to ``target_name`` whose writers are gone (see above)."""
    prefix = f".{target_name}."
    try:
        with os.scandir(folder) as entries:
            found = [
                entry.name
                for entry in entries
                if _is_temp_name(entry.name, prefix) and entry.is_file(follow_symlinks=False)
            ]
    except OSError:
        return
    for name in found:
        with _in_flight_lock:
            if name in _in_flight:
                continue
        _remove_if_abandoned(os.path.join(folder, name))


_PROBE_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def _remove_if_abandoned(path: str) -> None:
    if fcntl is None:
        try:
            os.unlink(path)
        except OSError:
            pass
        return
    try:
        fd = os.open(path, _PROBE_FLAGS)
    except OSError:
        return
    try:
        locked = os.fstat(fd)
        if not stat.S_ISREG(locked.st_mode):
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # its writer is alive (or this file system has no flock: then leave it)
        now = os.lstat(path)
        if (now.st_dev, now.st_ino) == (locked.st_dev, locked.st_ino):
            os.unlink(path)
    except OSError:
        pass
    finally:
        os.close(fd)


_NODE_KINDS: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link that cannot be followed"),
)


def _not_regular(mode: int, path: Path, target: Path | None = None) -> StateFileError:
    """The error for a path that is not a regular file; ``target`` is where a symlink led."""
    kind = next((name for test, name in _NODE_KINDS if test(mode)), "not a regular file")
    if target is None and os.path.islink(path):
        target = Path(os.path.realpath(path))
    via = f" (the symlink points to {target})" if target is not None and target != path else ""
    return StateFileError(
        f"is {kind}{via}, not a regular file; state files are only read from and written to regular files",
        path=path,
    )


def _existing_regular_file(given: Path, target: Path) -> os.stat_result | None:
    """The target's stat, None if it does not exist; StateFileError if it is not a regular file."""
    try:
        existing = os.lstat(target)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError(f"cannot inspect the file: {exc.strerror or exc}", path=target) from exc
    if not stat.S_ISREG(existing.st_mode):
        raise _not_regular(existing.st_mode, given, target)
    return existing


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


# ---------------------------------------------------------------------------------------------
# Reading


def read_file(path: str | os.PathLike[str]) -> StateFile | None:
    """Read and decode a state file.

    Args:
        path: the state file (already resolved, see ``resolve_path``).

    Returns:
        The file's entries and format, or None when there is nothing to restore: the file does
        not exist, is empty or only whitespace, or holds JSON ``null``.

    Raises:
        StateFileError: the path (or what a symlink leads to) is not a regular file (a folder,
            FIFO, socket or device node: refused before anything is read), cannot be read
            (permissions, a file used as a folder in the path, ...), or the content is not a
            state file (see ``decode``).

    Example:
        >>> read_file("/no/such/state.json") is None
        True
    """
    target = Path(os.fspath(path))
    try:
        # Look before opening: opening a FIFO blocks until a writer comes, and opening some
        # devices has effects of its own. stat follows symlinks, so a link to /dev/zero is caught.
        mode = os.stat(target).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(mode, target)
        handle = _open_regular(target)
        with handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    except PermissionError as exc:
        raise StateFileError("permission denied; check the file's permissions", path=target) from exc
    except OSError as exc:
        raise StateFileError(f"cannot read the file: {exc.strerror or exc}", path=target) from exc
    return decode(data, path=target)


_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def _open_regular(path: Path) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file, without ever blocking on a FIFO.

    The caller's stat can be outrun (the file replaced by a FIFO in between), so the open is
    non-blocking and the descriptor itself is checked with fstat before anything is read.

    Raises:
        StateFileError: it is not a regular file.
        OSError: it cannot be opened.
    """
    fd = os.open(path, _READ_FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(mode, path)
        if _READ_FLAGS & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)  # a no-op for local files, but some network file systems honour it
        return open(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of containers.

    Every few hundred new containers would otherwise trigger a collection, and the older
    generations get traversed again and again; that makes parsing a 24 MB file several times
    slower. Only the caller that actually paused it turns it back on.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def _guess_encoding(data: bytes | bytearray | memoryview) -> tuple[str, int]:
    """Return (encoding, BOM length). Without a BOM, RFC 4627's NUL-byte pattern spots UTF-16/32."""
    head = bytes(data[:4])
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, len(bom)
    # JSON text starts with an ASCII character, so NULs among the first bytes mean UTF-16/32.
    if len(head) >= 4 and head[:3] == b"\x00\x00\x00":
        return "utf-32-be", 0
    if len(head) >= 4 and head[1:4] == b"\x00\x00\x00":
        return "utf-32-le", 0
    if len(head) >= 2 and head[0] == 0:
        return "utf-16-be", 0
    if len(head) >= 2 and head[1] == 0:
        return "utf-16-le", 0
    return "utf-8", 0


def decode(data: bytes, *, path: str | os.PathLike[str] | None = None) -> StateFile | None:
    """Decode the bytes of a state file in any of Pode's formats.

    Detects a v2 envelope (``__pode_state_metadata__``), ``{name: {Value, Scope}}`` files and
    pre-scope ``{name: value}`` files (per entry: an object with a ``Scope`` member is
    ``{Value, Scope}``, anything else is a raw value with scope ``[]``). Reads UTF-8 with or
    without a BOM, UTF-16 and UTF-32 (as Windows PowerShell 5.1 writes). In v2 files, typed values
    come back as Python types (DateTime -> datetime, aware when the text has an offset or ``Z``;
    TimeSpan -> timedelta; Guid -> UUID; Decimal -> Decimal; HashSet -> set, or a list when its
    items are unhashable), arrays stay lists of any length, and Type tags match case-insensitively.
    Nothing in a file is ever executed.

    Args:
        data: the file's bytes.
        path: the file they came from; only used in error messages.

    Returns:
        The entries and the detected format, or None when there is nothing to restore (no bytes,
        only whitespace, or JSON ``null``). ``{}`` is a real, empty state.

    Raises:
        StateFileError: invalid JSON (``position`` gives line and column), invalid UTF-8 (byte
            offset), nesting deeper than the parser accepts, a top level that is not an object,
            an unsupported Version, or a v2 file whose shape or Type tags are wrong (``key_path``
            names the entry and value).

    Example:
        >>> decode(b'{"count": {"Value": 5, "Scope": []}}')
        StateFile(entries={'count': (5, [])}, format='pode')
    """
    where = _where(path)
    if not data:
        return None
    encoding, bom = _guess_encoding(data)
    source: bytes | memoryview | str
    if encoding == "utf-8":
        source = memoryview(data)[bom:] if bom else data
    else:
        try:
            source = bytes(data[bom:]).decode(encoding)
        except UnicodeDecodeError as exc:
            raise StateFileError(
                f"not valid {encoding.upper()} text", path=where, position=f"byte {exc.start + bom}"
            ) from exc
    with _gc_paused():
        try:
            document = orjson.loads(source)
        except orjson.JSONDecodeError as exc:
            if "infinity" in exc.msg:  # a number beyond a double's range: most likely a huge integer
                try:
                    exact = _exact_document(source, where)
                except StateFileError:
                    pass  # the original error says it best
                else:
                    return _checked_document(exact, where, exact=True)
            _raise_parse_error(exc, source, bom, where)
            return None  # whitespace only
        try:
            return _checked_document(document, where, exact=False, raw=data if encoding == "utf-8" else None)
        except _Inexact:
            return _checked_document(_exact_document(source, where), where, exact=True)


def _checked_document(document: Any, path: str | None, *, exact: bool, raw: Any = None) -> StateFile | None:
    try:
        return _from_document(document, path, exact, raw)
    except RecursionError:
        raise StateFileError("nested too deeply to read", path=path) from None


# orjson reads an integer beyond 64 bits as the nearest float, silently; such a float's magnitude
# is at least 2**63. Files holding one (rare) are read a second time by the json module, whose
# integers are exact, and only then is anything decided (a float literal such as 1e20 stays one).
_MAYBE_BIG_INT = float(2**63)
_IS_FLOAT = frozenset({float}).__contains__


def _exact_document(source: bytes | memoryview | str, path: str | None) -> Any:
    """The document parsed with exact integers (slower than orjson; only for the rare file)."""
    text = source if isinstance(source, str) else bytes(source).decode("utf-8")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise StateFileError(
            f"nested deeper than {MAX_DEPTH} levels, the most a state file may hold", path=path
        ) from None
    except ValueError as exc:  # a JSON error, or an integer longer than Python reads (4300 digits)
        raise StateFileError(f"a number cannot be read exactly: {exc}", path=path) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _shown(value: Any) -> str:
    """A decoded JSON value as JSON text, for messages (also an int beyond 64 bits, read exactly)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False)


def _int_problem(value: int) -> _Problem:
    return _Problem(
        f"int {value} does not fit in 64 bits; Pode and most JSON readers cannot keep it exactly "
        "(they turn it into a float), so it is refused rather than changed"
    )


def _raise_parse_error(
    exc: orjson.JSONDecodeError,
    source: bytes | memoryview | str,
    bom: int,
    path: str | None,
) -> None:
    """Raise the StateFileError for a parse failure, or return when the text is only whitespace."""
    if isinstance(source, str):
        if not source.strip(" \t\r\n"):
            return
    else:
        raw = bytes(source)
        if not raw.strip(b" \t\r\n"):
            return
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise StateFileError(
                "not valid UTF-8 text", path=path, position=f"byte {bad.start + bom}"
            ) from exc
    reason = f"not valid JSON: {exc.msg}"
    if "depth" in exc.msg or "recursion" in exc.msg.lower():
        reason = f"nested deeper than {MAX_DEPTH} levels, the most a state file may hold ({exc.msg})"
    raise StateFileError(reason, path=path, position=f"line {exc.lineno}, column {exc.colno}") from exc


def _from_document(document: Any, path: str | None, exact: bool, raw: Any) -> StateFile | None:
    if document is None:
        return None
    if type(document) is not dict:
        raise StateFileError(
            f"the top level must be a JSON object of state entries, got {_json_kind(document)}", path=path
        )
    if _METADATA_KEY in document:
        return _from_v2(document, path, exact)
    return _from_legacy(document, path, exact, raw)


def _json_kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _scope_list(scope: Any) -> list[str] | None:
    """A file's Scope as a list of str ([str] for a lone str, [] for null), or None if invalid."""
    if type(scope) is list:
        return scope if all(type(item) is str for item in scope) else None
    if type(scope) is str:
        return [scope]
    if scope is None:
        return []
    return None


_VALUE_AND_SCOPE = itemgetter("Value", "Scope")
_SECOND = itemgetter(1)
_LIST_ONLY: frozenset[type] = frozenset({list})


def _from_legacy(document: dict[str, Any], path: str | None, exact: bool, raw: Any) -> StateFile:
    loaded = _legacy_entries(document, path)
    _check_entry_names(loaded.entries, path)
    _check_legacy_values(loaded.entries, path, exact, raw)
    return loaded


def _legacy_entries(document: dict[str, Any], path: str | None) -> StateFile:
    # Fast path for the usual file, where every entry is {Value, Scope} with a list of str: a few
    # C-speed passes instead of a Python loop over 200k entries. itemgetter builds the very
    # (value, scope) tuples the result needs; anything unusual falls through to the loop below.
    try:
        pairs = list(map(_VALUE_AND_SCOPE, document.values()))
    except (KeyError, TypeError, IndexError):
        pass
    else:
        scopes = list(map(_SECOND, pairs))
        if set(map(type, scopes)) <= _LIST_ONLY and set(map(type, chain.from_iterable(scopes))) <= _STR_ONLY:
            return StateFile(dict(zip(document, pairs, strict=True)), "pode")
    entries: Entries = {}
    scoped = not document
    for name, wrapper in document.items():
        if type(wrapper) is dict and "Scope" in wrapper:
            scope = _scope_list(wrapper["Scope"])
            if scope is None:
                raise StateFileError(
                    f"Scope must be a list of strings, got {_json_kind(wrapper['Scope'])}",
                    path=path,
                    key_path=name,
                )
            entries[name] = (wrapper.get("Value"), scope)
            scoped = True
        else:
            entries[name] = (wrapper, [])
    return StateFile(entries, "pode" if scoped else "pode-legacy")


_JSON_NESTS: frozenset[type] = frozenset({dict, list})


def _check_legacy_values(entries: Entries, path: str | None, exact: bool, raw: Any) -> None:
    """Refuse values nested deeper than MAX_DEPTH or holding an int beyond 64 bits, naming where.

    Both checks use C-speed idioms only, as ``_pode_values_clean`` does; a restore of the usual
    file pays about a fifth of its parse for them. Only a file that is refused is walked again,
    in Python, to find where.

    Args:
        raw: the file's bytes (or text), to look for integers orjson may have read inexactly.

    Raises:
        StateFileError: too deep, or (``exact``) an int beyond 64 bits or a float beyond a double.
        _Inexact: not ``exact``, and a float that may have been an int beyond 64 bits.
    """
    values: list[Any] = list(map(itemgetter(0), entries.values()))
    too_deep = _json_depth(values) > MAX_DEPTH
    if not too_deep and not exact:
        if _may_hold_big_ints(raw) and _has_big_float(values):
            raise _Inexact
        return
    check = _check_json_depth if too_deep else _check_json_numbers
    for name, (value, _) in entries.items():
        try:
            check(value, 0)
        except _Problem as problem:
            raise _problem_error(problem, name, path) from None


def _json_depth(values: list[Any]) -> int:
    """The deepest nesting among parsed JSON values, or MAX_DEPTH + 1 if deeper than that.

    ``gc.get_referents`` gives the children of all containers of a level at once (scalars have
    none), so the walk takes one C call a level; only the last level's types are looked at, for
    empty containers, which have no children but count.
    """
    level = values
    depth = 0
    while True:
        children = gc.get_referents(*level)
        if not children:
            return depth + (not _JSON_NESTS.isdisjoint(set(map(type, level))))
        depth += 1
        if depth > MAX_DEPTH:
            return depth
        level = children


_DIGITS_ONLY = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_INT64_DIGITS = b"0" * 19  # an integer beyond 64 bits has at least 19 digits


def _may_hold_big_ints(raw: Any) -> bool:
    """Whether the UTF-8 text has 19 digits in a row somewhere (in a number, or in a string)."""
    if not isinstance(raw, bytes | bytearray):
        return True  # UTF-16/32 text, rare: let the float walk decide
    return _INT64_DIGITS in raw.translate(_DIGITS_ONLY)


def _has_big_float(values: list[Any]) -> bool:
    """Whether a float of magnitude >= 2**63 (what orjson makes of a bigger int) is in ``values``."""
    level = values
    while level:
        kinds = set(map(type, level))
        if float in kinds:
            floats = itertools.compress(level, map(_IS_FLOAT, map(type, level)))
            if max(map(abs, floats)) >= _MAYBE_BIG_INT:
                return True
        if _JSON_NESTS.isdisjoint(kinds):
            return False
        level = gc.get_referents(*level)
    return False


def _check_json_numbers(value: Any, nesting: int) -> None:
    cls = type(value)
    if cls is int:
        if not _INT64_MIN <= value <= _UINT64_MAX:
            raise _int_problem(value)
    elif cls is float:
        if not math.isfinite(value):
            raise _Problem("a number too big for a 64-bit float")
    elif cls is dict or cls is list:
        for key, item in value.items() if cls is dict else enumerate(value):
            try:
                _check_json_numbers(item, nesting + 1)
            except _Problem as problem:
                problem.parts.append(key)
                raise


def _check_json_depth(value: Any, nesting: int) -> None:
    cls = type(value)
    if cls is not dict and cls is not list:
        return
    if nesting >= MAX_DEPTH:
        raise _Problem(_too_deep(MAX_DEPTH))
    for key, item in value.items() if cls is dict else enumerate(value):
        try:
            _check_json_depth(item, nesting + 1)
        except _Problem as problem:
            problem.parts.append(key)
            raise


# -- pode-v2 --------------------------------------------------------------------------------------

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
