"""The bridge thread's work (no Qt): drain the change feed, copy values under a lock try, rescan in-place edits."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from desktop_app.engine.state import EntryInfo
from desktop_app.ui.bridge.bridge_limits import (
    BRIDGE_SHARE,
    FIRST_SCREEN,
    FRAME,
    LOAD_CHUNK,
    LOCK_POLL,
    LOCK_RETRY,
    LOCK_STATUS_GAP,
    MAX_UPSERTS,
    MIN_TURN,
    SCAN_AFTER,
    STEP_TIME,
    clock,
)
from desktop_app.ui.bridge.entry_snapshot import (
    EntrySnapshot,
    LockStatus,
    Pending,
    StateDelta,
    fold,
    is_container,
)
from desktop_app.ui.bridge.inplace_rescan import INPLACE_THREAD as INPLACE_THREAD
from desktop_app.ui.bridge.inplace_rescan import InPlaceRescan
from desktop_app.ui.bridge.locked_copy import LockedCopy

if TYPE_CHECKING:
    from desktop_app.engine.server import Server


@dataclass(frozen=True, slots=True)
class Frame:
    """One hand-over to the GUI thread: a full first picture (``reset``) or a delta, with load progress."""

    reset: tuple[EntrySnapshot, ...] | None
    delta: StateDelta | None
    progress: tuple[int, int] | None
    generation: int


@dataclass(frozen=True, slots=True)
class Status:
    """Low-rate facts for the status bar: the lock, the change rate, changes pending while paused."""

    lock: LockStatus | None = None
    rate: float | None = None
    pending: int | None = None


class FeedReader(InPlaceRescan, LockedCopy):
    """Turns the engine's feed into frames. Every method but ``post`` and the flags runs on the bridge thread."""

    def __init__(self, emit_frame: Callable[[Frame], None], emit_status: Callable[[Status], None]) -> None:
        self._emit_frame = emit_frame
        self._emit_status = emit_status
        self._commands: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.acked = True
        """Set by the GUI thread when it has applied the last frame (back-pressure)."""
        self.next_frame_at = 0.0
        """Set by the GUI thread with ``acked``: no frame before this ``clock()`` time (its work budget)."""
        self.live = True
        self.pending = 0
        self.cpu_time = 0.0
        """Thread CPU seconds the bridge thread has used (read by the bench)."""
        self.wakeups = 0
        """Turns of the bridge loop: each is one wake-up of the thread (read by tests and the bench)."""
        self._listening: Any = None
        """The SharedState the wake event is registered with while the bridge sleeps until a change."""
        self.generation = 0
        self._server: Server | None = None
        self._reset_state()
        self._last_emit = -1.0
        self._next_lock_status = 0.0
        self._last_holder: tuple[Any, ...] | None = None
        self._last_lock_emit = 0.0
        self._rate_at = 0.0
        self._rate_version = 0
        self._last_pending_sent = -1
        self._rescan_at = clock()
        self._next_rescan = 0.0
        self._credit = 0.0
        self._retry_lock_at = 0.0
        self._lock_backoff = LOCK_RETRY

    def _reset_state(self) -> None:
        self._version = 0
        self._shadow: dict[str, EntrySnapshot] = {}
        self._containers: dict[str, None] = {}
        self._big: set[str] = set()
        self._dirty: dict[str, str] = {}
        self._renames: list[tuple[str, str]] = []
        self._load: list[str] | None = None
        self._load_pos = 0
        self._load_seen: set[str] | None = None
        self._hard_pending = False
        self._out_upserts: dict[str, EntrySnapshot] = {}
        self._out_removed: dict[str, str] = {}
        self._out_renamed: list[tuple[str, str]] = []
        self._rescan_order: list[str] = []
        self._rescan_pos = 0
        self._watched: tuple[str, ...] = ()
        self._watch_checked: dict[str, float] = {}
        self._recheck: dict[str, None] = {}
        """Changed in place, not yet copied (the lock was busy): first in the next rescan."""
        self._resync_when_live: bool | None = None

    # -- commands from the GUI thread ---------------------------------------------------------------

    def post(self, kind: str, payload: Any = None) -> None:
        """Queue a command (``server``, ``live``, ``watch``, ``resync``); thread-safe."""
        self._commands.put((kind, payload))

    def _drain_commands(self) -> None:
        while True:
            try:
                kind, payload = self._commands.get_nowait()
            except queue.Empty:
                return
            if kind == "server":
                self._server = payload
                self.generation += 1
                self._reset_state()
                self._begin_load(hard=True)
            elif kind == "live":
                self.live = bool(payload)
                if self.live:
                    self.pending = 0
                    self._last_pending_sent = -1
            elif kind == "watch":
                self._watched = tuple(payload)
            elif kind == "resync":
                self._begin_load(hard=False)

    # -- the loop -----------------------------------------------------------------------------------

    def run(self, stop: threading.Event, wake: threading.Event) -> None:
        """The bridge thread's body; returns when ``stop`` is set.

        Quiet means asleep: with nothing to copy the thread waits on ``wake``, which the GUI sets for
        its commands and the state sets on every change, with a timeout only for the lock-holder
        poll and the low-rate in-place rescan (a few wake-ups a second, instead of polling).
        """
        cpu0 = time.thread_time()
        try:
            while not stop.is_set():
                self.wakeups += 1
                turn, turn_cpu = clock(), time.thread_time()
                self._drain_commands()
                busy = self.step()
                now = clock()
                self._maybe_emit(now)
                self._maybe_status(now)
                cpu = time.thread_time()
                self.cpu_time = cpu - cpu0
                timeout = self._timeout(busy, now, wake)
                # Writers set the event on every change: one turn per MIN_TURN at most, and an
                # expensive turn buys a longer pause (BRIDGE_SHARE), except while a state loads.
                pace = MIN_TURN if self._load is not None else max(MIN_TURN, (cpu - turn_cpu) / BRIDGE_SHARE)
                if timeout > 0 or pace > MIN_TURN:
                    if timeout > 0:
                        wake.wait(timeout)
                    rest = turn + pace - clock()
                    if rest > 0:
                        stop.wait(rest)
                wake.clear()  # before the next turn reads state.version, so no change is missed
        finally:
            self._listen(None, wake)

    def _timeout(self, busy: bool, now: float, wake: threading.Event) -> float:
        """How long to sleep; listens for changes only when a change is the next thing to act on."""
        server = self._server
        waiting_for_change = False
        if busy:
            # More to copy (it piles up while the GUI applies the last frame, up to MAX_UPSERTS);
            # a short wait lets the GUI thread take the GIL between slices.
            timeout = 0.0005
        elif self._has_output():
            # The ack sets ``wake``; the timeout is only a safety net.
            timeout = max(0.001, max(self._last_emit + FRAME, self.next_frame_at) - now) if self.acked else 0.05
        elif self.live and (self._dirty or self._renames):
            due = max(self._last_emit + FRAME * 0.7, self._retry_lock_at, self.next_frame_at)
            timeout = 0.05 if not self.acked else due - now
        else:
            waiting_for_change = self.live and server is not None
            # step() rescans only once a frame may go out: waking sooner found nothing to do, and with
            # no sleep left the loop spun (60-90 turns/s) until the GUI's frame budget ran out.
            rescan_at = 1e9
            if self._containers and self.acked:
                rescan_at = max(self._next_rescan, self.next_frame_at, self._last_emit + FRAME * 0.7)
            timeout = max(0.0, min(self._next_lock_status, rescan_at) - now)
            timeout = min(timeout, 1.0)
        listening = self._listen(server.state if waiting_for_change and server is not None else None, wake)
        if waiting_for_change and server is not None:
            if server.state.version != self._version:
                return 0.0  # changed between the drain and the listening: no sleep
            if not listening:
                return min(timeout, FRAME)  # a state without the hook is polled, once a frame
            return timeout
        return max(0.001, timeout)

    def _listen(self, state: Any, wake: threading.Event) -> bool:
        """Have ``state`` set ``wake`` on changes (None: stop); False when it cannot. Listening only
        while idle keeps a busy bridge from being woken by every write it cannot act on before the next
        frame anyway."""
        if state is self._listening:
            return state is not None
        old, self._listening = self._listening, None
        if old is not None:
            old.remove_change_event(wake)
        add = getattr(state, "add_change_event", None)
        if add is None:
            return False
        try:
            add(wake)
        except NotImplementedError:
            # A Redis state refuses by design (its feed is the hook): StreamFeedReader follows those,
            # blocking on XREAD; should one reach this loop anyway, it is polled rather than fail.
            return False
        self._listening = state
        return True

    def step(self) -> bool:
        """Do one slice of work; True when more is waiting (a load in progress, a backlog of changes)."""
        server = self._server
        if server is None:
            return False
        self._drain_feed(server)
        if self._load is not None:
            self._load_some(server)
            return self._load is not None and len(self._out_upserts) < MAX_UPSERTS
        if not self.live:
            return False
        if self._resync_when_live is not None:
            hard, self._resync_when_live = self._resync_when_live, None
            self._begin_load(hard=hard)
            return True
        # Copy just in time: only when a frame can go out. Until then changes only mark names dirty,
        # so a key written a hundred times between two frames is copied once.
        now = clock()
        due = self.acked and now - self._last_emit >= FRAME * 0.7 and now >= self.next_frame_at
        if not due:
            return False
        if (self._dirty or self._renames) and clock() >= self._retry_lock_at:
            self._process_dirty(server)
        self._rescan(server)
        return bool(self._dirty) and clock() >= self._retry_lock_at and len(self._out_upserts) < MAX_UPSERTS

    # -- reading the feed ---------------------------------------------------------------------------

    def _drain_feed(self, server: Server) -> None:
        state = server.state
        behind = state.version - self._version
        if behind <= 0:
            return
        if self.live and self._load is None and self._shadow and behind > max(SCAN_AFTER, len(self._shadow)):
            # More changes than entries (a write-heavy workload): each entry's version says what
            # changed for less than reading every record, or than a reload once the ring overflows.
            self._scan_versions(state)
            return
        changes = state.changes_since(self._version)
        if not self.live and self._load is None:
            self.pending += max(
                len(changes.records), changes.version - self._version if changes.resync else 0
            )
        if changes.resync:
            # A clear or a replacing restore resets the tree; falling behind the ring does not: a soft
            # resync upserts everything and removes what is gone, so expansion and selection survive.
            hard = any(r.op == "reset" for r in changes.records)
            if not self.live and self._load is None:
                self._resync_when_live = hard or bool(self._resync_when_live)
                self._version = changes.version
                return
            if not hard and self._load is None and self._shadow:
                self._scan_versions(state)  # fell behind the ring: only what changed, by version
                return
            self._begin_load(hard=hard)
            return
        for r in changes.records:
            if r.op == "rename" and r.old_name:
                self._renames.append((r.old_name, r.name))
                self._dirty[fold(r.old_name)] = r.old_name
            self._dirty[fold(r.name)] = r.name
        self._version = changes.version

    def _scan_versions(self, state: Any) -> None:
        """Mark dirty every entry whose version differs from the GUI's copy, every new and every gone one.

        A clear or a replacing restore in between is seen as removals and additions (a soft resync).
        """
        version = state.version
        shadow, dirty = self._shadow, self._dirty
        seen: set[str] = set()
        for info in state.entries():
            key = fold(info.name)
            seen.add(key)
            snap = shadow.get(key)
            if snap is None or snap.version != info.version or snap.name != info.name:
                dirty[key] = info.name
        for key, snap in shadow.items():
            if key not in seen:
                dirty[key] = snap.name
        self._version = version

    def _begin_load(self, *, hard: bool) -> None:
        server = self._server
        if server is None:
            self._hard_pending = True
            return
        state = server.state
        self._start_load(state.version, state.names(), hard=hard)

    def _start_load(self, version: int, names: list[str], *, hard: bool) -> None:
        """Load ``names`` a slice per turn from ``version`` on; a hard load replaces what the GUI has."""
        self._version = version
        self._load = names
        self._load_pos = 0
        self._dirty.clear()
        self._renames.clear()
        if hard:
            self._hard_pending = True
            self._shadow.clear()
            self._containers.clear()
            self._big.clear()
            self._out_upserts.clear()
            self._out_removed.clear()
            self._out_renamed.clear()
            self._load_seen = None
        else:
            self._load_seen = set()

    def _load_chunk(self, server: Server, start: int, end: int) -> list[EntryInfo]:
        """The entries of ``self._load[start:end]`` still there."""
        assert self._load is not None
        return [info for info in map(server.state.entry, self._load[start:end]) if info is not None]

    def _load_some(self, server: Server) -> None:
        assert self._load is not None
        total = len(self._load)
        first = self._hard_pending and not self._out_upserts
        deadline = clock() + STEP_TIME
        limit = FIRST_SCREEN if first else MAX_UPSERTS
        while self._load_pos < total and len(self._out_upserts) < limit:
            start = self._load_pos
            self._load_pos = min(total, start + LOAD_CHUNK)
            infos = self._load_chunk(server, start, self._load_pos)
            for snap in self._snapshot_all(server, infos, placeholders=True):
                self._publish(snap)
                if self._load_seen is not None:
                    self._load_seen.add(snap.key)
            if (first and len(self._out_upserts) >= FIRST_SCREEN) or clock() >= deadline:
                break
        if self._load_pos >= total:
            if self._load_seen is not None:
                for key in [k for k in self._shadow if k not in self._load_seen]:
                    self._remove(key, self._shadow[key].name)
            self._load = None
            self._load_seen = None

    # -- copying values (the copy itself: LockedCopy) -----------------------------------------------

    def _publish(self, snap: EntrySnapshot) -> None:
        key = snap.key
        self._shadow[key] = snap
        self._out_upserts[key] = snap
        self._out_removed.pop(key, None)
        if is_container(snap.value) or type(snap.value) is Pending:
            self._containers[key] = None
        else:
            self._containers.pop(key, None)

    def _remove(self, key: str, name: str) -> None:
        if self._shadow.pop(key, None) is None and key not in self._out_upserts:
            return
        self._containers.pop(key, None)
        self._big.discard(key)
        self._out_upserts.pop(key, None)
        self._out_removed[key] = name

    def _process_dirty(self, server: Server) -> None:
        state = server.state
        for old, new in self._renames:
            ok, nk = fold(old), fold(new)
            if ok in self._shadow and (nk not in self._shadow or nk == ok) and state.entry(new) is not None:
                if ok == nk or state.entry(old) is None:
                    snap = self._shadow.pop(ok)
                    self._shadow[nk] = snap._replace(name=new)
                    if ok in self._containers:
                        self._containers.pop(ok)
                        self._containers[nk] = None
                    if ok in self._big:
                        self._big.discard(ok)
                        self._big.add(nk)
                    self._out_renamed.append((old, new))
                    if ok != nk:
                        self._dirty.pop(ok, None)
        self._renames.clear()
        deadline = clock() + STEP_TIME
        while self._dirty and clock() < deadline and len(self._out_upserts) < MAX_UPSERTS:
            batch: list[EntryInfo] = []
            for key in list(self._dirty)[:LOAD_CHUNK]:
                name = self._dirty.pop(key)
                info = state.entry(name)
                if info is None:
                    self._remove(key, name)
                else:
                    batch.append(info)
            for snap in self._snapshot_all(server, batch, placeholders=False):
                old = self._shadow.get(snap.key)
                if old is not None and old.same_as(snap):
                    continue  # the same version and a strictly equal copy: nothing to show
                self._publish(snap)
            if clock() < self._retry_lock_at:
                break  # the lock is busy: what is left waits for the next frame

    # -- handing over -------------------------------------------------------------------------------

    def _has_output(self) -> bool:
        return bool(self._hard_pending or self._out_upserts or self._out_removed or self._out_renamed)

    def _maybe_emit(self, now: float) -> None:
        if not self.acked or not self._has_output():
            return
        loading = self._load is not None
        if self._hard_pending:
            if loading and not self._out_upserts:
                return  # nothing copied yet: wait for the first screen rather than flash an empty tree
        elif (not self.live and not loading) or now - self._last_emit < FRAME or now < self.next_frame_at:
            return
        total = len(self._load) if self._load is not None else len(self._shadow)
        progress = (self._load_pos, total) if self._load is not None else (total, total)
        if self._hard_pending:
            frame = Frame(tuple(self._out_upserts.values()), None, progress, self.generation)
            self._hard_pending = False
        else:
            delta = StateDelta(
                upserted=tuple(self._out_upserts.values()),
                removed=tuple(self._out_removed.values()),
                version=self._version,
                renamed=tuple(self._out_renamed),
                loading=loading,
            )
            frame = Frame(None, delta, progress, self.generation)
        self._out_upserts = {}
        self._out_removed = {}
        self._out_renamed = []
        self._last_emit = now
        self.acked = False
        self._emit_frame(frame)

    def _maybe_status(self, now: float) -> None:
        server = self._server
        if server is None:
            return
        lock: LockStatus | None = None
        rate: float | None = None
        pending: int | None = None
        if now >= self._next_lock_status:
            self._next_lock_status = now + LOCK_POLL
            lockable = server.lockable
            holder = lockable.holder
            waiting = lockable.waiting()
            blocked = now < self._retry_lock_at
            key = (holder.thread, holder.since) if holder is not None else None
            # Sent when something changed, and while held (the hold's length grows); an idle lock
            # that stays idle sends nothing. At most once a second: under a busy workload the holder
            # changes at every look, and each status wakes the GUI thread.
            news = (key, waiting, blocked) != self._last_holder or holder is not None
            if news and now - self._last_lock_emit >= LOCK_STATUS_GAP:
                self._last_holder = (key, waiting, blocked)
                self._last_lock_emit = now
                lock = LockStatus(
                    holder,
                    waiting,
                    holder.held_for if holder is not None else 0.0,
                    bridge_blocked=blocked,
                )
            if not self.live and self.pending != self._last_pending_sent:
                self._last_pending_sent = self.pending
                pending = self.pending
        if now - self._rate_at >= 1.0:
            version = server.state.version
            if self._rate_at > 0:
                rate = max(0, version - self._rate_version) / (now - self._rate_at)
            self._rate_at, self._rate_version = now, version
        if lock is not None or rate is not None or pending is not None:
            self._emit_status(Status(lock, rate, pending))
