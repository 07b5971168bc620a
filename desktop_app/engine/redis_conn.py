"""One Redis client per store URL in this process: bounded timeouts, no hidden retries, errors as StateStoreError."""

from __future__ import annotations

import inspect
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.commands.core import Script
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from desktop_app.engine.errors import StateStoreError

CONNECT_TIMEOUT = 2.0
"""Seconds to open a connection (an unreachable host fails within this)."""
SOCKET_TIMEOUT = 3.0
"""Seconds to wait for any answer: a server that accepts but never answers fails within this."""

SCHEMES = ("redis", "rediss", "unix")

T = TypeVar("T")


def is_store_url(text: str) -> bool:
    """True for ``redis://``, ``rediss://`` and ``unix://`` URLs (the CLI tells them from file paths)."""
    return urlsplit(text).scheme in SCHEMES and "://" in text


def shown_url(url: str) -> str:
    """The URL with its password (and any ``password=`` query value) masked: safe for messages and logs."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0] if ":" in userinfo else ""
        # redis://SECRET@host is a password alone, as redis-py reads it
        netloc = f"{user}:***@{host}" if user else f":***@{host}"
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k.lower() == "password" for k, _ in query):
        query = [(k, "***" if k.lower() == "password" else v) for k, v in query]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="*"), parts.fragment))


def identity(thread: str | None = None) -> str:
    """``HOST:PID/THREAD``: how this process's threads are named to other processes."""
    name = threading.current_thread().name if thread is None else thread
    return f"{_HOST}:{os.getpid()}/{name}"


_HOST = socket.gethostname()

# No CLIENT SETINFO on each new connection (round trips fewer on connect; redis-py 7.1+ spells it driver_info).
_NO_SETINFO: dict[str, Any] = (
    {"driver_info": None}
    if "driver_info" in inspect.signature(redis.Redis.__init__).parameters
    else {"lib_name": None, "lib_version": None}
)


class RedisConnection:
    """A redis-py client for one URL, shared by every state and lockable on it in this process.

    redis-py's default retries are turned off: a script that lost its connection may have run, and
    running it again would apply a change twice. A broken pooled connection is replaced when it is
    next taken from the pool, so the client reconnects by itself once the server is back.
    """

    _open: ClassVar[dict[str, RedisConnection]] = {}
    _open_mutex: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise ValueError(
                f"unsupported store URL {shown_url(url)!r}: use redis://HOST:PORT/DB (or rediss://, unix://)"
            )
        self.url = shown_url(url)
        given = {k for k, _ in parse_qsl(parts.query)}
        options: dict[str, Any] = {}
        if "socket_timeout" not in given:
            options["socket_timeout"] = SOCKET_TIMEOUT
        if "socket_connect_timeout" not in given:
            options["socket_connect_timeout"] = CONNECT_TIMEOUT
        self.client: redis.Redis = redis.Redis.from_url(
            url,
            retry=Retry(NoBackoff(), 0),
            socket_keepalive=True,
            **_NO_SETINFO,
            **options,
        )
        self.socket_timeout = float(self.client.connection_pool.connection_kwargs.get("socket_timeout") or 0)
        self._scripts: dict[str, Script] = {}

    @classmethod
    def open(cls, url: str) -> RedisConnection:
        """The process's connection for ``url`` (one client and pool per URL)."""
        with cls._open_mutex:
            conn = cls._open.get(url)
            if conn is None:
                conn = cls._open[url] = cls(url)
            return conn

    # -- calls ----------------------------------------------------------------------------------

    def script(self, source: str) -> Script:
        """A registered Lua script: run by EVALSHA, loaded again by itself after a server restart."""
        found = self._scripts.get(source)
        if found is None:
            found = self._scripts[source] = self.client.register_script(source)
        return found

    @contextmanager
    def errors(self, what: str = "") -> Iterator[None]:
        """Turn redis-py's connection, timeout and server errors into StateStoreError naming the URL."""
        try:
            yield
        except RedisTimeoutError as err:
            raise StateStoreError(
                self.url,
                f"no answer within {self.socket_timeout:g} s{_doing(what)} ({err}); is it overloaded?",
            ) from None
        except RedisConnectionError as err:
            raise StateStoreError(self.url, f"cannot reach Redis{_doing(what)}: {_reason(err)}") from None
        except ResponseError as err:
            raise StateStoreError(self.url, f"Redis refused{_doing(what)}: {err}") from None
        except RedisError as err:
            raise StateStoreError(self.url, f"{type(err).__name__}{_doing(what)}: {err}") from None

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` with errors turned into StateStoreError."""
        with self.errors():
            return fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<RedisConnection {self.url}>"


def _doing(what: str) -> str:
    return f" while {what}" if what else ""


def _reason(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    if "refused" in text.lower():
        text += " (is redis-server running on that port?)"
    return text
