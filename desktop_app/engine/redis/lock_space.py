"""Lockables shared by processes and hosts through Redis: tokens, leases kept alive by their holder, fencing.

A ``RedisLockable`` is a ``Lockable`` (same API, same statistics, shown by the Locks dock) whose
outermost acquisition also takes a Redis key ``SET NX PX`` with a random token:

- In this process, threads queue on the local re-entrant lock first, so only one thread per
  process talks to Redis per lockable, and re-entrancy is counted per thread locally: only the
  outermost release deletes the key (by a compare-and-delete script: a lost lock frees nothing).
- The holder's lease is renewed every ``lease / 3`` by one keeper thread per namespace for as
  long as it holds (a live holder is never preempted); a holder that dies frees it within a lease.
- A waiter registers in the lock's wait set and blocks in ``BLPOP`` on its own wake-up list. As in
  Go's sync.Mutex, a free lock goes to whoever asks first, so a process that releases and asks
  again keeps it without a wake-up (its release wakes one waiter ``WAKE_GRACE`` later unless it
  took the lock again); a waiter that has waited ``STARVATION`` turns hungry, and the next release
  hands the lock straight to it. Waiters wake on a release, not by polling.
- Fencing: while a thread holds Redis lockables, every state change it makes carries their tokens
  and the store's script refuses it if one is no longer current (``LockLost``; nothing written).
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from threading import current_thread, get_ident
from types import TracebackType
from typing import Any, ClassVar

import orjson

from desktop_app.engine import locks as _locks
from desktop_app.engine.errors import LockLost, StateStoreError
from desktop_app.engine.locks import Holder, Lockable, clock
from desktop_app.engine.redis import scripts as lua
from desktop_app.engine.redis.conn import RedisConnection, identity
from desktop_app.engine.redis.store import namespace_prefix

log = logging.getLogger("desktop_app.engine.redis.locks")

DEFAULT_LEASE_MS = 10_000
"""How long a lock outlives a holder that died (kill -9, a lost host); renewed every third of it."""
EVENTS_MAXLEN = 10_000
"""The lock-event stream keeps about this many uses (MAXLEN ~)."""
WAIT_SLICE = 1.0
"""The longest one BLPOP waits before a waiter tries again (a safety net; releases wake it first)."""
STARVATION = 0.100
"""A waiter that has waited this long (seconds) turns hungry: the next release hands it the lock."""
HOT_POLL = 0.004
"""While releases keep scheduling wake-ups, the keeper looks for due ones this often (seconds)."""
HOT_SPELL = 0.05
"""... for this long after the last one was scheduled."""
EVENTS_FLUSH = 0.25
"""Lock uses are sent to the lock-event stream in one pipeline this often (seconds)."""
WAKE_GRACE = 0.002
"""A release wakes a waiter this much later, unless the releasing process took the lock again."""

# Lock sites are the user's code: frames in this module are skipped like those in locks.py.
_locks._SKIP_FILES.add(__file__)


class _Tokens:
    """Lock tokens: a random per-process prefix and a counter (24 hex digits; no syscall per lock)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.prefix = secrets.token_hex(8)
        self.counter = itertools.count()

    def new(self) -> str:
        return f"{self.prefix}{next(self.counter) & 0xFFFFFFFF:08x}"


_tokens = _Tokens()
_new_token = _tokens.new
_who_by_thread: dict[str, str] = {}


def _identity() -> str:
    """``HOST:PID/THREAD`` of the calling thread, cached by thread name (pool threads are renamed)."""
    name = current_thread().name
    who = _who_by_thread.get(name)
    if who is None:
        who = _who_by_thread[name] = identity(name)
    return who


def _after_fork() -> None:  # a child has another PID and must not reuse the parent's tokens
    _tokens.reset()
    _who_by_thread.clear()


os.register_at_fork(after_in_child=_after_fork)


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
        self._wakes: dict[RedisLockable, float] = {}  # deferred wake-ups: lock -> when
        self._outbox: deque[tuple[str, tuple[Any, ...]]] = deque(maxlen=EVENTS_MAXLEN)
        self._flushed_at = clock()
        self._wake = threading.Condition(self._mutex)
        self._keeper: threading.Thread | None = None
        self._keeper_next = 0.0  # when the keeper means to wake next (0: it is awake)
        self._wake_scheduled_at = -1.0
        self._acquire = conn.script(lua.ACQUIRE)
        self._release = conn.script(lua.RELEASE)
        self._extend = conn.script(lua.EXTEND)
        self._wake_script = conn.script(lua.WAKE)
        self._leave = conn.script(lua.LEAVE)
        atexit.register(self._at_exit)

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
        token = _new_token()
        who = _identity()
        value = token.encode() + b" " + orjson.dumps({"who": who, "site": site, "since": time.time()})
        member = f"{token} {who}"
        wake_key = self.wake_prefix + token
        keys = [lock.key, lock.wait_key, wake_key, lock.hungry_key]
        register_ms = self._register_ms()
        client = self.conn.client
        registered = False
        since = clock()
        hungry = False
        try:
            while True:
                with self.conn.errors(f"taking lock '{lock.name}'"):
                    reply = self._acquire(
                        keys,
                        [
                            token,
                            lock.lease_ms,
                            value,
                            member,
                            register_ms,
                            "1" if blocking else "0",
                            "1" if hungry else "0",
                            "1" if registered else "0",
                        ],
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
                if not hungry:  # look again when it turns hungry
                    hungry_at = since + STARVATION
                    hungry = clock() >= hungry_at
                    if not hungry:
                        wait = min(wait, hungry_at - clock())
                if deadline is not None:
                    left = deadline - clock()
                    if left <= 0:
                        return None
                    wait = min(wait, left)
                with self.conn.errors(f"waiting for lock '{lock.name}'"):
                    client.blpop([wake_key], timeout=max(wait, 0.001))
        finally:
            if registered:
                self._unregister(lock, token, member, wake_key)

    def _register_ms(self) -> int:
        """How long a waiter's registration (and a lock handed to it) lasts without a retry."""
        return 2 * int(self.wait_slice * 1000) + 1000

    def _wake_ms(self) -> int:
        return int(self.wait_slice * 3000) + 1000

    def _unregister(self, lock: RedisLockable, token: str, member: str, wake_key: str) -> None:
        try:
            with self.conn.errors():
                self._leave(
                    [lock.key, lock.wait_key, wake_key, lock.hungry_key],
                    [token, member, self.wake_prefix, self._wake_ms()],
                )
        except StateStoreError as err:  # the registration expires by itself
            log.debug("could not leave the wait set of '%s': %s", lock.name, err)

    def _hold(self, lock: RedisLockable, token: str) -> None:
        me = get_ident()
        with self._mutex:
            self._fences.setdefault(me, {})[lock.key] = token
            now = clock()
            self._leases[token] = _Lease(lock, token, now)
            # this process holds it again: its own release will wake the waiters
            self._wakes.pop(lock, None)
            self._ensure_keeper(now + lock.lease_ms / 3000)

    def give_back(self, lock: RedisLockable, token: str) -> bool:
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
                freed, waiters, handed = self._release(
                    [lock.key, lock.wait_key, lock.hungry_key],
                    [token, self.wake_prefix, self._wake_ms(), self._register_ms()],
                )
        except StateStoreError as err:
            log.warning("%s; it is released when Redis answers again, or when its lease ends", err)
            with self._mutex:
                self._orphans.append((lock, token, clock() + lock.lease_ms / 1000))
                self._ensure_keeper(clock())
            return True
        if freed == 1 and waiters and not handed:
            with self._mutex:
                now = clock()
                self._wakes[lock] = now + WAKE_GRACE
                self._wake_scheduled_at = now
                # a keeper already polling (a busy lock) sends it on its next round: no notify
                self._ensure_keeper(now + WAKE_GRACE + HOT_POLL)
        return bool(freed == 1)

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
                for lock, (thread, requested, acquired, released, site, contended, waiters) in batch:
                    fields = {
                        "lock": lock,
                        "who": identity(thread),
                        "site": f"{site[2]}:{site[3]}" if site else "",
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

    def remote_holder(self, lock: RedisLockable) -> Holder | None:
        """Who holds ``lock`` according to Redis (any process), as a Holder; None when free."""
        with self.conn.errors(f"reading the holder of lock '{lock.name}'"):
            raw: bytes | None = self.conn.client.get(lock.key)  # type: ignore[assignment]
        if not raw:
            return None
        try:
            info = orjson.loads(raw.split(b" ", 1)[1])
        except (IndexError, orjson.JSONDecodeError):
            info = {}
        age = max(0.0, time.time() - float(info.get("since", time.time())))
        return Holder(str(info.get("who", "?")), clock() - age, str(info.get("site", "?")), 0)

    def remote_locked(self, lock: RedisLockable) -> bool:
        with self.conn.errors(f"reading lock '{lock.name}'"):
            return bool(self.conn.client.exists(lock.key))

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
        self.wait_key = space.prefix + "lockwait:" + folded
        self.hungry_key = space.prefix + "lockhungry:" + folded
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
        self._space.publish(self.name, (current_thread().name, requested, None, now, None, True, 0))

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
        if info is not None:
            raw = (info[0], self._requested_at, self._acquired_at, now, info, self._was_contended, waiters)
            self._events.append(raw)
            self._space.publish(self.name, raw)
        token, lost = self._token, self._lease_lost
        self._token = None
        self._hold_info = None
        self._owner = 0
        self._depth = 0
        try:
            freed = self._space.give_back(self, token) if token is not None else False
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
