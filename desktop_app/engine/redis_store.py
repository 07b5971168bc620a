"""The Redis store: a namespace's entries, shared version and change feed in Redis, changed by atomic Lua scripts.

See ``redis_scripts.py`` for the key layout. Values are stored as the JSON a "pode" state file
holds, checked by the same code that writes state files, so anything a file cannot hold is refused
before a byte reaches Redis.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable, Iterable
from threading import current_thread
from typing import Any

import orjson
from redis.exceptions import NoScriptError, RedisError

from desktop_app.engine import persistence
from desktop_app.engine import redis_scripts as lua
from desktop_app.engine.errors import LockLost, StateFileError
from desktop_app.engine.redis_conn import RedisConnection, identity
from desktop_app.engine.store import ChangeRecord, Changes, _Entry

MISSING: Any = object()
"""What ``get_value`` returns for an entry that does not exist (None is a value)."""

Fences = Callable[[], "dict[str, str] | None"]
"""The lock keys and tokens the calling thread holds in this namespace (None: none)."""


# thread name -> (HOST:PID/THREAD, as JSON); pool threads are renamed per job, so keyed by name
_WHO: dict[str, tuple[str, bytes]] = {}
os.register_at_fork(after_in_child=_WHO.clear)  # a child has another PID


def namespace_prefix(namespace: str) -> str:
    """``sss:{NS}:``: every key of a namespace; the braces make them one Redis Cluster hash slot."""
    if not isinstance(namespace, str) or not namespace:
        raise ValueError(f"a Redis namespace is a non-empty string, got {namespace!r}")
    if any(c in namespace for c in "{}") or not namespace.isprintable():
        raise ValueError(f"a Redis namespace cannot hold braces or control characters: {namespace!r}")
    return f"sss:{{{namespace}}}:"


# The file format's own checks, used directly on the hot path when persistence offers them:
# orjson with the "pode" options, then the cheap scan that refuses what orjson lets through
# (NaN/inf, UUIDs, too deep). Anything refused goes through persistence.encode for the exact error.
_PODE_OPTIONS: int | None = getattr(persistence, "_PODE_OPTIONS", None)
_REJECT: Any = getattr(persistence, "_reject", None)
_CLEAN: Any = getattr(persistence, "_pode_values_clean", None)
_MAX_DEPTH: int = getattr(persistence, "_MAX_PODE_USER_DEPTH", 252)


def encode_value(name: str, value: Any) -> bytes:
    """The value as the JSON a "pode" state file would hold, or ValueError naming the entry.

    The checks are the file format's (``persistence``): JSON types, finite floats, str keys, 64-bit
    ints, no cycles, no deeper than a file can hold.
    """
    if _CLEAN is not None and _PODE_OPTIONS is not None:
        try:
            # inside a list, as in a file, so every null token is followed by "," or "]" (the check
            # tells NaN, written as null, from None by counting them)
            data: bytes = orjson.dumps([value], default=_REJECT, option=_PODE_OPTIONS)
        except orjson.JSONEncodeError:
            pass
        else:
            if _CLEAN([value], data, _MAX_DEPTH):
                return data[1:-1]
    return _encode_checked(name, value)


def _encode_checked(name: str, value: Any) -> bytes:
    """``persistence.encode`` on a one-entry document (the exact error, or the value's bytes)."""
    try:
        doc = persistence.encode({name: (value, ())}, format="pode", compress=True)
    except StateFileError as err:
        where = f" at {err.key_path}" if err.key_path and err.key_path != name else ""
        raise ValueError(
            f"cannot store '{name}' in the Redis state{where}: {err.reason}; nothing was written"
        ) from None
    # encode writes exactly orjson.dumps({name: {"Value": v, "Scope": []}}) plus a newline
    head = b"{" + orjson.dumps(name) + b':{"Value":'
    tail = b',"Scope":[]}}\n'
    if doc.startswith(head) and doc.endswith(tail):
        return doc[len(head) : -len(tail)]
    return orjson.dumps(
        orjson.loads(doc)[name]["Value"]
    )  # pragma: no cover - only if the file layout changes


def decode_value(data: bytes) -> Any:
    return orjson.loads(data)


def _pack(items: list[bytes]) -> bytes:
    """A msgpack array of byte strings (str32 each), which the LOAD script unpacks with cmsgpack."""
    parts = [struct.pack(">BI", 0xDD, len(items))]
    for item in items:
        parts.append(struct.pack(">BI", 0xDB, len(item)))
        parts.append(item)
    return b"".join(parts)


def _meta(raw: bytes) -> tuple[str, list[str], int, float, str]:
    """(name, scope, version, time, writer) from a meta field: SCOPE_JSON, VERSION,TIME,"WHO", NAME on three lines."""
    scope, info, name = raw.split(b"\n", 2)
    version, when, who = orjson.loads(b"[" + info + b"]")
    return name.decode(), orjson.loads(scope), int(version), float(when), str(who)


class RedisStore:
    """A namespace's entries in Redis (the StateStore interface), plus the calls only Redis needs.

    Every change is one EVALSHA: the fencing check, the value, the version and the feed record
    together. Reads of one entry are one round trip; reads of many are one MULTI (consistent).
    """

    def __init__(
        self,
        conn: RedisConnection,
        namespace: str,
        ring_size: int,
        fences: Fences,
        lost: Callable[[str], LockLost],
    ) -> None:
        self.conn = conn
        self.namespace = namespace
        self.prefix = p = namespace_prefix(namespace)
        self.k_values, self.k_meta, self.k_version, self.k_feed = (
            p + "values",
            p + "meta",
            p + "version",
            p + "feed",
        )
        self._data_keys = [self.k_values, self.k_meta, self.k_version, self.k_feed]
        self.ring_size = ring_size
        self._fences = fences
        self._lost = lost
        self._client = conn.client
        self._set = conn.script(lua.SET)
        self._touch = conn.script(lua.TOUCH)
        self._set_scope = conn.script(lua.SET_SCOPE)
        self._remove = conn.script(lua.REMOVE)
        self._rename = conn.script(lua.RENAME)
        self._load = conn.script(lua.LOAD)
        self._entry = conn.script(lua.ENTRY)

    # -- writes -----------------------------------------------------------------------------------

    def _write(self, script: Any, args: list[Any], what: str) -> list[Any]:
        held = self._fences()
        if held:
            keys = [*self._data_keys, *held]
            argv = [*held.values(), *args]
        else:
            keys, argv = self._data_keys, args
        try:
            reply: list[Any] = self._client.evalsha(script.sha, len(keys), *keys, *argv)
        except NoScriptError:  # Redis restarted (its script cache is empty): load it again, once
            with self.conn.errors(what):
                reply = script(keys, argv)
        except RedisError:
            with self.conn.errors(what):
                raise
        if reply[0] == -1:
            raise self._lost(reply[1].decode())
        return reply

    def _who(self) -> tuple[str, str, bytes]:
        thread = current_thread().name
        found = _WHO.get(thread)
        if found is None:
            who = identity(thread)
            found = _WHO[thread] = (who, orjson.dumps(who))
        return repr(time.time()), found[0], found[1]

    def set(self, key: str, name: str, value: Any, scope: list[str]) -> None:
        self.put(key, name, encode_value(name, value), scope)

    def put(self, key: str, name: str, data: bytes, scope: list[str] | None, *, op: str = "set") -> bool:
        """Write encoded ``data``; ``scope`` None keeps the entry's scope and needs the entry to exist."""
        when, who, whoj = self._who()
        reply = self._write(
            self._set,
            [
                key,
                name,
                data,
                orjson.dumps(scope) if scope is not None else b"",
                when,
                who,
                whoj,
                self.ring_size,
                op,
                "1" if scope is None else "0",
            ],
            f"writing '{name}'",
        )
        return bool(reply[0] == 1)

    def remove(self, key: str) -> _Entry | None:
        when, who, _ = self._who()
        reply = self._write(self._remove, [key, when, who, self.ring_size], f"removing '{key}'")
        if reply[0] != 1:
            return None
        return _Entry(key, decode_value(reply[2]), [], int(reply[1]), float(when), who)

    def touch(self, key: str) -> bool:
        when, who, whoj = self._who()
        return self._write(self._touch, [key, when, who, whoj, self.ring_size], f"touching '{key}'")[0] == 1

    def set_scope(self, key: str, scope: list[str]) -> bool:
        when, who, whoj = self._who()
        reply = self._write(
            self._set_scope, [key, orjson.dumps(scope), when, who, whoj, self.ring_size], f"scoping '{key}'"
        )
        return bool(reply[0] == 1)

    def rename(self, key: str, new_key: str, new_name: str) -> None:
        when, who, whoj = self._who()
        reply = self._write(
            self._rename, [key, new_key, new_name, when, who, whoj, self.ring_size], f"renaming '{key}'"
        )
        if reply[0] == 0:
            raise KeyError(key)
        if reply[0] == 2:
            raise ValueError(f"an entry named '{reply[1].decode()}' already exists")

    def load(self, items: Iterable[tuple[str, Any, list[str]]], *, merge: bool) -> None:
        flat: list[bytes] = []
        for name, value, scope in items:
            flat += [name.casefold().encode(), name.encode(), orjson.dumps(scope), encode_value(name, value)]
        when, who, whoj = self._who()
        self._write(
            self._load,
            ["1" if merge else "0", when, who, whoj, self.ring_size, _pack(flat)],
            "loading entries",
        )

    # -- reads ------------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        with self.conn.errors("reading the version"):
            raw = self._client.get(self.k_version)
        return int(raw) if raw else 0

    def get_value(self, key: str) -> Any:
        """The decoded value (a fresh object), or MISSING."""
        with self.conn.errors(f"reading '{key}'"):
            raw = self._client.hget(self.k_values, key)
        return MISSING if raw is None else orjson.loads(raw)

    def get_with_scope(self, key: str) -> tuple[Any, list[str]] | None:
        e = self.get(key)
        return None if e is None else (e.value, e.scope)

    def get(self, key: str) -> _Entry | None:
        with self.conn.errors(f"reading '{key}'"):
            reply = self._entry([self.k_values, self.k_meta], [key])
        if not reply:
            return None
        name, scope, version, when, who = _meta(reply[1])
        return _Entry(name, orjson.loads(reply[0]), scope, version, when, who)

    def exists(self, key: str) -> bool:
        with self.conn.errors(f"reading '{key}'"):
            return bool(self._client.hexists(self.k_meta, key))

    def count(self) -> int:
        with self.conn.errors("counting entries"):
            return int(self._client.hlen(self.k_meta))

    def heads(self) -> list[_Entry]:
        """Every entry without its value (name, scope, version, time, writer), sorted by name."""
        with self.conn.errors("listing entries"):
            metas: dict[bytes, bytes] = self._client.hgetall(self.k_meta)  # type: ignore[assignment]
        out = []
        for m in metas.values():
            name, scope, version, when, who = _meta(m)
            out.append(_Entry(name, None, scope, version, when, who))
        out.sort(key=lambda e: e.name.casefold())
        return out

    def items(self) -> list[_Entry]:
        """Every entry with its value (fresh objects), read consistently (MULTI), sorted by name."""
        with self.conn.errors("reading every entry"):
            pipe = self._client.pipeline(transaction=True)
            pipe.hgetall(self.k_values)
            pipe.hgetall(self.k_meta)
            values, metas = pipe.execute()
        out = []
        for k, m in metas.items():
            name, scope, version, when, who = _meta(m)
            raw = values.get(k)
            out.append(
                _Entry(name, orjson.loads(raw) if raw is not None else None, scope, version, when, who)
            )
        out.sort(key=lambda e: e.name.casefold())
        return out

    def changes_since(self, version: int) -> Changes:
        """One MULTI: the version and the feed after ``version`` (its stream IDs are the versions)."""
        with self.conn.errors("reading the change feed"):
            pipe = self._client.pipeline(transaction=True)
            pipe.get(self.k_version)
            pipe.xrange(self.k_feed, min=f"{version + 1}-0", max="+", count=self.ring_size + 1)
            raw_version, raw_records = pipe.execute()
        current = int(raw_version) if raw_version else 0
        if version == current:
            return Changes(current, (), False)
        if version > current:
            # the namespace was cleared by hand or Redis restarted empty: start again from a snapshot
            return Changes(current, (), True)
        records = []
        for rid, fields in raw_records:
            v = int(rid.split(b"-", 1)[0])
            if v > current:
                break
            old = fields.get(b"old")
            records.append(
                ChangeRecord(
                    v,
                    fields[b"op"].decode(),
                    fields[b"name"].decode(),
                    float(fields[b"time"]),
                    fields[b"thread"].decode(),
                    old.decode() if old is not None else None,
                )
            )
        contiguous = bool(records) and records[0].version == version + 1 and records[-1].version == current
        if not contiguous:
            return Changes(current, (), True)
        return Changes(current, tuple(records), any(r.op == "reset" for r in records))

    def __repr__(self) -> str:
        return f"<RedisStore {self.conn.url} namespace {self.namespace!r}>"
