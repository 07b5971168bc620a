"""Deadlock detection: the wait-for graph (thread -> lockable -> holding thread) of live lockables, and its cycles."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from desktop_app.engine.locks import Lockable, all_lockables


@dataclass(frozen=True)
class WaitEdge:
    """One thread waiting for a lockable that another thread holds.

    ``waiting_since`` and ``held_since`` are ``locks.clock()`` times; an edge that keeps both across
    two looks is the same wait, which is how a caller tells a real deadlock from a racy read.
    """

    waiter: str
    waiter_ident: int
    lock: str
    holder: str
    holder_ident: int
    holder_site: str
    waiting_since: float
    held_since: float


@dataclass(frozen=True)
class DeadlockCycle:
    """Threads that wait for each other in a ring: ``edges[i].holder`` is ``edges[i + 1].waiter``.

    The ring starts at the thread with the lowest ident, so the same deadlock always reads the same.
    """

    edges: tuple[WaitEdge, ...]

    @property
    def threads(self) -> tuple[str, ...]:
        """The thread names in the ring, in wait order."""
        return tuple(e.waiter for e in self.edges)

    @property
    def locks(self) -> tuple[str, ...]:
        """The lockables the threads wait for, in the same order as ``threads``."""
        return tuple(e.lock for e in self.edges)

    @property
    def key(self) -> tuple[tuple[int, str, float, float], ...]:
        """Identifies this deadlock instance: the same stuck waits give the same key on every look."""
        return tuple((e.waiter_ident, e.lock, e.waiting_since, e.held_since) for e in self.edges)

    def describe(self) -> str:
        """A sentence a person can act on, e.g. "A holds 'L1' and waits for 'L2' held by B (at x.py:9); ..."."""
        parts = []
        n = len(self.edges)
        for i, e in enumerate(self.edges):
            held = self.edges[i - 1].lock if n > 1 else e.lock
            parts.append(
                f"{e.waiter} holds '{held}' and waits for '{e.lock}' held by {e.holder} (at {e.holder_site})"
            )
        return "; ".join(parts)


def wait_for_graph(lockables: Iterable[Lockable] | None = None) -> list[WaitEdge]:
    """Read who waits for whom, without taking any lock.

    Args:
        lockables: the lockables to look at; None means every live Lockable in the process.

    Returns:
        One edge per thread that waits now for a lockable held by another thread. A thread seen
        waiting on two lockables (a racy read around an acquire) keeps only its latest wait.
    """
    found: dict[int, WaitEdge] = {}
    for lock in all_lockables() if lockables is None else lockables:
        holder = lock.holder
        if holder is None:
            continue
        for ident, name, since in lock.waiting_threads():
            if ident == holder.ident:  # just acquired, not yet off the waiting list
                continue
            edge = WaitEdge(
                name, ident, lock.name, holder.thread, holder.ident, holder.site, since, holder.since
            )
            old = found.get(ident)
            if old is None or since > old.waiting_since:
                found[ident] = edge
    return list(found.values())


def find_cycles(edges: Sequence[WaitEdge]) -> list[DeadlockCycle]:
    """The rings in a wait-for graph where each thread waits for at most one lockable.

    Args:
        edges: from ``wait_for_graph``; a thread with several edges keeps its latest wait.

    Returns:
        Each ring once, starting at its lowest thread ident; sorted by that ident.
    """
    out: dict[int, WaitEdge] = {}
    for e in edges:
        old = out.get(e.waiter_ident)
        if old is None or e.waiting_since > old.waiting_since:
            out[e.waiter_ident] = e
    cycles: list[DeadlockCycle] = []
    done: set[int] = set()
    for start in sorted(out):
        path: list[int] = []
        on_path: dict[int, int] = {}
        node: int | None = start
        while node is not None and node not in done and node not in on_path:
            on_path[node] = len(path)
            path.append(node)
            edge = out.get(node)
            node = edge.holder_ident if edge is not None else None
        if node is not None and node in on_path:
            ring = path[on_path[node] :]
            first = ring.index(min(ring))
            ring = ring[first:] + ring[:first]
            cycles.append(DeadlockCycle(tuple(out[i] for i in ring)))
        done.update(path)
    return sorted(cycles, key=lambda c: c.edges[0].waiter_ident)


def detect_deadlocks(lockables: Iterable[Lockable] | None = None) -> list[DeadlockCycle]:
    """Find threads that wait for each other in a ring (a deadlock), from the lockables' holders and waiters.

    Reads without locking, so a single look can, rarely, see a ring that is coming apart; a caller
    that must be sure looks twice and compares ``DeadlockCycle.key``.

    Args:
        lockables: the lockables to look at; None means every live Lockable in the process.

    Returns:
        The rings found, as plain data; empty when there is no deadlock.

    Example:
        >>> from desktop_app.engine.locks import Lockable
        >>> detect_deadlocks([Lockable("a"), Lockable("b")])
        []
    """
    return find_cycles(wait_for_graph(lockables))
