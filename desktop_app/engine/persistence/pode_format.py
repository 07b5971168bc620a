"""The "pode" format: ``{name: {Value, Scope}}`` (and pre-scope ``{name: value}``) written and read."""

from __future__ import annotations

import gc
import itertools
import math
from collections import deque
from itertools import chain, repeat
from operator import itemgetter, setitem
from typing import Any

import orjson

from desktop_app.engine.errors import StateFileError
from desktop_app.engine.persistence.entry_checks import (
    _check_entry_names,
    _check_names,
    _raise_text_problem,
    _reject,
    _scope_list,
    _unsupported_reason,
)
from desktop_app.engine.persistence.limits import (
    _INT64_MIN,
    _IS_FLOAT,
    _JSON_NESTS,
    _JSON_SCALARS,
    _JSON_TYPES,
    _MAYBE_BIG_INT,
    _NONE_TYPE,
    _STR_ONLY,
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
    _type_name,
)
from desktop_app.engine.persistence.state_file import Entries, StateFile

# orjson natively writes datetimes, dataclasses and subclasses of builtins; passing them through
# to a default that raises is what keeps "pode" files free of silently stringified values.
_PODE_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
)
# Entries are serialised in chunks through a small pool of reused {Value, Scope} dicts, so a
# 200k-entry save does not allocate 200k wrapper dicts.
_CHUNK = 2048


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


# -- reading ------------------------------------------------------------------------------------

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
    for name, (value, _) in entries.items():
        try:
            _check_json(value, 0, too_deep)
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


def _check_json(value: Any, nesting: int, too_deep: bool) -> None:
    """Where a refused file's value fails: nesting past MAX_DEPTH (``too_deep``), else a number
    it cannot hold exactly (an int beyond 64 bits, a float beyond a double); the key path is
    gathered on the way out."""
    cls = type(value)
    if cls is dict or cls is list:
        if too_deep and nesting >= MAX_DEPTH:
            raise _Problem(_too_deep(MAX_DEPTH))
        for key, item in value.items() if cls is dict else enumerate(value):
            try:
                _check_json(item, nesting + 1, too_deep)
            except _Problem as problem:
                problem.parts.append(key)
                raise
    elif too_deep:
        return
    elif cls is int:
        if not _INT64_MIN <= value <= _UINT64_MAX:
            raise _int_problem(value)
    elif cls is float:
        if not math.isfinite(value):
            raise _Problem("a number too big for a 64-bit float")
