"""RedisLockable: a Lockable shared through Redis by every process on one namespace (see ``redis/locks.py``).

Threads of this process queue on the local lock first; the outermost acquisition then takes the
Redis key through the namespace's ``LockSpace``, and the outermost release gives it back. Not a hot
path: acquire and release stay Python on both hot paths, built on the core's ``_wait_lock``,
``_took``, ``_release_held`` and ``_unlock`` (``hotpath``), so the statistics are Lockable's own.
"""

from __future__ import annotations

import logging
from threading import current_thread, get_ident
from types import TracebackType
from typing import TYPE_CHECKING

from desktop_app.engine import hotpath
from desktop_app.engine import locks as _locks
from desktop_app.engine.errors import LockLost, StateStoreError
from desktop_app.engine.hotpath import thread_names
from desktop_app.engine.lock_records import _site, _to_holder
from desktop_app.engine.locks import Holder, Lockable, clock
from desktop_app.engine.redis.lease_keeper import DEFAULT_LEASE_MS

if TYPE_CHECKING:
    from desktop_app.engine.redis.lock_space import LockSpace

# the Redis lock code's one logger (see lease_keeper.py)
log = logging.getLogger("desktop_app.engine.redis.locks")

# Lock sites are the user's code: frames in this module are skipped like those in locks.py.
hotpath.skip_frames_in(__file__)


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
            return super().acquire()  # one more level: the hot path only counts it
        thread_names.note()  # the hot path's own acquire, which notes new owners, is bypassed here
        requested = clock()
        deadline = None if timeout is None or timeout < 0 else requested + timeout
        contended = False
        if not self._wait_lock(0):
            contended = True
            if not blocking:
                self._note_failed(me, requested, requested, stacks=False)
                return False
            self._waiting[me] = (current_thread().name, requested)
            try:
                got = self._wait_lock(-1.0 if deadline is None else max(0.0, deadline - clock()))
            finally:
                self._waiting.pop(me, None)
            if not got:
                self._give_up(me, requested)
                return False
        # The local lock is taken (unrecorded); now the Redis key.
        code, lasti = _locks._caller_site()
        self._contended_remote = False
        self._lease_lost = False
        self._waiting[me] = (current_thread().name, requested)
        try:
            token = self._space.take(self, blocking, deadline, _site(code, lasti))
        except BaseException:
            self._unlock()
            raise
        finally:
            self._waiting.pop(me, None)
        if token is None:
            self._unlock()
            self._give_up(me, requested)
            return False
        self._token = token
        now = clock()
        contended = contended or self._contended_remote
        self._took(me, requested, now, code, lasti, contended)
        if contended and now - requested >= self.slow_wait_threshold:
            self._keep_slow_wait(current_thread().name, now - requested, now, None, timed_out=False)
        return True

    __enter__ = acquire

    def _give_up(self, me: int, requested: float) -> None:
        now = clock()
        self._note_failed(me, requested, now, stacks=True)
        self._space.publish(self.name, (me, requested, None, now, None, -1, True, 0))

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
        # The hold and its event are recorded now; the local lock stays taken until the key is gone,
        # so this process's next holder does not queue on Redis behind its own release.
        self._space.publish(self.name, self._release_held())
        token, lost = self._token, self._lease_lost
        self._token = None
        try:
            freed = self._space.give_back(self, token) if token is not None else False
        finally:
            self._unlock()
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
        raw = self._hold_raw()
        if raw is not None:
            return _to_holder(raw)
        try:
            return self._space.remote_holder(self)
        except StateStoreError as err:
            log.debug("holder of '%s' unknown: %s", self.name, err)
            return None

    def __repr__(self) -> str:
        return f"<RedisLockable {self.name!r} on {self._space.conn.url} namespace {self._space.namespace!r}>"
