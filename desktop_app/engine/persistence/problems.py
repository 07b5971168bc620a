"""What is wrong and where: the internal problem types and how errors name a file and key path."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from typing import Any

import orjson

from desktop_app.engine.errors import StateFileError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class _Inexact(Exception):
    """Internal: orjson read what may be an integer beyond 64 bits as a float; read exactly instead."""


class _Problem(Exception):
    """Internal: what is wrong and where; the key path is collected innermost-first while unwinding."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.parts: list[str | int] = []


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


def _quoted(name: str) -> str:
    return json.dumps(name, ensure_ascii=False)


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


def _json_kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
