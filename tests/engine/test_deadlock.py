"""Deadlock detection: a real two-lock deadlock is found (threads and locks named), broken, and not confused with contention."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from desktop_app.engine.deadlock import DeadlockCycle, WaitEdge, detect_deadlocks, find_cycles, wait_for_graph
from desktop_app.engine.locks import Lockable


def _poll(cond: Callable[[], object], timeout: float = 5.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.005)
    raise AssertionError("condition not met in time")


@contextmanager
def _deadlock(
    l1: Lockable, l2: Lockable, *, a_timeout: float = 5.0, b_timeout: float = 1.0
) -> Iterator[dict[str, bool]]:
    """A holds L1 and wants L2; B holds L2 and wants L1. B gives up after ``b_timeout``, which breaks it."""
    a_has, b_has = threading.Event(), threading.Event()
    result: dict[str, bool] = {}

    def run_a() -> None:
        with l1:
            a_has.set()
            b_has.wait(5)
            got = l2.acquire(timeout=a_timeout)
            result["a"] = got
            if got:
                l2.release()

    def run_b() -> None:
        with l2:
            b_has.set()
            a_has.wait(5)
            got = l1.acquire(timeout=b_timeout)
            result["b"] = got
            if got:
                l1.release()

    ta = threading.Thread(target=run_a, name="worker-a")
    tb = threading.Thread(target=run_b, name="worker-b")
    ta.start()
    tb.start()
    try:
        yield result
    finally:
        ta.join(10)
        tb.join(10)
        assert not ta.is_alive() and not tb.is_alive()


def test_two_lock_deadlock_is_found_then_gone_once_broken() -> None:
    l1, l2 = Lockable("L1"), Lockable("L2")
    with _deadlock(l1, l2) as result:
        cycles = _poll(lambda: detect_deadlocks([l1, l2]))
        assert isinstance(cycles, list) and len(cycles) == 1
        cycle = cycles[0]
        assert set(cycle.threads) == {"worker-a", "worker-b"}
        assert set(cycle.locks) == {"L1", "L2"}
        # each thread waits for the lock the other one holds
        for edge in cycle.edges:
            assert edge.holder != edge.waiter
            assert edge.lock == ("L2" if edge.waiter == "worker-a" else "L1")
        text = cycle.describe()
        assert "worker-a holds 'L1' and waits for 'L2' held by worker-b" in text
        assert "worker-b holds 'L2' and waits for 'L1' held by worker-a" in text
        # the same stuck waits read the same on a second look; the default looks at every lockable
        again = [c for c in detect_deadlocks() if set(c.locks) == {"L1", "L2"}]
        assert [c.key for c in again] == [cycle.key]
    # B's timeout fired and broke it: A then got L2
    assert result == {"a": True, "b": False}
    assert detect_deadlocks([l1, l2]) == []
    assert l1.stats().timeouts == 1


def test_plain_contention_is_not_a_deadlock() -> None:
    lock = Lockable("busy")
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with lock:
            held.set()
            release.wait(5)

    def waiter() -> None:
        with lock:
            pass

    th = threading.Thread(target=holder, name="holder")
    tw = threading.Thread(target=waiter, name="waiter")
    th.start()
    assert held.wait(5)
    tw.start()
    try:
        _poll(lambda: lock.waiting())
        edges = wait_for_graph([lock])
        assert [(e.waiter, e.lock, e.holder) for e in edges] == [("waiter", "busy", "holder")]
        assert detect_deadlocks([lock]) == []
    finally:
        release.set()
        th.join(5)
        tw.join(5)
    assert wait_for_graph([lock]) == []


def _edge(waiter: int, lock: str, holder: int, since: float = 1.0) -> WaitEdge:
    return WaitEdge(f"t{waiter}", waiter, lock, f"t{holder}", holder, "x.py:1", since, 0.5)


def test_find_cycles_three_way_ring_and_chain() -> None:
    # t3 -> t1 -> t2 -> t3 is a ring; t4 waits on the ring without being in it; t5 -> t6 is a chain
    edges = [_edge(3, "C", 1), _edge(1, "A", 2), _edge(2, "B", 3), _edge(4, "A", 2), _edge(5, "D", 6)]
    cycles = find_cycles(edges)
    assert len(cycles) == 1
    assert cycles[0].threads == ("t1", "t2", "t3")  # starts at the lowest ident
    assert cycles[0].locks == ("A", "B", "C")
    assert isinstance(cycles[0], DeadlockCycle)


def test_find_cycles_keeps_only_the_latest_wait_of_a_thread() -> None:
    # a stale read shows t1 waiting on two locks; only the newer wait counts, and it makes no ring
    edges = [_edge(1, "A", 2, since=1.0), _edge(2, "B", 1), _edge(1, "C", 3, since=2.0)]
    assert find_cycles(edges) == []
    assert len(find_cycles(edges[:2])) == 1
