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

The code lives in three modules, re-exported here: ``lockable.py`` (``RedisLockable``),
``lock_space.py`` (``LockSpace``: the lockables of a namespace, taking and giving back their keys)
and ``lease_keeper.py`` (the keeper thread: lease renewals, deferred wake-ups, lock events).
"""

from __future__ import annotations

from desktop_app.engine.redis.lease_keeper import (
    DEFAULT_LEASE_MS,
    EVENTS_FLUSH,
    EVENTS_MAXLEN,
    HOT_POLL,
    HOT_SPELL,
    WAIT_SLICE,
    WAKE_GRACE,
    LeaseKeeper,
)
from desktop_app.engine.redis.lock_space import STARVATION, LockSpace
from desktop_app.engine.redis.lockable import RedisLockable

__all__ = [
    "DEFAULT_LEASE_MS",
    "EVENTS_FLUSH",
    "EVENTS_MAXLEN",
    "HOT_POLL",
    "HOT_SPELL",
    "STARVATION",
    "WAIT_SLICE",
    "WAKE_GRACE",
    "LeaseKeeper",
    "LockSpace",
    "RedisLockable",
]
