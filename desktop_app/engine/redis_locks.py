"""Lockables shared by processes and hosts through Redis: tokens, leases kept alive by their holder, fencing.

A ``RedisLockable`` is a ``Lockable`` (same API, same statistics, shown by the Locks dock) whose
outermost acquisition also takes a Redis key ``SET NX PX`` with a random token:

- In this process, threads queue on the local re-entrant lock first, so only one thread per
  process talks to Redis per lockable, and re-entrancy is counted per thread locally: only the
  outermost release deletes the key (by a compare-and-delete script: a lost lock frees nothing).
- The holder's lease is renewed every ``lease / 3`` by one keeper thread per namespace for as
  long as it holds (a live holder is never preempted); a holder that dies frees it within a lease.
- A waiter registers in the lock's wait set and blocks in ``BLPOP`` on its own wake-up list; a
  release pushes to the longest-registered waiter, so waiters wake at once rather than polling.
- Fencing: while a thread holds Redis lockables, every state change it makes carries their tokens
  and the store's script refuses it if one is no longer current (``LockLost``; nothing written).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from threading import current_thread, get_ident
from types import TracebackType
from typing import Any, ClassVar

import orjson

from desktop_app.engine import locks as _locks
from desktop_app.engine import redis_scripts as lua
from desktop_app.engine.errors import LockLost, StateStoreError
from desktop_app.engine.locks import Holder, Lockable, clock
from desktop_app.engine.redis_conn import RedisConnection, identity
from desktop_app.engine.redis_store import namespace_prefix

log = logging.getLogger("desktop_app.engine.redis_locks")

DEFAULT_LEASE_MS = 10_000
"""How long a lock outlives a holder that died (kill -9, a lost host); renewed every third of it."""
EVENTS_MAXLEN = 10_000
"""The lock-event stream keeps about this many uses (MAXLEN ~)."""
WAIT_SLICE = 1.0
"""The longest one BLPOP waits before a waiter tries again (a safety net; releases wake it first)."""

# Lock sites are the user's code: frames in this module are skipped like those in locks.py.
_locks._SKIP_FILES.add(__file__)


@dataclass
class _Lease:
    lock: RedisLockable
    token: str
    renewed: float  # clock() of the last successful renewal (or the acquisition)


class LockSpace:
    """The Redis lockables of one namespace in this process: the lockables by name, the tokens each
    thread holds (for fencing), and the keeper thread that renews their leases.

    One per (URL, namespace) in a process, so every ``server.lockable``, ``server.lock()``,
    ``server.lockables`` and ``state.edit()`` on it shares one owner record per lockable, and every
    state on it sees the tokens its threads hold. A lockable keeps the lease it was created with.
    """

    _open: ClassVar[dict[tuple[int, str], LockSpace]] = {}
    _open_mutex: ClassVar[threading.Lock] = threading.Lock()

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
        self._locks: dict[str, RedisLockable] = {}
        self._by_key: dict[str, RedisLockable] = {}
        self._fences: dict[int, dict[str, str]] = {}
        self._leases: dict[str, _Lease] = {}
        self._orphans: list[tuple[RedisLockable, str, float]] = []
        self._wake = threading.Condition(self._mutex)
        self._keeper: threading.Thread | None = None
        self._acquire = conn.script(lua.ACQUIRE)
        self._release = conn.script(lua.RELEASE)
        self._extend = conn.script(lua.EXTEND)

    @classmethod
    def open(cls, conn: RedisConnection, namespace: str) -> LockSpace:
        key = (id(conn), namespace)  # connections live as long as the process
        with cls._open_mutex:
            space = cls._open.get(key)
            if space is None:
                space = cls._open[key] = cls(conn, namespace)
            return space

    def lockable(self, name: str, lease_ms: int | None = None) -> RedisLockable:
        """The process's lockable called ``name`` in this namespace (names are case-insensitive).

        Args:
            name: the lockable's name.
            lease_ms: its lease when it is created here (default 10 s); an existing one keeps its own.
        """
        if not name:
            raise ValueError("a lockable needs a name")
        lease = DEFAULT_LEASE_MS if lease_ms is None else lease_ms
        if not isinstance(lease, int) or isinstance(lease, bool) or lease < 100:
            raise ValueError(f"lease_ms must be an int of at least 100 (ms), got {lease_ms!r}")
        key = name.casefold()
        with self._mutex:
            found = self._locks.get(key)
            if found is None:
                found = self._locks[key] = RedisLockable(name, self, lease)
                self._by_key[found.key] = found
            return found

    # -- fencing ----------------------------------------------------------------------------------

    def fences(self) -> dict[str, str] | None:
        """The lock keys and tokens the calling thread holds in this namespace, or None."""
        return self._fences.get(get_ident())

    def lost(self, lock_key: str) -> LockLost:
        """The LockLost for a refused write; the lock is marked lost so its release says so too."""
        lock = self._by_key.get(lock_key)
        if lock is None:
            return LockLost(lock_key.removeprefix(self.prefix + "lock:"))
        lock._lease_lost = True
        return LockLost(lock.name)

    # -- taking and giving back -----------------------------------------------------------------

    def take(self, lock: RedisLockable, blocking: bool, deadline: float | None, site: str) -> str | None:
        """Take the Redis key for ``lock``; the token, or None when not taken in time (or at once)."""
        token = secrets.token_hex(12)
        who = identity()
        info = orjson.dumps({"who": who, "site": site, "since": time.time()})
        member = f"{token} {who}"
        wake_key = self.wake_prefix + token
        keys = [lock.key, lock.info_key, lock.wait_key, wake_key]
        slice_ms = int(self.wait_slice * 1000)
        register_ms = 2 * slice_ms + 1000
        client = self.conn.client
        registered = False
        try:
            while True:
                with self.conn.errors(f"taking lock '{lock.name}'"):
                    reply = self._acquire(
                        keys, [token, lock.lease_ms, info, member, register_ms, "1" if blocking else "0"]
                    )
                if reply[0] == 1:
                    registered = False
                    self._hold(lock, token)
                    return token
                lock._contended_remote = True
                if not blocking:
                    return None
                registered = True
                wait = self.wait_slice
                pttl = int(reply[2])
                if pttl > 0:  # wake when the holder's lease would end, if no release comes first
                    wait = min(wait, pttl / 1000 + 0.002)
                if deadline is not None:
                    left = deadline - clock()
                    if left <= 0:
                        return None
                    wait = min(wait, left)
                with self.conn.errors(f"waiting for lock '{lock.name}'"):
                    client.blpop([wake_key], timeout=max(wait, 0.001))
        finally:
            if registered:
                self._unregister(lock, member, wake_key)

    def _unregister(self, lock: RedisLockable, member: str, wake_key: str) -> None:
        try:
            with self.conn.errors():
                pipe = self.conn.client.pipeline(transaction=False)
                pipe.zrem(lock.wait_key, member)
                pipe.delete(wake_key)
                pipe.execute()
        except StateStoreError as err:  # the registration expires by itself
            log.debug("could not leave the wait set of '%s': %s", lock.name, err)

    def _hold(self, lock: RedisLockable, token: str) -> None:
        me = get_ident()
        with self._mutex:
            self._fences.setdefault(me, {})[lock.key] = token
            self._leases[token] = _Lease(lock, token, clock())
            self._ensure_keeper()

    def give_back(self, lock: RedisLockable, token: str, event: list[Any]) -> bool:
        """Delete the key if ``token`` still holds it (and publish the use); False when it was lost.

        A connection error does not fail the release: the key is released in the background once
        Redis answers again, or its lease ends.
        """
        me = get_ident()
        with self._mutex:
            held = self._fences.get(me)
            if held is not None:
                held.pop(lock.key, None)
                if not held:
                    del self._fences[me]
            self._leases.pop(token, None)
        try:
            with self.conn.errors(f"releasing lock '{lock.name}'"):
                freed = self._release(
                    [lock.key, lock.info_key, lock.wait_key, self.events_key],
                    [token, self.wake_prefix, int(self.wait_slice * 3000) + 1000, EVENTS_MAXLEN, *event],
                )
        except StateStoreError as err:
            log.warning("%s; it is released when Redis answers again, or when its lease ends", err)
            with self._mutex:
                self._orphans.append((lock, token, clock() + lock.lease_ms / 1000))
                self._ensure_keeper()
            return True
        return bool(freed == 1)

    def publish_timeout(self, event: list[Any]) -> None:
        """Record a wait that timed out in the lock-event stream (best effort)."""
        try:
            with self.conn.errors():
                self.conn.client.xadd(
                    self.events_key,
                    dict(zip(event[::2], event[1::2], strict=True)),
                    maxlen=EVENTS_MAXLEN,
                    approximate=True,
                )
        except StateStoreError as err:
            log.debug("could not publish a lock timeout: %s", err)

    def remote_holder(self, lock: RedisLockable) -> Holder | None:
        """Who holds ``lock`` according to Redis (any process), as a Holder; None when free."""
        with self.conn.errors(f"reading the holder of lock '{lock.name}'"):
            raw = self.conn.client.get(lock.info_key)
        if not raw:
            return None
        info = orjson.loads(raw)
        age = max(0.0, time.time() - float(info.get("since", time.time())))
        return Holder(str(info.get("who", "?")), clock() - age, str(info.get("site", "?")), 0)

    def remote_locked(self, lock: RedisLockable) -> bool:
        with self.conn.errors(f"reading lock '{lock.name}'"):
            return bool(self.conn.client.exists(lock.key))

    # -- the lease keeper -----------------------------------------------------------------------

    def _ensure_keeper(self) -> None:
        # called with the mutex held
        if self._keeper is None:
            self._keeper = threading.Thread(
                target=self._keep, name=f"redis-lease-{self.namespace}", daemon=True
            )
            self._keeper.start()
        else:
            self._wake.notify()

    def _keep(self) -> None:
        # each lease is renewed when a third of it has passed since its last renewal
        retry = 0.5  # how often releases that failed in an outage are tried again
        while True:
            with self._mutex:
                if not self._leases and not self._orphans:
                    # idle: wait a while for new work, then end (a new holder starts a new keeper)
                    self._wake.wait(DEFAULT_LEASE_MS / 1000)
                    if not self._leases and not self._orphans:
                        self._keeper = None
                        return
                now = clock()
                due = [ls for ls in self._leases.values() if now - ls.renewed >= ls.lock.lease_ms / 3000]
                orphans = list(self._orphans)
            for lease in due:
                self._renew(lease)
            for orphan in orphans:
                self._retry_release(orphan)
            with self._mutex:
                if self._leases or self._orphans:
                    soonest = min(
                        (ls.renewed + ls.lock.lease_ms / 3000 for ls in self._leases.values()),
                        default=clock() + retry,
                    )
                    if self._orphans:
                        soonest = min(soonest, clock() + retry)
                    self._wake.wait(max(0.005, soonest - clock()))

    def _renew(self, lease: _Lease) -> None:
        lock = lease.lock
        try:
            with self.conn.errors(f"renewing the lease of lock '{lock.name}'"):
                ok = self._extend([lock.key, lock.info_key], [lease.token, lock.lease_ms])
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
                        [lock.key, lock.info_key, lock.wait_key, self.events_key],
                        [token, self.wake_prefix, int(self.wait_slice * 3000) + 1000, EVENTS_MAXLEN],
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

    def __repr__(self) -> str:
        return f"<LockSpace {self.conn.url} namespace {self.namespace!r}>"


def _wall(mono: float, now_mono: float, now_wall: float) -> float:
    return now_wall - (now_mono - mono)


class RedisLockable(Lockable):
    """A lockable shared by every process on the same Redis namespace (see the module docstring).

    Same API as ``Lockable``; ``stats()`` counts this process's uses, and ``holder`` names a holder
    in another process as ``HOST:PID/THREAD``.

    Raises (besides Lockable's):
        StateStoreError: Redis cannot be reached while taking the lock (nothing is held then).
        LockLost: from ``release()`` when the lease ran out under this holder: nothing was freed.
    """

    def __init__(self, name: str, space: LockSpace, lease_ms: int = DEFAULT_LEASE_MS) -> None:
        super().__init__(name)
        self._space = space
        self.lease_ms = lease_ms
        """How long the lock outlives a holder that died; renewed every third of it while held."""
        folded = name.casefold()
        self.key = space.prefix + "lock:" + folded
        self.info_key = space.prefix + "lockinfo:" + folded
        self.wait_key = space.prefix + "lockwait:" + folded
        self._token: str | None = None
        self._lease_lost = False
        self._contended_remote = False

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Acquire across processes, re-entrant per thread; False when not acquired in time."""
        me = get_ident()
        if self._owner == me:
            self._lock.acquire()
            self._depth += 1
            return True
        requested = clock()
        deadline = None if timeout is None or timeout < 0 else requested + timeout
        contended = False
        if not self._lock.acquire(False):
            contended = True
            if not blocking:
                self._note_failed(me, requested, requested, stacks=False)
                return False
            self._waiting[me] = (current_thread().name, requested)
            try:
                got = self._lock.acquire(True, -1 if deadline is None else max(0.0, deadline - clock()))
            finally:
                self._waiting.pop(me, None)
            if not got:
                self._failed(me, requested)
                return False
        file, line = _locks._caller_frame()
        self._contended_remote = False
        self._lease_lost = False
        self._waiting[me] = (current_thread().name, requested)
        try:
            token = self._space.take(self, blocking, deadline, f"{file}:{line}")
        except BaseException:
            self._lock.release()
            raise
        finally:
            self._waiting.pop(me, None)
        if token is None:
            self._lock.release()
            self._failed(me, requested)
            return False
        self._token = token
        self._on_acquired(me, requested, clock(), contended=contended or self._contended_remote)
        return True

    __enter__ = acquire

    def _failed(self, me: int, requested: float) -> None:
        now = clock()
        self._note_failed(me, requested, now, stacks=True)
        wall = time.time()
        self._space.publish_timeout(
            [
                "lock",
                self.name,
                "who",
                identity(),
                "site",
                "",
                "requested",
                repr(_wall(requested, now, wall)),
                "acquired",
                "",
                "released",
                repr(wall),
                "contended",
                "1",
                "waiters",
                "0",
            ]
        )

    def release(self) -> None:
        """Release one level; the outermost deletes the Redis key if this holder still owns it.

        Raises:
            RuntimeError: not held by this thread.
            LockLost: the lease had run out and another process may hold the lock; nothing was freed.
        """
        if self._owner != get_ident():
            raise RuntimeError(f"cannot release lock '{self.name}': not held by this thread")
        if self._depth > 1:
            self._depth -= 1
            self._lock.release()
            return
        now = clock()
        held = now - self._acquired_at
        self._hold.add(held)
        info = self._hold_info
        waiters = len(self._waiting)
        event: list[Any] = []
        if info is not None:
            self._events.append(
                (info[0], self._requested_at, self._acquired_at, now, info, self._was_contended, waiters)
            )
            wall = time.time()
            event = [
                "lock",
                self.name,
                "who",
                identity(info[0]),
                "site",
                f"{info[2]}:{info[3]}",
                "requested",
                repr(_wall(self._requested_at, now, wall)),
                "acquired",
                repr(_wall(self._acquired_at, now, wall)),
                "released",
                repr(wall),
                "contended",
                "1" if self._was_contended else "0",
                "waiters",
                str(waiters),
            ]
        token, lost = self._token, self._lease_lost
        self._token = None
        self._hold_info = None
        self._owner = 0
        self._depth = 0
        try:
            freed = self._space.give_back(self, token, event) if token is not None else False
        finally:
            self._lock.release()
        if not freed or lost:
            raise LockLost(self.name, "its release freed nothing (the lock belongs to whoever holds it now)")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.release()
        except LockLost as lost:
            if exc_type is None:
                raise
            # the block's own error goes on; this one is only logged
            log.error("%s", lost)

    def locked(self) -> bool:
        """Held by any thread of any process (asks Redis unless a thread here holds it)."""
        return self._owner != 0 or self._space.remote_locked(self)

    @property
    def holder(self) -> Holder | None:
        """The holder: a thread here, else whoever Redis says (``HOST:PID/THREAD``), else None."""
        info = self._hold_info
        if info is not None:
            return _locks._to_holder(info)
        try:
            return self._space.remote_holder(self)
        except StateStoreError as err:
            log.debug("holder of '%s' unknown: %s", self.name, err)
            return None

    def __repr__(self) -> str:
        return f"<RedisLockable {self.name!r} on {self._space.conn.url} namespace {self._space.namespace!r}>"
