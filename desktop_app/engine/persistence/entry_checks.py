"""Checks on entries: names, scopes, text UTF-8 can hold, and why a value is refused."""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Mapping
from decimal import Decimal
from itertools import chain
from typing import Any

from desktop_app.engine.errors import StateFileError
from desktop_app.engine.persistence.limits import _SCOPE_TYPES, _STR_ONLY
from desktop_app.engine.persistence.problems import (
    _key_path,
    _Problem,
    _problem_error,
    _quoted,
    _type_name,
)


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


def _scope_list(scope: Any) -> list[str] | None:
    """A file's Scope as a list of str ([str] for a lone str, [] for null), or None if invalid."""
    if type(scope) is list:
        return scope if all(type(item) is str for item in scope) else None
    if type(scope) is str:
        return [scope]
    if scope is None:
        return []
    return None


def _reject(value: Any) -> Any:
    # orjson calls this for anything it does not write natively (and, with the passthrough
    # options, for datetimes, dataclasses and subclasses of builtins).
    raise TypeError(f"{_type_name(value)} is not JSON data")


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
