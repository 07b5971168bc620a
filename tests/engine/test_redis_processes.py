"""Many processes on one Redis namespace: visibility, no lost updates, leases, kill -9, SIGSTOP and fencing."""

from __future__ import annotations

import json
import signal
import socket

import pytest

from desktop_app.engine import LockLost, LockTimeout, SharedState
from desktop_app.engine.server import Server
from tests.engine.conftest import Worker
from tests.waiting import wait_until

LEASE_MS = 1000
"""Short leases keep these tests quick; the default is 10 s."""


def _worker(
    workers: list[Worker], url: str, ns: str, role: str, *args: str, lease_ms: int = LEASE_MS
) -> Worker:
    w = Worker(url, ns, lease_ms, role, *args)
    workers.append(w)
    return w


def test_a_change_in_one_process_is_seen_by_another(redis_url: str, ns: str, workers: list[Worker]) -> None:
    state = SharedState(store=redis_url, namespace=ns)
    w = _worker(workers, redis_url, ns, "set", "from-child", json.dumps({"pid": "child", "n": [1, 2]}))
    w.expect("ready")
    assert state.get("from-child") == {"pid": "child", "n": [1, 2]}
    state.set("from-parent", ["hello", 3])
    w.send("from-parent")
    assert json.loads(w.expect("got=").removeprefix("got=")) == ["hello", 3]
    assert w.wait() == 0
    assert [r.op for r in state.changes_since(0).records] == ["set", "set"]


def test_four_processes_increment_under_a_shared_lockable_without_losing_one(
    redis_url: str, ns: str, workers: list[Worker]
) -> None:
    per_worker = 50
    state = SharedState(store=redis_url, namespace=ns)
    state.set("n", 0)
    ws = [_worker(workers, redis_url, ns, "incr", str(per_worker)) for _ in range(4)]
    for w in ws:
        w.expect("ready")
    for w in ws:
        w.send()
    for w in ws:
        w.expect("done", timeout=120)
        assert w.wait() == 0
    assert state.get("n") == 4 * per_worker


def test_get_append_touch_under_the_global_lockable_across_processes(
    redis_url: str, ns: str, workers: list[Worker]
) -> None:
    per_worker = 30
    state = SharedState(store=redis_url, namespace=ns)
    state.set("hash", {"values": []})
    ws = [_worker(workers, redis_url, ns, "append", str(per_worker)) for _ in range(3)]
    for w in ws:
        w.expect("ready")
    for w in ws:
        w.send()
    for w in ws:
        w.expect("done", timeout=120)
        assert w.wait() == 0
    values = state.get("hash")["values"]
    assert len(values) == 3 * per_worker
    assert sorted(values) == sorted(list(range(per_worker)) * 3)


def test_a_holder_killed_with_sigkill_frees_the_lock_within_its_lease(
    redis_url: str, ns: str, workers: list[Worker]
) -> None:
    server = Server(store=redis_url, namespace=ns, lease_ms=LEASE_MS)
    orders = server.lockables.new("orders")
    w = _worker(workers, redis_url, ns, "hold", "orders")
    w.expect("held")
    assert not orders.acquire(blocking=False)
    holder = orders.holder
    assert holder is not None and holder.thread == f"{socket.gethostname()}:{w.pid}/MainThread"
    w.signal(signal.SIGKILL)
    w.wait()
    # nobody releases it: the lease runs out (the key expires) and a waiter gets it
    with server.lock("orders", timeout=3 * LEASE_MS / 1000):
        assert orders.held_by_me()


def test_a_live_holder_keeps_its_lock_past_many_leases(
    redis_url: str, ns: str, workers: list[Worker]
) -> None:
    server = Server(store=redis_url, namespace=ns, lease_ms=LEASE_MS)
    w = _worker(workers, redis_url, ns, "hold-leases", "orders", "3")
    w.expect("held")
    orders = server.lockables.new("orders")
    # The holder works for three leases and then writes under the lock; the write carries its token,
    # so had its lease lapsed (and this process taken the lock) the write would fail with LockLost.
    with server.lock("orders", timeout=30):
        assert server.state.get("holder-done") is True
        assert orders.stats().contentions == 1
    w.expect("released")
    assert w.wait() == 0


def test_lock_timeout_names_the_holding_process(redis_url: str, ns: str, workers: list[Worker]) -> None:
    server = Server(store=redis_url, namespace=ns, lease_ms=LEASE_MS)
    server.lockables.new("orders")
    w = _worker(workers, redis_url, ns, "hold", "orders")
    w.expect("held")
    with pytest.raises(LockTimeout) as err, server.lock("orders", timeout=0.2):
        pass
    assert f"{socket.gethostname()}:{w.pid}/MainThread" in str(err.value)
    assert "redis_worker.py:" in str(err.value)  # the holder's code site
    assert server.lockables.get("orders").stats().timeouts == 1  # type: ignore[union-attr]
    w.send()
    w.expect("released")
    with server.lock("orders", timeout=10):  # a release wakes the waiter
        pass


def test_a_release_wakes_a_waiting_process_at_once(redis_url: str, ns: str, workers: list[Worker]) -> None:
    import threading

    # The waiter's safety-net poll (15 s) and the holder's lease (60 s) are both longer than the
    # waiter's timeout (10 s): only the release's wake-up can let it in before the timeout.
    server = Server(store=redis_url + "?socket_timeout=30", namespace=ns)
    server.state.lock_space.wait_slice = 15.0  # type: ignore[attr-defined]
    orders = server.lockables.new("orders")
    w = _worker(workers, redis_url, ns, "hold", "orders", lease_ms=60_000)
    w.expect("held")
    got: list[bool] = []

    def wait() -> None:
        ok = orders.acquire(timeout=10)
        got.append(ok)
        if ok:
            orders.release()

    waiter = threading.Thread(target=wait, name="waiter")
    waiter.start()
    client = server.state.lock_space.conn.client  # type: ignore[attr-defined]
    assert wait_until(lambda: client.zcard(orders.wait_key) == 1, timeout=10)  # it waits in Redis now
    w.send()
    waiter.join(20)
    assert got == [True]
    assert orders.stats().contentions == 1
    w.expect("released")


def test_a_holder_paused_past_its_lease_cannot_write_and_frees_nothing(
    redis_url: str, ns: str, workers: list[Worker]
) -> None:
    server = Server(store=redis_url, namespace=ns, lease_ms=LEASE_MS)
    state = server.state
    orders = server.lockables.new("orders")
    w = _worker(workers, redis_url, ns, "fenced", "orders")
    w.expect("held")
    w.signal(signal.SIGSTOP)  # the holder freezes: no renewals, its lease runs out
    try:
        assert orders.acquire(timeout=10 * LEASE_MS / 1000)
        state.set("x", "parent")
    finally:
        w.signal(signal.SIGCONT)
    try:
        w.send()  # the child wakes believing it holds the lock and writes under it
        assert w.expect("lost=") == "lost=orders"
        assert w.wait() == 0
        assert state.get("x") == "parent"  # the stale write was refused: nothing written
        # the child's release did not free this process's lock: a write fenced by it still passes
        assert orders.locked()
        with orders:
            state.set("x", "parent again")
        assert state.get("x") == "parent again"
    finally:
        orders.release()
    assert wait_until(lambda: not orders.locked())


def test_a_write_under_a_lock_lost_in_this_process_raises_lock_lost(redis_url: str, ns: str) -> None:
    server = Server(store=redis_url, namespace=ns, lease_ms=LEASE_MS)
    client = server.state.lock_space.conn.client  # type: ignore[attr-defined]
    orders = server.lockables.new("orders")
    with pytest.raises(LockLost, match="'orders'"), orders:
        # what a lease running out under a paused holder leaves: another process's token in the key
        client.set(orders.key, "another-holder")
        server.state.set("x", 1)
    assert "x" not in server.state
    assert client.get(orders.key) == b"another-holder"  # the release freed nothing
