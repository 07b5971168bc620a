"""Watching a fleet: a "fleet" thread reads heartbeats, lock holders and lock uses; the GUI gets immutable samples.

The thread sleeps in Redis on the lock-event stream (``XREAD BLOCK``) until a use arrives or the
next look at the holders (4 Hz) or heartbeats (1 Hz) is due; it never takes a lock and writes
nothing. Each sample reaches the GUI thread through a queued signal, and the next one is sent only
once the GUI applied it. There ``FleetMonitor`` keeps:

- ``processes``: every process seen on the namespace, alive or stopped (a process whose heartbeat
  has not changed for ``STALE`` seconds, or whose heartbeat key is gone, stopped beating);
- ``lockables()``: ``FleetLockable``s the Locks dock reads like its own lockables.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal

from desktop_app.engine.errors import StateStoreError
from desktop_app.engine.locks import clock
from desktop_app.engine.redis.fleet import Fleet, Heartbeat, LockFigures, LockState, LockUse, ProcessBeat
from desktop_app.engine.redis.presence import INTERVAL
from desktop_app.ui.bridge.entry_snapshot import LockStatus
from desktop_app.ui.bridge.fleet_locks import FleetLockable

if TYPE_CHECKING:
    from desktop_app.engine.server import Server

log = logging.getLogger("desktop_app.ui.bridge.fleet_monitor")

HEARTBEATS_EVERY = 1.0
"""Seconds between two reads of the heartbeats (each process beats every 2 s)."""
HOLDERS_EVERY = 0.25
"""Seconds between two reads of the holders and waiters."""
STALE = 2.5 * INTERVAL
"""A heartbeat unchanged for this long means its process stopped beating."""
HISTORY = 60.0
"""Seconds of lock uses read when attaching, so the timeline does not open empty."""
JOIN_TIMEOUT = 5.0


@dataclass(frozen=True)
class ProcessInfo(ProcessBeat):
    """A process of the fleet as the studio knows it: its heartbeat, and whether it still beats."""

    silent_for: float
    """Seconds since this studio last saw its heartbeat change."""
    gone: bool
    """Its heartbeat key is gone (it stopped cleanly, or the key expired)."""
    jobs: tuple[dict[str, Any], ...] = ()
    locks: tuple[LockFigures, ...] = ()
    holding: tuple[str, ...] = ()
    """Lockables one of its threads holds now."""

    @property
    def alive(self) -> bool:
        return not self.gone and self.silent_for < STALE

    @property
    def status(self) -> str:
        return "alive" if self.alive else "stopped"


@dataclass(frozen=True)
class FleetSample:
    """One look at the fleet, handed from the fleet thread to the GUI thread."""

    heartbeats: tuple[Heartbeat, ...] | None
    states: tuple[LockState, ...] | None
    uses: tuple[LockUse, ...]
    wall: float
    clock: float
    ok: bool = True
    error: str = ""


@dataclass
class _Seen:
    beat: Heartbeat
    changed_at: float
    gone: bool = False
    holding: tuple[str, ...] = field(default_factory=tuple)


class FleetMonitor(QObject):
    """The processes and lockables of the namespace a server is attached to (see the module docstring)."""

    updated = Signal()
    """A sample was applied (GUI thread): read ``processes`` and ``lockables()``."""
    processes_changed = Signal(object)
    """``tuple[ProcessInfo, ...]`` whenever a process appears, changes or stops beating."""

    _sample_ready = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._acked = threading.Event()
        self._fleet: Fleet | None = None
        self._seen: dict[str, _Seen] = {}
        self._locks: dict[str, FleetLockable] = {}
        self.processes: tuple[ProcessInfo, ...] = ()
        self.samples = 0
        self.ok = True
        self._paused_at: float | None = None  # Redis unreachable since: what we know of processes holds still
        self._grace_until = 0.0
        self._sample_ready.connect(self._apply, Qt.ConnectionType.QueuedConnection)

    # -- lifecycle ----------------------------------------------------------------------------------

    @property
    def attached(self) -> bool:
        return self._fleet is not None

    def attach(self, server: Server) -> None:
        """Watch the namespace of ``server`` (a server on Redis); forgets what it watched before."""
        self.detach()
        state: Any = server.state
        self._fleet = Fleet(state.lock_space.conn, state.namespace)
        self._stop = threading.Event()
        self._acked.set()
        self._thread = threading.Thread(
            target=self._run, args=(self._fleet, self._stop), name="fleet", daemon=True
        )
        self._thread.start()

    def detach(self) -> None:
        """Stop watching; the thread ends within one blocking read (it is not joined on the GUI thread)."""
        self._stop.set()
        self._acked.set()
        self._thread = None
        self._fleet = None
        self._seen.clear()
        self._locks.clear()
        if self.processes:
            self.processes = ()
            self.processes_changed.emit(())
        self.updated.emit()

    def stop(self) -> None:
        """Detach and wait for the thread (at shutdown)."""
        thread = self._thread
        self.detach()
        if thread is not None:
            thread.join(JOIN_TIMEOUT)

    # -- reading ------------------------------------------------------------------------------------

    def lockables(self) -> list[FleetLockable]:
        """Every lockable of the namespace: global first, then by name."""
        return sorted(self._locks.values(), key=lambda lk: (lk.key != "global", lk.key))

    def lockable(self, name: str) -> FleetLockable:
        key = name.casefold()
        found = self._locks.get(key)
        if found is None:
            found = self._locks[key] = FleetLockable(name)
        return found

    def process(self, key: str) -> ProcessInfo | None:
        return next((p for p in self.processes if p.key == key), None)

    def global_status(self) -> LockStatus:
        """The global lockable for the status bar: its holder anywhere in the fleet, and its waiters."""
        lock = self._locks.get("global")
        if lock is None:
            return LockStatus(None, (), 0.0)
        holder = lock.holder
        return LockStatus(holder, lock.waiting(), holder.held_for if holder is not None else 0.0)

    # -- the fleet thread ---------------------------------------------------------------------------

    def _run(self, fleet: Fleet, stop: threading.Event) -> None:
        after: str | None = None
        names: dict[str, None] = {"global": None}
        uses: list[LockUse] = []
        beats: tuple[Heartbeat, ...] | None = None
        states: tuple[LockState, ...] | None = None
        next_beats = next_states = 0.0
        failures = 0
        while not stop.is_set():
            try:
                if after is None:
                    after, old = fleet.recent_uses(HISTORY)
                    uses.extend(old)
                now = clock()
                if now >= next_beats:
                    beats = tuple(fleet.heartbeats())
                    next_beats = now + HEARTBEATS_EVERY
                    for hb in beats:
                        names.update((lk.name.casefold(), None) for lk in hb.locks)
                    names.update((n, None) for n in fleet.lock_names())  # held by a process with no heartbeat
                if now >= next_states:
                    names.update((u.lock.casefold(), None) for u in uses)
                    states = tuple(fleet.lock_states(names))
                    next_states = now + HOLDERS_EVERY
                if failures:
                    failures = 0
                    self._send(FleetSample(beats, states, (), time.time(), clock()))
                if (beats is not None or states is not None or uses) and self._acked.is_set():
                    self._acked.clear()
                    self._send(FleetSample(beats, states, tuple(uses), time.time(), clock()))
                    beats, states, uses = None, None, []
                wait = max(0.001, min(next_beats, next_states) - clock())
                after, more = fleet.lock_uses(after, block=wait)  # sleeps in Redis until a use or `wait`
                uses.extend(more)
                if len(uses) > 50_000:  # the GUI is far behind: the newest matter
                    del uses[:-50_000]
            except StateStoreError as err:
                failures += 1
                if failures == 1:
                    log.info("fleet: %s; retrying", err)
                    self._send(FleetSample(None, None, (), time.time(), clock(), ok=False, error=err.reason))
                stop.wait(min(4.0, 0.25 * 2 ** min(failures, 5)))
            except Exception:  # a bug must show in the log, and must not end the watching
                log.exception("the fleet thread failed; going on")
                stop.wait(1.0)

    def _send(self, sample: FleetSample) -> None:
        if not self._stop.is_set():
            try:
                self._sample_ready.emit((self._fleet, sample))
            except RuntimeError:  # the monitor was deleted meanwhile (the window closed)
                self._stop.set()

    # -- applying (GUI thread) ----------------------------------------------------------------------

    def _apply(self, item: tuple[Fleet | None, FleetSample]) -> None:
        fleet, sample = item
        try:
            if fleet is None or fleet is not self._fleet:
                return  # from a fleet no longer watched
            self.samples += 1
            self.ok = sample.ok
            now = clock()
            if not sample.ok:
                # An outage says nothing about the processes: their rows hold still until Redis
                # answers, rather than all turning "stopped" for want of heartbeats.
                self._paused_at = self._paused_at or now
                return
            if self._paused_at is not None:
                for seen in self._seen.values():
                    seen.changed_at += now - self._paused_at
                self._paused_at = None
                # a Redis restarted empty has no heartbeat keys until each process beats again
                self._grace_until = now + 1.5 * INTERVAL
            offset = sample.clock - sample.wall  # epoch seconds -> clock()
            if sample.heartbeats is not None:
                self._take_beats(sample.heartbeats, now)
            alive = {key: (not s.gone and now - s.changed_at < STALE) for key, s in self._seen.items()}
            for lk in self._locks.values():
                lk.set_alive(alive)
            if sample.states is not None:
                holding: dict[str, list[str]] = {}
                for st in sample.states:
                    lk = self.lockable(st.key)
                    lk.set_state(st, offset, alive)
                    if st.holder is not None:
                        holding.setdefault(st.holder.process, []).append(lk.name)
                for key, seen in self._seen.items():
                    seen.holding = tuple(holding.get(key, ()))
            for use in sample.uses:
                self.lockable(use.lock).add_use(use, offset)
            for lk in self._locks.values():
                lk.settle()
            self._publish_processes(now)
            self.updated.emit()
        finally:
            self._acked.set()

    def _take_beats(self, beats: tuple[Heartbeat, ...], now: float) -> None:
        present = set()
        for hb in beats:
            present.add(hb.key)
            seen = self._seen.get(hb.key)
            if seen is None or seen.beat.last_seen != hb.last_seen:
                self._seen[hb.key] = _Seen(hb, now, False, seen.holding if seen else ())
            else:
                seen.gone = False
            for lf in hb.locks:
                lk = self.lockable(lf.name)
                if lk.name == lk.key and lf.name != lk.key:
                    lk.name = lf.name  # first seen by its folded key: take the name as written
                lk.set_figures(hb.key, lf, hb.last_seen)
        for key, seen in self._seen.items():
            if key not in present and now >= self._grace_until:
                seen.gone = True

    def _publish_processes(self, now: float) -> None:
        infos = tuple(
            ProcessInfo(
                key,
                s.beat.host,
                s.beat.pid,
                s.beat.script,
                s.beat.started,
                s.beat.last_seen,
                # shown in whole seconds, so a table row changes once a second, not every sample
                float(int(now - s.changed_at)),
                s.gone,
                s.beat.jobs,
                s.beat.locks,
                s.holding,
            )
            for key, s in self._seen.items()
        )
        if infos != self.processes:
            self.processes = infos
            self.processes_changed.emit(infos)
