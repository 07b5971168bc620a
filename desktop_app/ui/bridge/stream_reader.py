"""The bridge thread's work for a state on Redis: the change feed read by blocking (XREAD BLOCK), entries read in batches.

``FeedReader`` follows an in-process state: it sleeps on the state's change event, compares
``state.version`` (a free read) when woken, and copies containers under a try of the global lockable
that never waits. On Redis both would be wrong: a Redis state has no change event (it refuses
``add_change_event``: its feed is the hook), a version check is a round trip, and the global lockable
is the fleet's (the studio would queue behind every process's timers). So this reader, which
replaces ``FeedReader.run`` and never listens for change events,

- sleeps *in Redis*: one ``XREAD BLOCK`` on the namespace's feed returns as soon as any process
  changes anything (or after ``BLOCK`` with nothing, to look at its commands);
- reads every changed entry of a frame in one round trip, and a (re)load in one ``MULTI``
  (values from Redis are fresh objects: no lock is needed to copy them, none is taken);
- reloads softly (upserts plus removals: the tree keeps its expansion) when the feed was trimmed
  past it, and after an outage;
- survives Redis going away: it reports the connection lost, retries with a growing pause, and
  resyncs when Redis answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from desktop_app.engine.errors import StateStoreError
from desktop_app.engine.redis.fleet import FeedNames, Fleet
from desktop_app.engine.store import EntryInfo
from desktop_app.ui.bridge.entry_snapshot import EntrySnapshot, fold
from desktop_app.ui.bridge.feed_reader import (
    FRAME,
    STEP_TIME,
    FeedReader,
    Frame,
    Status,
    clock,
)

if TYPE_CHECKING:
    from desktop_app.engine.server import Server

log = logging.getLogger("desktop_app.ui.bridge.stream_reader")

BLOCK = 0.25
"""The longest one blocking read of the feed waits; a change ends it at once. Commands from the GUI
(pause, resync, detach) are looked at between two reads, so this is also how long they may wait."""
DIRTY_BATCH = 256
"""Changed entries read in one round trip, and the most a live delta carries: the GUI applies a delta
in one go (about 70 µs an entry), so a small one keeps the event loop free; what is left goes in the
next frame (a key changed again meanwhile is read once)."""
RETRY_FIRST = 0.25
RETRY_MAX = 4.0
"""After an outage the reader tries again after RETRY_FIRST, doubling up to RETRY_MAX seconds."""
IDLE_CHECK = 5.0
"""With nothing on the feed for this long, the version is read once: a namespace emptied by hand
(or a Redis restarted empty between two reads) is noticed, and reloaded."""


@dataclass(frozen=True, slots=True)
class Connection:
    """The reader's link to Redis, as the GUI shows it: up, or lost with the reason and when it retries."""

    ok: bool
    url: str
    text: str = ""
    retry_in: float = 0.0
    attempts: int = 0


class StreamFeedReader(FeedReader):
    """A FeedReader for a server whose state is on Redis (see the module docstring).

    ``emit_connection(Connection)`` is called on the bridge thread when the link is lost or back.
    """

    def __init__(
        self,
        emit_frame: Callable[[Frame], None],
        emit_status: Callable[[Status], None],
        emit_connection: Callable[[Connection], None],
    ) -> None:
        super().__init__(emit_frame, emit_status)
        self._emit_connection = emit_connection
        self.connected = True
        """False from a failed call until Redis answers again (read by the GUI thread: a plain bool)."""
        self._fleet: Fleet | None = None
        self._fleet_of: Any = None
        self._buffered: FeedNames | None = None
        self._load_infos: list[EntryInfo] = []
        self._hard_reload = False
        self._retry_at = 0.0
        self._retry_delay = RETRY_FIRST
        self._attempts = 0
        self._quiet_since = clock()
        self._watched_keys: tuple[tuple[str, ...], list[str]] = ((), [])
        self.reads = 0
        """Blocking feed reads made (a test checks they are not a fixed-rate poll)."""
        self.reloads = 0
        """Reloads of every entry: attaching, reconnecting, falling behind a trimmed feed (the bench reports it)."""

    # -- Redis --------------------------------------------------------------------------------------

    def fleet(self, server: Server) -> Fleet:
        if self._fleet is None or self._fleet_of is not server:
            state: Any = server.state
            self._fleet = Fleet(state.lock_space.conn, state.namespace)
            self._fleet_of = server
        return self._fleet

    # -- the loop -----------------------------------------------------------------------------------

    def run(self, stop: threading.Event, wake: threading.Event) -> None:
        """The bridge thread's body; returns when ``stop`` is set."""
        cpu0 = time.thread_time()
        while not stop.is_set():
            try:
                if not self.connected:
                    self._reconnect(wake)
                    continue
                self._drain_commands()
                busy = self.step()
                now = clock()
                self._maybe_emit(now)
                self._maybe_status(now)
                self.cpu_time = time.thread_time() - cpu0
                if busy:
                    wake.wait(0.0005)
                elif self._has_output():
                    # a frame is waiting for its turn or for the GUI: changes pile up in Redis meanwhile
                    due = max(self._last_emit + FRAME, self.next_frame_at)
                    wake.wait(max(0.001, due - now) if self.acked else 0.05)
                elif self._server is None:
                    wake.wait(BLOCK)
                else:
                    self._wait_for_changes()
                wake.clear()
            except StateStoreError as err:
                if stop.is_set():
                    return  # told to stop (detached, or the window closed): nobody to tell
                self._lost(err)

    def _wait_for_changes(self) -> None:
        """Sleep in Redis until a change (or BLOCK seconds); what it read is used by the next step."""
        server = self._server
        assert server is not None
        fleet = self.fleet(server)
        self.reads += 1
        read = fleet.changed_after(self._version, block=BLOCK)
        if read.changes or read.gap:
            self._buffered = read
            self._quiet_since = clock()
        elif clock() - self._quiet_since >= IDLE_CHECK:
            self._quiet_since = clock()
            if fleet.version() < self._version:  # emptied by hand, or restarted empty unnoticed
                self._begin_load(hard=False)

    def _lost(self, err: StateStoreError) -> None:
        self._attempts += 1
        self._retry_at = clock() + self._retry_delay
        retry_in = self._retry_delay
        self._retry_delay = min(RETRY_MAX, self._retry_delay * 2)
        first = self.connected
        self.connected = False
        self._buffered = None
        if first:
            log.warning("%s; retrying", err)
        self._emit_connection(Connection(False, self._url(), err.reason, retry_in, self._attempts))

    def _reconnect(self, wake: threading.Event) -> None:
        now = clock()
        if now < self._retry_at:
            wake.wait(min(BLOCK, self._retry_at - now))
            wake.clear()
            return
        self._drain_commands_offline()
        server = self._server
        if server is None:
            self.connected = True
            return
        version = self.fleet(server).version()  # raises while Redis is still away
        log.info("Redis answers again (%s, version %d); reloading", self._url(), version)
        self.connected = True
        self._retry_delay = RETRY_FIRST
        self._attempts = 0
        self._emit_connection(Connection(True, self._url()))
        self._begin_load(hard=self._hard_reload)

    def _drain_commands_offline(self) -> None:
        """Commands while Redis is away: a new server or a resync only mark the reload to do once back."""
        try:
            self._drain_commands()
        except StateStoreError:
            pass  # _begin_load noted what it could not do

    def _url(self) -> str:
        server = self._server
        return str(getattr(server, "store", "") or "")

    # -- reading the feed ---------------------------------------------------------------------------

    def _drain_feed(self, server: Server) -> None:
        read, self._buffered = self._buffered, None
        if read is None:
            read = self.fleet(server).changed_after(self._version)
        if read.gap:
            # Trimmed past us (we fell behind by a whole feed): reload softly, keeping the tree's shape.
            if not self.live and self._load is None:
                self._resync_when_live = bool(self._resync_when_live)
                self.pending += 1
                self._version = self.fleet(server).version()
                return
            self._begin_load(hard=False)
            return
        changes = read.changes
        if not changes:
            return
        if not self.live and self._load is None:
            self.pending += len(changes)
        if any(op == "reset" for op, _, _ in changes):
            if not self.live and self._load is None:
                self._resync_when_live = True
                self._version = read.version
                return
            self._begin_load(hard=True)
            return
        dirty = self._dirty
        for op, name, old in changes:
            if op == "rename" and old:
                self._renames.append((old, name))
                dirty[fold(old)] = old
            dirty[fold(name)] = name
        self._version = read.version

    def _begin_load(self, *, hard: bool) -> None:
        server = self._server
        if server is None:
            self._hard_pending = True
            return
        try:
            version, infos = self.fleet(server).all_entries()  # one consistent MULTI
        except StateStoreError:
            self._hard_reload = self._hard_reload or hard
            raise
        self._hard_reload = False
        self.reloads += 1
        self._buffered = None
        self._load_infos = infos
        self._start_load(version, [info.name for info in infos], hard=hard)

    def _load_chunk(self, server: Server, start: int, end: int) -> list[EntryInfo]:
        return self._load_infos[start:end]  # read whole in _begin_load's one MULTI

    def _load_some(self, server: Server) -> None:
        super()._load_some(server)
        if self._load is None:
            self._load_infos = []

    # -- copying values -----------------------------------------------------------------------------

    def _snapshot_all(
        self, server: Server, infos: list[EntryInfo], *, placeholders: bool
    ) -> list[EntrySnapshot]:
        # Values decoded from Redis belong to this thread alone: the GUI may have them as they are.
        return [EntrySnapshot(i.name, i.value, i.scope, i.version, i.time, i.thread) for i in infos]

    def _process_dirty(self, server: Server) -> None:
        fleet = self.fleet(server)
        if self._renames:
            names = list(dict.fromkeys(n for pair in self._renames for n in pair))
            found = {fold(n): info for n, info in zip(names, fleet.entries(names), strict=True)}
            for old, new in self._renames:
                ok, nk = fold(old), fold(new)
                if ok in self._shadow and (nk not in self._shadow or nk == ok) and found.get(nk) is not None:
                    if ok == nk or found.get(ok) is None:
                        snap = self._shadow.pop(ok)
                        self._shadow[nk] = snap._replace(name=new)
                        if ok in self._containers:
                            self._containers.pop(ok)
                            self._containers[nk] = None
                        self._out_renamed.append((old, new))
                        if ok != nk:
                            self._dirty.pop(ok, None)
            self._renames.clear()
        deadline = clock() + STEP_TIME
        first = self._on_screen_first()
        while self._dirty and clock() < deadline and len(self._out_upserts) < DIRTY_BATCH:
            keys = (
                (first + [k for k in self._dirty if k not in first])[:DIRTY_BATCH]
                if first
                else list(self._dirty)[:DIRTY_BATCH]
            )
            first = []
            names = [self._dirty[k] for k in keys]
            infos = fleet.entries(names)  # may raise: the names stay dirty for after the outage
            for key, name, info in zip(keys, names, infos, strict=True):
                self._dirty.pop(key, None)
                if info is None:
                    self._remove(key, name)
                    continue
                snap = EntrySnapshot(info.name, info.value, info.scope, info.version, info.time, info.thread)
                old = self._shadow.get(snap.key)
                if old is not None and old.same_as(snap):
                    continue
                self._publish(snap)

    def _on_screen_first(self) -> list[str]:
        """The dirty keys the view shows (on screen or expanded): read first, so under a load the GUI
        cannot absorb at once, what a person looks at is up to date and the rest catches up."""
        watched = self._watched
        if not watched or len(self._dirty) <= DIRTY_BATCH:
            return []
        if self._watched_keys[0] is not watched:
            self._watched_keys = (watched, [fold(n) for n in watched])
        return [k for k in self._watched_keys[1] if k in self._dirty]

    def _rescan(self, server: Server) -> None:
        """Nothing to rescan: a value in Redis changes only through a change the feed records."""

    # -- status -------------------------------------------------------------------------------------

    def _maybe_status(self, now: float) -> None:
        # The lock status comes from the fleet monitor (it reads every lockable's holder already).
        rate: float | None = None
        pending: int | None = None
        if not self.live and self.pending != self._last_pending_sent and now >= self._next_lock_status:
            self._next_lock_status = now + 0.2
            self._last_pending_sent = pending = self.pending
        if now - self._rate_at >= 1.0:
            if self._rate_at > 0:
                rate = max(0, self._version - self._rate_version) / (now - self._rate_at)
            self._rate_at, self._rate_version = now, self._version
        if rate is not None or pending is not None:
            self._emit_status(Status(None, rate, pending))
