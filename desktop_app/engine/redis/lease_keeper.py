"""The background half of a namespace's lock space: its keeper thread and what the thread does.

One keeper thread per namespace and process renews the leases of the lockables held here, sends
the wake-ups a release deferred (``WAKE_GRACE``), retries releases that failed while Redis was
unreachable, and sends lock uses to the capped lock-event stream in batches. ``LockSpace``
(``lock_space.py``) builds on it: the lockables, fencing, and taking and giving back a lock.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from desktop_app.engine.errors import StateStoreError
from desktop_app.engine.hotpath import thread_names
from desktop_app.engine.lock_records import _site
from desktop_app.engine.locks import clock
from desktop_app.engine.redis import scripts as lua
from desktop_app.engine.redis.conn import RedisConnection, identity
from desktop_app.engine.redis.store import namespace_prefix

if TYPE_CHECKING:
    from desktop_app.engine.redis.lockable import RedisLockable

# One logger for the Redis lock code, named after the module it all lived in: handlers and levels
# configured for it keep applying.
log = logging.getLogger("desktop_app.engine.redis.locks")

DEFAULT_LEASE_MS = 10_000
"""How long a lock outlives a holder that died (kill -9, a lost host); renewed every third of it."""
EVENTS_MAXLEN = 10_000
"""The lock-event stream keeps about this many uses (MAXLEN ~)."""
WAIT_SLICE = 1.0
"""The longest one BLPOP waits before a waiter tries again (a safety net; releases wake it first)."""
HOT_POLL = 0.004
"""While releases keep scheduling wake-ups, the keeper looks for due ones this often (seconds)."""
HOT_SPELL = 0.05
"""... for this long after the last one was scheduled."""
EVENTS_FLUSH = 0.25
"""Lock uses are sent to the lock-event stream in one pipeline this often (seconds)."""
WAKE_GRACE = 0.002
"""A release wakes a waiter this much later, unless the releasing process took the lock again."""


@dataclass
class _Lease:
    lock: RedisLockable
    token: str
    renewed: float  # clock() of the last successful renewal (or the acquisition)


class LeaseKeeper:
    """The keeper of one namespace's leases, deferred wake-ups, failed releases and lock events.

    The state it keeps is guarded by ``_mutex``; ``LockSpace`` shares that mutex for its own
    (held tokens, lockables). The thread starts with the first lease or event and ends when it has
    been idle for ``DEFAULT_LEASE_MS``; the next holder starts another.
    """

    def __init__(self, conn: RedisConnection, namespace: str) -> None:
        self.conn = conn
        self.namespace = namespace
        self.prefix = namespace_prefix(namespace)
        self.events_key = self.prefix + "lockevents"
        self.wake_prefix = self.prefix + "wake:"
        # a BLPOP must end before the socket timeout does
        self.wait_slice = (
            min(WAIT_SLICE, max(0.05, conn.socket_timeout / 2)) if conn.socket_timeout else WAIT_SLICE
        )
        self._mutex = threading.Lock()
        self._leases: dict[str, _Lease] = {}
        self._orphans: list[tuple[RedisLockable, str, float]] = []
        self._wakes: dict[RedisLockable, float] = {}  # deferred wake-ups: lock -> when
        self._outbox: deque[tuple[str, tuple[Any, ...]]] = deque(maxlen=EVENTS_MAXLEN)
        self._flushed_at = clock()
        self._wake = threading.Condition(self._mutex)
        self._keeper: threading.Thread | None = None
        self._keeper_next = 0.0  # when the keeper means to wake next (0: it is awake)
        self._wake_scheduled_at = -1.0
        self._release = conn.script(lua.RELEASE)
        self._extend = conn.script(lua.EXTEND)
        self._wake_script = conn.script(lua.WAKE)
        atexit.register(self._at_exit)

    def _register_ms(self) -> int:
        """How long a waiter's registration (and a lock handed to it) lasts without a retry."""
        return 2 * int(self.wait_slice * 1000) + 1000

    def _wake_ms(self) -> int:
        return int(self.wait_slice * 3000) + 1000

    # -- wake-ups and lock events ---------------------------------------------------------------

    def _send_wake(self, lock: RedisLockable) -> None:
        try:
            with self.conn.errors(f"waking a waiter of lock '{lock.name}'"):
                self._wake_script([lock.key, lock.wait_key], [self.wake_prefix, self._wake_ms()])
        except StateStoreError as err:  # waiters look again within WAIT_SLICE anyway
            log.warning("%s", err)

    def _at_exit(self) -> None:
        """Send the wake-ups still waiting for their grace to end, and the queued lock events."""
        with self._mutex:
            pending = list(self._wakes)
            self._wakes.clear()
        for lock in pending:
            self._send_wake(lock)
        self._flush_events()

    def publish(self, lock: str, raw: tuple[Any, ...]) -> None:
        """Queue one use of a lockable for the lock-event stream (the keeper sends them in batches)."""
        self._outbox.append((lock, raw))
        if len(self._outbox) == 1 or self._keeper is None:  # the keeper may be asleep for a while
            with self._mutex:
                self._ensure_keeper(self._flushed_at + EVENTS_FLUSH)

    def _flush_events(self) -> None:
        """Send the queued lock uses to the capped stream, in one pipeline (best effort)."""
        if not self._outbox:
            return
        batch = []
        while self._outbox:
            batch.append(self._outbox.popleft())
        mono, wall = clock(), time.time()
        try:
            with self.conn.errors("publishing lock events"):
                pipe = self.conn.client.pipeline(transaction=False)
                for lock, (ident, requested, acquired, released, code, lasti, contended, waiters) in batch:
                    fields = {
                        "lock": lock,
                        "who": identity(thread_names.name_of(ident, mono=requested)),
                        "site": _site(code, lasti) if acquired is not None else "",
                        "requested": repr(_wall(requested, mono, wall)),
                        "acquired": repr(_wall(acquired, mono, wall)) if acquired is not None else "",
                        "released": repr(_wall(released, mono, wall)),
                        "contended": "1" if contended else "0",
                        "waiters": str(waiters),
                    }
                    pipe.xadd(self.events_key, fields, maxlen=EVENTS_MAXLEN, approximate=True)  # type: ignore[arg-type]
                pipe.execute()
        except StateStoreError as err:
            log.debug("lock events not published: %s", err)

    # -- the lease keeper -----------------------------------------------------------------------

    def _ensure_keeper(self, due: float) -> None:
        """Have the keeper running and awake by ``due`` (called with the mutex held).

        It is woken only when ``due`` comes before the time it already meant to wake: a loop that
        takes and releases a lock thousands of times a second must not wake it each time.
        """
        if self._keeper is None:
            self._keeper_next = 0.0
            self._keeper = threading.Thread(
                target=self._keep, name=f"redis-lease-{self.namespace}", daemon=True
            )
            self._keeper.start()
        elif due < self._keeper_next:
            self._keeper_next = due
            self._wake.notify()

    def _keep(self) -> None:
        try:
            self._keep_loop()
        except BaseException:
            # a keeper that dies renews nothing: say so loudly, and let the next holder start another
            log.exception("the lease keeper of namespace '%s' stopped", self.namespace)
            with self._mutex:
                self._keeper = None
            raise

    def _keep_loop(self) -> None:
        # each lease is renewed when a third of it has passed since its last renewal
        retry = 0.5  # how often releases that failed in an outage are tried again
        while True:
            with self._mutex:
                if not self._leases and not self._orphans and not self._wakes and not self._outbox:
                    # idle: wait a while for new work, then end (a new holder starts a new keeper)
                    self._keeper_next = clock() + DEFAULT_LEASE_MS / 1000
                    self._wake.wait(DEFAULT_LEASE_MS / 1000)
                    self._keeper_next = 0.0
                    if not self._leases and not self._orphans and not self._wakes and not self._outbox:
                        self._keeper = None
                        return
                now = clock()
                due = [ls for ls in self._leases.values() if now - ls.renewed >= ls.lock.lease_ms / 3000]
                orphans = list(self._orphans)
                wakes = [lock for lock, at in self._wakes.items() if at <= now]
                for lock in wakes:
                    del self._wakes[lock]
            try:
                for lease in due:
                    self._renew(lease)
                for lock in wakes:
                    self._send_wake(lock)
                for orphan in orphans:
                    self._retry_release(orphan)
                if self._outbox and clock() - self._flushed_at >= EVENTS_FLUSH:
                    self._flushed_at = clock()
                    self._flush_events()
            except Exception:  # a bug here must not stop the renewals of every other lease
                log.exception("lease keeper of namespace '%s': one round failed", self.namespace)
            with self._mutex:
                now = clock()
                deadlines = [ls.renewed + ls.lock.lease_ms / 3000 for ls in self._leases.values()]
                deadlines += self._wakes.values()
                if self._orphans:
                    deadlines.append(now + retry)
                if self._outbox:
                    deadlines.append(self._flushed_at + EVENTS_FLUSH)
                if now - self._wake_scheduled_at < HOT_SPELL:
                    # a lock busy with waiters: poll for wake-ups rather than be woken per release
                    deadlines.append(now + HOT_POLL)
                if deadlines:
                    self._keeper_next = min(deadlines)
                    self._wake.wait(max(0.0005, self._keeper_next - now))
                    self._keeper_next = 0.0

    def _renew(self, lease: _Lease) -> None:
        lock = lease.lock
        try:
            with self.conn.errors(f"renewing the lease of lock '{lock.name}'"):
                ok = self._extend([lock.key], [lease.token, lock.lease_ms])
        except StateStoreError as err:
            left = lock.lease_ms / 1000 - (clock() - lease.renewed)
            # every failure is logged: a renewer that fails quietly lets locks expire under live holders
            log.error("%s; the lease ends in about %.1f s unless a renewal succeeds", err, max(0.0, left))
            return
        if ok == 1:
            lease.renewed = clock()
            return
        with self._mutex:
            if self._leases.get(lease.token) is not lease:
                return  # released meanwhile: the key is gone because its holder deleted it
            del self._leases[lease.token]
            lock._lease_lost = True
        log.error(
            "lock '%s' was lost: its lease ran out before it could be renewed (this process paused for "
            "longer than %.1f s?); another process may hold it. Changes made under it are refused (LockLost).",
            lock.name,
            lock.lease_ms / 1000,
        )

    def _retry_release(self, orphan: tuple[RedisLockable, str, float]) -> None:
        lock, token, until = orphan
        done = clock() >= until
        if not done:
            try:
                with self.conn.errors():
                    self._release(
                        [lock.key, lock.wait_key, lock.hungry_key],
                        [token, self.wake_prefix, self._wake_ms(), self._register_ms()],
                    )
                done = True
            except StateStoreError:
                pass
        if done:
            with self._mutex:
                if orphan in self._orphans:
                    self._orphans.remove(orphan)

    def held_leases(self) -> int:
        return len(self._leases)


def _wall(mono: float, now_mono: float, now_wall: float) -> float:
    return now_wall - (now_mono - mono)
