"""RedisLockable: a Lockable shared through Redis by every process on one namespace (see ``redis/locks.py``).

Threads of this process queue on the local re-entrant lock first; the outermost acquisition then
takes the Redis key through the namespace's ``LockSpace``, and the outermost release gives it back.
"""

from __future__ import annotations

import logging
from threading import current_thread, get_ident
from types import TracebackType
from typing import TYPE_CHECKING

from desktop_app.engine import locks as _locks
from desktop_app.engine.errors import LockLost, StateStoreError
from desktop_app.engine.locks import Holder, Lockable, clock
from desktop_app.engine.redis.lease_keeper import DEFAULT_LEASE_MS

if TYPE_CHECKING:
    from desktop_app.engine.redis.lock_space import LockSpace

# the Redis lock code's one logger (see lease_keeper.py)
log = logging.getLogger("desktop_app.engine.redis.locks")

# Lock sites are the user's code: frames in this module are skipped like those in locks.py.
_locks._SKIP_FILES.add(__file__)


class RedisLockable(Lockable):
    """A lockable shared by every process on the same Redis namespace (see ``redis/locks.py``).

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
        if self._owner != get_ident() or self._depth > 1:
            # not held here (Lockable raises the RuntimeError), or an inner level: nothing in Redis
            super().release()
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
