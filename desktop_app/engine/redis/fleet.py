"""Read-only views of a Redis namespace for a viewer (the studio): processes, lockables, lock uses, the feed.

A *fleet* is every process running on one URL and namespace. Each publishes a heartbeat
(``redis/presence.py``), takes lockables whose holders live in Redis keys, and sends its lock uses
to a capped stream (``redis_locks.py``). ``Fleet`` reads all of that without taking any lock and
without writing anything, so watching a fleet never perturbs it:

    >>> fleet = Fleet.open("redis://127.0.0.1:6379/0", "shop")   # doctest: +SKIP
    >>> [hb.key for hb in fleet.heartbeats()]                     # doctest: +SKIP
    ['web-1:4242', 'web-2:977']
    >>> fleet.lock_states(["global"])[0].holder.who               # doctest: +SKIP
    'web-2:977/timer-forever'

It also reads the change feed by blocking (``XREAD BLOCK``), so a viewer wakes on a change
instead of polling, and reads many entries in one round trip.

``heartbeat_details(server)`` is what a heartbeat says about the process's jobs and lockables
beyond their counts; ``redis.presence.Presence.record`` adds it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
import redis

from desktop_app.engine.errors import LockLost
from desktop_app.engine.locks import TimeFigures
from desktop_app.engine.redis.conn import RedisConnection
from desktop_app.engine.redis.store import RedisStore, _meta, namespace_prefix
from desktop_app.engine.store import ChangeRecord, EntryInfo

if TYPE_CHECKING:
    from desktop_app.engine.server import Server

FEED_COUNT = 20_000
"""Most change records one feed read returns (the feed keeps about 10,000)."""
USES_COUNT = 5_000
"""Most lock uses one read of the lock-event stream returns."""
SCAN_COUNT = 1_000


# -- what a heartbeat adds ------------------------------------------------------------------------


def _epoch(when: datetime | None) -> float | None:
    """A job's naive local time as seconds since the epoch (what another host can read)."""
    return when.timestamp() if when is not None else None


def _figures(f: TimeFigures) -> list[float]:
    return [f.count, f.total, f.max, f.p50, f.p99]


def job_record(kind: str, job: Any) -> dict[str, Any]:
    """One timer, schedule or route as the heartbeat publishes it (plain JSON data)."""
    rec: dict[str, Any] = {
        "kind": kind,
        "name": job.name,
        "count": job.count,
        "errors": job.errors,
        "last_error": job.last_error,
        "last_ok": job.last_ok,
        "last_run": _epoch(job.last_run),
        "last_duration": job.last_duration,
        "paused": job.paused,
    }
    if kind == "route":
        try:
            p50, p99 = job.p50, job.p99
        except RuntimeError:  # latencies appended while copied
            p50 = p99 = None
        rec.update(method=job.method, path=job.path, p50=p50, p99=p99)
        return rec
    rec.update(
        state=job.state,
        next_run=_epoch(job.next_run),
        limit=job.limit,
        completed=job.completed,
        running=job.running,
    )
    if kind == "timer":
        rec["interval"] = job.interval
    else:
        rec["crons"] = list(job.sources)
    return rec


def lock_record(lock: Any) -> dict[str, Any]:
    """One lockable's counters in this process (``stats()``), as plain JSON data."""
    st = lock.stats()
    return {
        "name": st.name,
        "acquisitions": st.acquisitions,
        "contentions": st.contentions,
        "timeouts": st.timeouts,
        "wait": _figures(st.wait),
        "hold": _figures(st.hold),
        "lost": st.thread_time_lost,
        "waiting": list(st.waiting),
        "counting": max(0.0, st.taken_at - st.since),
    }


def heartbeat_details(server: Server) -> dict[str, Any]:
    """What a heartbeat says beyond who the process is: every job in full, and every lockable's counters.

    ``jobs`` is a superset of the heartbeat's own short records (kind, name, count, errors), so a
    reader of either shape finds what it needs.
    """
    jobs = [job_record("timer", t) for t in server.timers.list()]
    jobs += [job_record("schedule", s) for s in server.schedules.list()]
    jobs += [job_record("route", r) for r in server.http.routes]
    return {"jobs": jobs, "locks": [lock_record(lk) for lk in server.all_lockables()]}


# -- what a viewer reads ----------------------------------------------------------------------------


def _time_figures(raw: Any) -> TimeFigures:
    try:
        count, total, top, p50, p99 = raw
        return TimeFigures(int(count), float(total), float(top), float(p50), float(p99))
    except (TypeError, ValueError):
        return TimeFigures()


@dataclass(frozen=True)
class LockFigures:
    """One lockable's counters in one process, as its last heartbeat gave them."""

    name: str
    acquisitions: int = 0
    contentions: int = 0
    timeouts: int = 0
    wait: TimeFigures = field(default_factory=TimeFigures)
    hold: TimeFigures = field(default_factory=TimeFigures)
    lost: float = 0.0
    waiting: tuple[str, ...] = ()
    """This process's threads waiting for it (names without the process)."""
    counting: float = 0.0
    """Seconds since its counters started."""

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> LockFigures:
        return cls(
            str(raw.get("name", "?")),
            int(raw.get("acquisitions", 0)),
            int(raw.get("contentions", 0)),
            int(raw.get("timeouts", 0)),
            _time_figures(raw.get("wait")),
            _time_figures(raw.get("hold")),
            float(raw.get("lost", 0.0)),
            tuple(str(w) for w in raw.get("waiting", ())),
            float(raw.get("counting", 0.0)),
        )


@dataclass(frozen=True)
class Heartbeat:
    """A process on the namespace, as its heartbeat key says (``key`` is ``HOST:PID``)."""

    key: str
    host: str
    pid: int
    script: str | None
    started: float
    last_seen: float
    """Seconds since the epoch, by the process's own clock."""
    jobs: tuple[dict[str, Any], ...] = ()
    locks: tuple[LockFigures, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, key: str, data: bytes) -> Heartbeat | None:
        try:
            raw = orjson.loads(data)
            return cls(
                key,
                str(raw.get("host", key.rsplit(":", 1)[0])),
                int(raw.get("pid", 0)),
                raw.get("script"),
                float(raw.get("started", 0.0)),
                float(raw.get("last_seen", 0.0)),
                tuple(j for j in raw.get("jobs", ()) if isinstance(j, dict)),
                tuple(LockFigures.parse(lk) for lk in raw.get("locks", ()) if isinstance(lk, dict)),
                raw,
            )
        except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError):
            return None


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lockable, from its Redis key: ``who`` is ``HOST:PID/THREAD``."""

    who: str
    site: str
    since: float
    """Seconds since the epoch, by the holder's clock."""
    lease_left: float
    """Seconds before the lease ends unless its holder renews it."""

    @property
    def process(self) -> str:
        """``HOST:PID`` (the heartbeat's key)."""
        return process_of(self.who)


@dataclass(frozen=True)
class LockState:
    """A lockable as Redis has it now: its holder, and the waiters registered in its wait set."""

    key: str
    """The casefolded name."""
    holder: LockHolder | None
    waiters: tuple[str, ...] = ()
    """``HOST:PID/THREAD`` of each process's waiter (one per process: its other threads queue locally)."""


@dataclass(frozen=True)
class LockUse:
    """One use of a lockable by any process, from the lock-event stream (times in seconds since the epoch)."""

    lock: str
    who: str
    site: str
    requested: float
    acquired: float | None
    """None: the wait timed out."""
    released: float
    contended: bool
    waiters: int


@dataclass(frozen=True)
class FeedNames:
    """What changed after a version, without a record object per change: a reader that only needs
    the names (to read their entries once) pays for no more."""

    version: int
    """The version of the last change read (the one asked from when nothing came)."""
    changes: list[tuple[str, str, str | None]]
    """(op, name, old name or None) in feed order."""
    gap: bool = False


@dataclass(frozen=True)
class FeedRead:
    """What one read of the change feed gave: the records after a version, or a gap (trimmed past it)."""

    records: tuple[ChangeRecord, ...]
    gap: bool = False


def process_of(who: str) -> str:
    """``HOST:PID/THREAD`` -> ``HOST:PID``."""
    return who.split("/", 1)[0]


def _holder(raw: bytes | None, info: bytes | None, pttl: int) -> LockHolder | None:
    """The holder from a lock key's value: ``TOKEN HOLDER_JSON``, or a bare token beside a ``lockinfo`` key."""
    if not raw:
        return None
    data: Any = None
    _token, sep, tail = raw.partition(b" ")
    for candidate in (tail if sep else None, info):
        if candidate:
            try:
                data = orjson.loads(candidate)
                break
            except orjson.JSONDecodeError:
                continue
    if not isinstance(data, dict):
        data = {}
    return LockHolder(
        str(data.get("who", "?")),
        str(data.get("site", "")),
        float(data.get("since", time.time())),
        max(0.0, pttl / 1000) if pttl and pttl > 0 else 0.0,
    )


def _text(value: bytes | None) -> str:
    return value.decode(errors="replace") if value is not None else ""


def _float(value: bytes | None, default: float = 0.0) -> float:
    try:
        return float(value) if value else default
    except ValueError:
        return default


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
