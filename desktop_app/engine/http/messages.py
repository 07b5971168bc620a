"""HTTP requests and responses as route handlers see them: plain data, no aiohttp types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from multidict import CIMultiDictProxy

MAX_BODY = 16 * 1024 * 1024
"""Largest request body read (bytes); a bigger one answers 413 without reaching the handler."""

_JSON = "application/json"
_TEXT = "text/plain; charset=utf-8"
_BYTES = "application/octet-stream"

class BadRequest(ValueError):
    """The request cannot be served as sent; the dispatcher answers 400 with ``{"error": message}``.

    ``e.request.json()`` raises it for a malformed body; handlers may raise it too.
    """

    status = 400

class Request:
    """What a route handler sees as ``e.request``: plain data, read fully before the handler runs.

    Attributes:
        method: upper-case HTTP method.
        path: the URL path, percent-decoded ("/items/a b").
        query: query parameters; a repeated name keeps its last value.
        headers: a read-only, case-insensitive multidict: ``headers["content-type"]``,
            ``headers.get("X-Tag")``, ``headers.getall("X-Tag")`` for repeated headers.
        body: the raw body (b"" when there is none).
        remote: the client's address, when known.
    """

    __slots__ = ("body", "headers", "method", "path", "query", "remote")

    def __init__(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: CIMultiDictProxy[str],
        body: bytes = b"",
        remote: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remote = remote

    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes become U+FFFD)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON.

        Raises:
            BadRequest: the body is empty or not valid JSON; the route then answers 400 on its own.
        """
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError as err:
            raise BadRequest(f"malformed JSON body: {err}") from None

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path} {len(self.body)} bytes>"


@dataclass(frozen=True, slots=True)
class Response:
    """A complete HTTP answer. Handlers usually build one with ``e.json(...)`` or ``e.text(...)``.

    Example:
        >>> def create(e):
        ...     item = e.request.json()
        ...     return e.json({"id": 7, **item}, status=201)
    """

    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.status, int) or not 100 <= self.status <= 599:
            raise ValueError(f"HTTP status must be an int from 100 to 599, got {self.status!r}")

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Response:
        """``value`` serialised with orjson, as application/json.

        Raises:
            TypeError: orjson cannot serialise ``value``; the message names the type.
        """
        try:
            body = orjson.dumps(value)
        except TypeError as err:
            raise TypeError(f"cannot send the response as JSON: {err}") from None
        return cls(status, body, _JSON)

    @classmethod
    def text(cls, text: str, status: int = 200) -> Response:
        """``text`` as text/plain, UTF-8."""
        return cls(status, str(text).encode("utf-8"), _TEXT)


def to_response(value: Any) -> Response:
    """What a handler's return value is sent as.

    A Response as it is; None -> 204; str -> text/plain; bytes-like -> application/octet-stream;
    anything else (dict, list, tuple, numbers, bools...) -> JSON.

    Raises:
        TypeError: the value cannot be serialised as JSON.
    """
    if isinstance(value, Response):
        return value
    if value is None:
        return Response(204)
    if isinstance(value, str):
        return Response.text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return Response(200, bytes(value), _BYTES)
    return Response.json(value)


def error_response(status: int, message: str, **extra: str) -> Response:
    return Response(status, orjson.dumps({"error": message, **extra}), _JSON)
