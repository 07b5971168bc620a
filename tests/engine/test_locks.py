"""Lockables: RLock compatibility, server.lock() targets/timeouts/check_global, contention statistics, R1."""

from __future__ import annotations

import threading
import time

import pytest

from desktop_app.engine import Lockable, LockTimeout
from desktop_app.engine.locks import Lockables
from desktop_app.engine.server import Server


def test_rlock_compatible_and_reentrant() -> None:
    lock = Lockable("x")
    assert lock.acquire() is True
    assert lock.acquire(blocking=True, timeout=1) is True  # re-entrant
    lock.release()
    assert lock.locked() and lock.held_by_me()
    lock.release()
    assert not lock.locked()
    with lock:
        with lock:
            assert lock.held_by_me()
    assert not lock.locked()
    with pytest.raises(RuntimeError):
        lock.release()
    assert lock.stats().acquisitions == 2  # re-entrant levels are not separate acquisitions


def test_released_when_body_raises() -> None:
    lock = Lockable("x")
    with pytest.raises(ValueError), lock:
        raise ValueError
    assert not lock.locked()


def _hold(lock: Lockable, held: threading.Event, release: threading.Event, name: str) -> threading.Thread:
    def run() -> None:
        with lock:
            held.set()
            release.wait(10)

    t = threading.Thread(target=run, name=name)
    t.start()
    assert held.wait(5)
    return t


def test_non_blocking_and_timeout_acquire() -> None:
    lock = Lockable("x")
    held, release = threading.Event(), threading.Event()
    t = _hold(lock, held, release, "holder-thread")
    try:
        assert lock.acquire(blocking=False) is False
        assert lock.acquire(timeout=0.05) is False
        st = lock.stats()
        assert st.timeouts == 2 and st.contentions == 2
        assert st.holder is not None and st.holder.thread == "holder-thread"
        assert "test_locks.py" in st.holder.site
    finally:
        release.set()
        t.join()
    assert lock.stats().holder is None


def test_lockables_registry_case_insensitive() -> None:
    reg = Lockables()
    a = reg.new("Orders")
    assert reg.new("ORDERS") is a
    assert reg.get("orders") is a and reg.test("oRdErS")
    assert reg.get("nope") is None
    reg.new("two")
    reg.new("three")
    reg.clear()  # Pode's Clear-PodeLockables throws with two or more: ours does not
    assert len(reg) == 0
    reg.new("x")
    reg.remove("X")
    reg.remove("X")  # removing a missing one is fine
    assert not reg.test("x")
    with pytest.raises(ValueError):
        reg.new("")


def test_server_lock_targets() -> None:
    server = Server()
    with server.lock() as g:
        assert g is server.lockable and server.lockable.held_by_me()
    named = server.lockables.new("named")
    with server.lock("NAMED") as n:
        assert n is named
    other = Lockable("mine")
    with server.lock(other) as o:
        assert o is other
    with pytest.raises(KeyError, match="nope"):
        server.lock("nope")  # Pode silently locks global here; we refuse
    with pytest.raises(TypeError):
        server.lock(5)  # type: ignore[arg-type]


def test_lock_timeout_names_lock_holder_and_duration() -> None:
    server = Server()
    held, release = threading.Event(), threading.Event()
    t = _hold(server.lockable, held, release, "timer-forever")
    try:
        with pytest.raises(LockTimeout) as info, server.lock(timeout=0.05):
            pass
        msg = str(info.value)
        assert "global" in msg and "timer-forever" in msg and "held by" in msg
        assert isinstance(info.value, TimeoutError)
        with pytest.raises(LockTimeout), server.lock(timeout=0):  # 0 tries once
            pass
    finally:
        release.set()
        t.join()


def test_check_global_waits_for_global_but_does_not_hold_it() -> None:
    server = Server()
    named = server.lockables.new("custom")
    held, release = threading.Event(), threading.Event()
    t = _hold(server.lockable, held, release, "route-1")
    try:
        # global is held: check_global times out on global
        with pytest.raises(LockTimeout, match="global"), server.lock("custom", timeout=0.05, check_global=True):
            pass
        assert not named.locked()
    finally:
        release.set()
        t.join()
    with server.lock("custom", check_global=True):
        assert named.held_by_me()
        assert not server.lockable.held_by_me()  # Pode #781: global is not held afterwards


def test_contention_statistics() -> None:
    lock = Lockable("stats")
    held, release = threading.Event(), threading.Event()
    t = _hold(lock, held, release, "holder")
    waited = threading.Event()

    def waiter() -> None:
        waited.set()
        with lock:
            pass

    w = threading.Thread(target=waiter, name="waiter")
    w.start()
    assert waited.wait(5)
    # wait until the waiter is registered as waiting (an event, not a sleep)
    for _ in range(2000):
        if lock.stats().waiting == ("waiter",):
            break
        threading.Event().wait(0.001)
    assert lock.stats().waiting == ("waiter",)
    release.set()
    t.join()
    w.join()
    st = lock.stats()
    assert st.acquisitions == 2
    assert st.contentions == 1
    assert st.wait.count == 1 and st.wait.total > 0 and st.wait.max >= st.wait.p50 > 0
    assert st.hold.count == 2 and st.hold.max > 0 and st.hold.p99 <= st.hold.max
    assert st.thread_time_lost == pytest.approx(st.wait.total)
    assert st.waiting == () and st.holder is None
    assert 0 < st.contention_pct <= 100
    events = list(lock.events)
    assert [e.thread for e in events] == ["holder", "waiter"]
    assert events[1].contended and events[1].acquired is not None
    assert events[1].requested <= events[1].acquired <= events[1].released
    lock.reset_stats()
    st = lock.stats()
    assert st.acquisitions == 0 and st.contentions == 0 and not lock.events


def test_slow_wait_keeps_stacks() -> None:
    lock = Lockable("slow")
    lock.slow_wait_threshold = 0.0
    held, release = threading.Event(), threading.Event()
    t = _hold(lock, held, release, "holder")
    try:
        assert lock.acquire(timeout=0.02) is False
    finally:
        release.set()
        t.join()
    slow = list(lock.slow_waits)
    assert slow and slow[-1].timed_out and slow[-1].holder == "holder"
    assert any("test_slow_wait_keeps_stacks" in line for line in slow[-1].waiter_stack)
    assert slow[-1].holder_stack  # the holder's stack at that moment


def test_stats_is_plain_frozen_data() -> None:
    lock = Lockable("plain")
    with lock:
        st = lock.stats()
    with pytest.raises(AttributeError):
        st.acquisitions = 5  # type: ignore[misc]
    assert st.holder is not None and st.holder.thread == threading.current_thread().name


def test_r1_no_lost_updates_under_server_lock() -> None:
    server = Server()
    server.state.set("n", 0)
    per_thread, n_threads = 20_000, 8

    def work() -> None:
        for _ in range(per_thread):
            with server.lock():
                server.state.set("n", server.state.get("n") + 1)

    threads = [threading.Thread(target=work, name=f"inc-{i}") for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert server.state.get("n") == per_thread * n_threads
    st = server.lockable.stats()
    assert st.acquisitions == per_thread * n_threads


def test_an_observer_use_is_counted_apart_and_never_waits() -> None:
    lock = Lockable("global")
    with lock:
        pass
    assert lock.try_acquire_apart()
    holder = lock.holder
    assert holder is not None and holder.thread == threading.current_thread().name
    lock.release_apart()
    assert lock.holder is None and not lock.locked()

    taken = threading.Event()
    done = threading.Event()

    def user() -> None:
        with lock:
            taken.set()
            done.wait(5)

    t = threading.Thread(target=user, name="user-1")
    t.start()
    assert taken.wait(5)
    started = time.monotonic()
    assert not lock.try_acquire_apart(), "held by user-1: the observer gives up at once"
    assert time.monotonic() - started < 0.5
    done.set()
    t.join(5)

    st = lock.stats()
    assert (st.acquisitions, st.contentions, st.timeouts) == (2, 0, 0), "only the users' two uses"
    assert st.hold.count == 2
    assert (st.observer_acquisitions, st.observer_busy) == (1, 1)
    assert st.observer_hold >= 0.0
    assert [e.thread for e in lock.events] == [threading.current_thread().name, "user-1"]
    lock.reset_stats()
    assert (lock.stats().observer_acquisitions, lock.stats().observer_busy) == (0, 0)


def test_a_user_waiting_behind_an_observer_waits_for_real() -> None:
    lock = Lockable("global")
    assert lock.try_acquire_apart()
    got = threading.Event()
    t = threading.Thread(target=lambda: (lock.acquire(), got.set(), lock.release()), name="user-2")
    t.start()
    deadline = time.monotonic() + 5
    while not lock.waiting() and time.monotonic() < deadline:
        time.sleep(0.001)
    assert lock.waiting() == ("user-2",)
    lock.release_apart()
    assert got.wait(5)
    t.join(5)
    st = lock.stats()
    assert (st.acquisitions, st.contentions, st.observer_acquisitions) == (1, 1, 1)
