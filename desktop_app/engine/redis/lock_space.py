"""LockSpace: the Redis lockables of one namespace in this process, and taking and giving back their keys.

The protocol is described in ``redis/locks.py``; the keeper thread that renews leases and sends
deferred wake-ups and lock events is ``lease_keeper.py``.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import threading
import time
from threading import current_thread, get_ident
from typing import ClassVar

import orjson

from desktop_app.engine.errors import LockLost, StateStoreError
from desktop_app.engine.locks import Holder, clock
from desktop_app.engine.redis import scripts as lua
from desktop_app.engine.redis.conn import RedisConnection, identity
from desktop_app.engine.redis.lease_keeper import DEFAULT_LEASE_MS, HOT_POLL, WAKE_GRACE, LeaseKeeper, _Lease
from desktop_app.engine.redis.lockable import RedisLockable

# the Redis lock code's one logger (see lease_keeper.py)
log = logging.getLogger("desktop_app.engine.redis.locks")

STARVATION = 0.100
"""A waiter that has waited this long (seconds) turns hungry: the next release hands it the lock."""


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


class LockSpace(LeaseKeeper):
    """The Redis lockables of one namespace in this process: the lockables by name, the tokens each
    thread holds (for fencing), and the keeper thread that renews their leases.

    One per (URL, namespace) in a process, so every ``server.lockable``, ``server.lock()``,
    ``server.lockables`` and ``state.edit()`` on it shares one owner record per lockable, and every
    state on it sees the tokens its threads hold. A lockable keeps the lease it was created with.
    """

    _open: ClassVar[dict[tuple[int, str], LockSpace]] = {}
    _open_mutex: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, conn: RedisConnection, namespace: str) -> None:
        super().__init__(conn, namespace)
        self._locks: dict[str, RedisLockable] = {}
        self._by_key: dict[str, RedisLockable] = {}
        self._fences: dict[int, dict[str, str]] = {}
        self._acquire = conn.script(lua.ACQUIRE)
        self._leave = conn.script(lua.LEAVE)

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

    def __repr__(self) -> str:
        return f"<LockSpace {self.conn.url} namespace {self.namespace!r}>"
