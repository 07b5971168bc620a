"""Read-only views of a Redis namespace for a viewer (the studio): processes, lockables, lock uses, the feed.

A *fleet* is every process running on one URL and namespace. Each publishes a heartbeat
(``redis/presence.py``), takes lockables whose holders live in Redis keys, and sends its lock uses
to a capped stream (``redis/locks.py``). ``Fleet`` reads all of that without taking any lock and
without writing anything, so watching a fleet never perturbs it:

    >>> fleet = Fleet.open("redis://127.0.0.1:6379/0", "shop")   # doctest: +SKIP
    >>> [hb.key for hb in fleet.heartbeats()]                     # doctest: +SKIP
    ['web-1:4242', 'web-2:977']
    >>> fleet.lock_states(["global"])[0].holder.who               # doctest: +SKIP
    'web-2:977/timer-forever'

It also reads the change feed by blocking (``XREAD BLOCK``), so a viewer wakes on a change
instead of polling, and reads many entries in one round trip.

The records it returns are in ``fleet_records.py`` and ``heartbeat_records.py`` (re-exported
here), and so is ``heartbeat_details(server)``, what a heartbeat says about the process's jobs and
lockables beyond their counts (``redis.presence.Presence.record`` adds it).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import redis

from desktop_app.engine.errors import LockLost
from desktop_app.engine.redis.conn import RedisConnection
from desktop_app.engine.redis.fleet_records import (
    FeedNames,
    FeedRead,
    LockHolder,
    LockState,
    LockUse,
    _float,
    _holder,
    _text,
    process_of,
)
from desktop_app.engine.redis.heartbeat_records import (
    Heartbeat,
    LockFigures,
    ProcessBeat,
    heartbeat_details,
    job_record,
    lock_record,
)
from desktop_app.engine.redis.store import RedisStore, _meta, namespace_prefix
from desktop_app.engine.store import ChangeRecord, EntryInfo

__all__ = [
    "FEED_COUNT",
    "SCAN_COUNT",
    "USES_COUNT",
    "FeedNames",
    "FeedRead",
    "Fleet",
    "Heartbeat",
    "LockFigures",
    "LockHolder",
    "LockState",
    "LockUse",
    "ProcessBeat",
    "heartbeat_details",
    "job_record",
    "lock_record",
    "process_of",
]

FEED_COUNT = 20_000
"""Most change records one feed read returns (the feed keeps about 10,000)."""
USES_COUNT = 5_000
"""Most lock uses one read of the lock-event stream returns."""
SCAN_COUNT = 1_000


class Fleet:
    """Read-only access to one namespace on one Redis: processes, lockables, lock uses and the feed.

    Every call is a bounded number of round trips and raises ``StateStoreError`` (naming the URL,
    never a password) when Redis cannot be reached. Nothing here writes to Redis or takes a lock.
    """

    def __init__(self, conn: RedisConnection, namespace: str) -> None:
        self.conn = conn
        self.namespace = namespace
        self.prefix = p = namespace_prefix(namespace)
        self.url = conn.url
        self._client: Any = conn.client  # redis-py's reply types are unions of every RESP shape
        self.store = RedisStore(conn, namespace, 0, lambda: None, LockLost)
        # The same pool, but XREAD's reply left as Redis sends it: redis-py would build a dict per
        # record (about 15 µs each), which at 10,000 changes a second is a quarter of a core.
        self._raw: Any = redis.Redis(connection_pool=conn.client.connection_pool)
        self._raw.set_response_callback("XREAD", lambda reply, **_: reply)
        self.proc_prefix = p + "proc:"
        self.events_key = p + "lockevents"

    @classmethod
    def open(cls, url: str, namespace: str) -> Fleet:
        """The fleet on ``url`` and ``namespace`` (the process's shared client for that URL)."""
        return cls(RedisConnection.open(url), namespace)

    # -- the state ----------------------------------------------------------------------------------

    def version(self) -> int:
        return self.store.version

    def ping(self) -> dict[str, Any]:
        """A quick look for a "Test" button: the server's version, and the namespace's size and processes."""
        with self.conn.errors("testing the connection"):
            info: dict[str, Any] = self._client.info("server")
            pipe = self._client.pipeline(transaction=False)
            pipe.hlen(self.store.k_meta)
            pipe.get(self.store.k_version)
            entries, version = pipe.execute()
        return {
            "redis_version": str(info.get("redis_version", "?")),
            "entries": int(entries),
            "version": int(version) if version else 0,
            "processes": len(self.heartbeats()),
        }

    def feed_after(self, version: int, block: float | None = None, count: int = FEED_COUNT) -> FeedRead:
        """The change records after ``version``, waiting up to ``block`` seconds for the first one.

        ``gap`` is True when the feed no longer holds the record right after ``version`` (it was
        trimmed past it, or the namespace was emptied by hand): the reader must reload.
        """
        block_ms = None if block is None else max(1, int(block * 1000))
        with self.conn.errors("reading the change feed"):
            reply = self._client.xread({self.store.k_feed: f"{version}-0"}, count=count, block=block_ms)
        raw = reply[0][1] if reply else []
        if not raw:
            return FeedRead(())
        records = []
        for rid, fields in raw:
            old = fields.get(b"old")
            records.append(
                ChangeRecord(
                    int(rid.split(b"-", 1)[0]),
                    _text(fields.get(b"op")),
                    _text(fields.get(b"name")),
                    _float(fields.get(b"time")),
                    _text(fields.get(b"thread")),
                    old.decode() if old is not None else None,
                )
            )
        if records[0].version != version + 1:
            return FeedRead((), gap=True)
        return FeedRead(tuple(records))

    def changed_after(self, version: int, block: float | None = None, count: int = FEED_COUNT) -> FeedNames:
        """Like ``feed_after``, but only (op, name, old name) of each change, read without per-record objects."""
        block_ms = None if block is None else max(1, int(block * 1000))
        with self.conn.errors("reading the change feed"):
            reply = self._raw.xread({self.store.k_feed: f"{version}-0"}, count=count, block=block_ms)
        if not reply:
            return FeedNames(version, [])
        raw = next(iter(reply.values())) if isinstance(reply, dict) else reply[0][1]  # RESP3 / RESP2
        if not raw:
            return FeedNames(version, [])
        if int(raw[0][0].split(b"-", 1)[0]) != version + 1:
            return FeedNames(version, [], gap=True)
        out: list[tuple[str, str, str | None]] = []
        add = out.append
        for _rid, f in raw:
            # the scripts write op, name, time, thread[, old] in this order (redis_scripts.bump)
            if len(f) >= 4 and f[0] == b"op" and f[2] == b"name":
                add(
                    (f[1].decode(), f[3].decode(), f[9].decode() if len(f) >= 10 and f[8] == b"old" else None)
                )
            else:
                d = dict(zip(f[::2], f[1::2], strict=False))
                old = d.get(b"old")
                add((_text(d.get(b"op")), _text(d.get(b"name")), old.decode() if old is not None else None))
        return FeedNames(int(raw[-1][0].split(b"-", 1)[0]), out)

    def entries(self, names: Sequence[str]) -> list[EntryInfo | None]:
        """The entries called ``names`` (fresh copies), read in one consistent round trip; None for missing ones."""
        if not names:
            return []
        keys = [n.casefold() for n in names]
        with self.conn.errors("reading entries"):
            pipe = self._client.pipeline(transaction=True)
            pipe.hmget(self.store.k_values, keys)
            pipe.hmget(self.store.k_meta, keys)
            values, metas = pipe.execute()
        out: list[EntryInfo | None] = []
        for value, meta in zip(values, metas, strict=True):
            if meta is None:
                out.append(None)
                continue
            name, scope, version, when, who = _meta(meta)
            out.append(
                EntryInfo(
                    name, orjson.loads(value) if value is not None else None, tuple(scope), version, when, who
                )
            )
        return out

    def all_entries(self) -> tuple[int, list[EntryInfo]]:
        """The version and every entry, read together in one MULTI (sorted by name)."""
        with self.conn.errors("reading every entry"):
            pipe = self._client.pipeline(transaction=True)
            pipe.get(self.store.k_version)
            pipe.hgetall(self.store.k_values)
            pipe.hgetall(self.store.k_meta)
            raw_version, values, metas = pipe.execute()
        out = []
        for k, m in metas.items():
            name, scope, version, when, who = _meta(m)
            raw = values.get(k)
            out.append(
                EntryInfo(
                    name, orjson.loads(raw) if raw is not None else None, tuple(scope), version, when, who
                )
            )
        out.sort(key=lambda e: e.name.casefold())
        return (int(raw_version) if raw_version else 0), out

    # -- processes ----------------------------------------------------------------------------------

    def heartbeats(self) -> list[Heartbeat]:
        """Every process whose heartbeat key is alive (it expires a few seconds after the last beat)."""
        keys: list[bytes] = []
        with self.conn.errors("listing processes"):
            cursor = 0
            while True:
                cursor, found = self._client.scan(cursor, match=self.proc_prefix + "*", count=SCAN_COUNT)
                keys.extend(found)
                if not cursor:
                    break
            values = self._client.mget(keys) if keys else []
        out = []
        for key, data in zip(keys, values, strict=True):
            if data is None:
                continue  # expired between SCAN and MGET
            hb = Heartbeat.parse(key.decode()[len(self.proc_prefix) :], data)
            if hb is not None:
                out.append(hb)
        out.sort(key=lambda hb: (hb.started, hb.key))
        return out

    # -- lockables ----------------------------------------------------------------------------------

    def lock_names(self) -> list[str]:
        """The (casefolded) names of lockables held or waited for now, in any process, by their keys.

        A lockable nobody holds leaves no key: the heartbeats and the lock-event stream name those.
        """
        names: dict[str, None] = {}
        with self.conn.errors("listing lockables"):
            for kind in ("lock:", "lockwait:"):
                head = self.prefix + kind
                cursor = 0
                while True:
                    cursor, found = self._client.scan(cursor, match=head + "*", count=SCAN_COUNT)
                    names.update((k.decode()[len(head) :], None) for k in found)
                    if not cursor:
                        break
        return list(names)

    def lock_states(self, names: Iterable[str]) -> list[LockState]:
        """Holder and registered waiters of each named lockable, in one round trip."""
        keys = list(dict.fromkeys(n.casefold() for n in names))
        if not keys:
            return []
        p = self.prefix
        with self.conn.errors("reading lock holders"):
            pipe = self._client.pipeline(transaction=False)
            for k in keys:
                pipe.get(p + "lock:" + k)
                pipe.get(p + "lockinfo:" + k)  # the holder, in the layout that keeps it beside the token
                pipe.pttl(p + "lock:" + k)
                pipe.zrange(p + "lockwait:" + k, 0, -1)
            replies = pipe.execute()
        out = []
        for i, k in enumerate(keys):
            raw, info, pttl, waiters = replies[4 * i : 4 * i + 4]
            who = tuple(
                dict.fromkeys(_text(m).partition(" ")[2] or "?" for m in waiters)
            )  # members are "TOKEN WHO"
            out.append(LockState(k, _holder(raw, info, int(pttl or 0)), who))
        return out

    def last_use_id(self) -> str:
        """The ID of the newest lock use ("0-0" when there is none): read on from there."""
        with self.conn.errors("reading the lock-event stream"):
            newest = self._client.xrevrange(self.events_key, count=1)
        return _text(newest[0][0]) if newest else "0-0"

    def lock_uses(
        self, after: str, block: float | None = None, count: int = USES_COUNT
    ) -> tuple[str, list[LockUse]]:
        """Lock uses published after the stream ID ``after``, waiting up to ``block`` s for the first.

        Returns:
            (the ID to read on from, the uses in stream order). Processes send their uses in
            batches every quarter second, so the stream is ordered per process, not across them.
        """
        block_ms = None if block is None else max(1, int(block * 1000))
        with self.conn.errors("reading the lock-event stream"):
            reply = self._client.xread({self.events_key: after}, count=count, block=block_ms)
        raw = reply[0][1] if reply else []
        if not raw:
            return after, []
        return self._parse_range(raw)

    def recent_uses(self, seconds: float, count: int = USES_COUNT) -> tuple[str, list[LockUse]]:
        """The lock uses of about the last ``seconds`` (for a timeline that opens on history), oldest first."""
        since_ms = int((time.time() - seconds) * 1000)
        with self.conn.errors("reading the lock-event stream"):
            raw = self._client.xrevrange(self.events_key, min=f"{max(0, since_ms)}-0", count=count)
        if not raw:
            return self.last_use_id(), []
        last = _text(raw[0][0])
        _, uses = self._parse_range(list(reversed(raw)))
        return last, uses

    def _parse_range(self, raw: list[Any]) -> tuple[str, list[LockUse]]:
        uses = []
        for _rid, f in raw:
            acquired = f.get(b"acquired")
            uses.append(
                LockUse(
                    _text(f.get(b"lock")),
                    _text(f.get(b"who")),
                    _text(f.get(b"site")),
                    _float(f.get(b"requested")),
                    _float(acquired) if acquired else None,
                    _float(f.get(b"released")),
                    f.get(b"contended") == b"1",
                    int(_float(f.get(b"waiters"))),
                )
            )
        return (_text(raw[-1][0]) if raw else "0-0"), uses

    def __repr__(self) -> str:
        return f"<Fleet {self.url} namespace {self.namespace!r}>"
