"""Fleet: the read-only view of a namespace a viewer uses (processes, lock holders, lock uses, the feed)."""

from __future__ import annotations

import os
import socket
import threading

from desktop_app.engine import SharedState
from desktop_app.engine.redis.fleet import Fleet, process_of
from desktop_app.engine.server import Server
from tests.engine.conftest import Worker
from tests.waiting import wait_until


def test_a_running_server_is_listed_with_its_jobs_and_lock_counters(redis_url: str, ns: str) -> None:
    server = Server(store=redis_url, namespace=ns)
    ticked = threading.Event()

    def tick(e: object) -> None:
        with server.lockable:
            server.state.set("n", 1)
        ticked.set()

    server.add_timer("tick", 0.05, tick)
    server.lockables.new("orders")
    fleet = Fleet.open(redis_url, ns)
    with server:
        assert ticked.wait(5)
        assert wait_until(
            lambda: any(j["count"] > 0 for hb in fleet.heartbeats() for j in hb.jobs), timeout=10
        )
        (hb,) = fleet.heartbeats()
    assert hb.key == f"{socket.gethostname()}:{os.getpid()}" and hb.pid == os.getpid()
    (job,) = hb.jobs
    assert job["kind"] == "timer" and job["name"] == "tick" and job["interval"] == 0.05
    assert job["state"] in ("waiting", "running") and job["next_run"] is not None
    locks = {lk.name: lk for lk in hb.locks}
    assert set(locks) == {"global", "orders"} and locks["global"].acquisitions >= 1
    # a stopped server deletes its heartbeat
    assert fleet.heartbeats() == []


def test_a_holder_in_another_process_and_its_waiters(redis_url: str, ns: str, workers: list[Worker]) -> None:
    holder = Worker(redis_url, ns, 10_000, "hold", "orders")
    workers.append(holder)
    holder.expect("held")
    fleet = Fleet.open(redis_url, ns)
    assert "orders" in fleet.lock_names()  # found by its key, though its holder has no heartbeat
    (st,) = fleet.lock_states(["Orders"])
    assert st.key == "orders" and st.holder is not None
    assert st.holder.who.startswith(f"{socket.gethostname()}:{holder.pid}/")
    assert process_of(st.holder.who) == f"{socket.gethostname()}:{holder.pid}"
    assert 0 < st.holder.lease_left <= 10 and st.holder.site.endswith(
        ".py:" + st.holder.site.rsplit(":", 1)[1]
    )
    # a waiter here registers in Redis while the other process holds it
    server = Server(store=redis_url, namespace=ns)
    lock = server.lockables.new("orders")
    got: list[bool] = []
    checked = threading.Event()

    def wait_then_release() -> None:
        got.append(lock.acquire(True, 10))
        checked.wait(10)
        if got[0]:
            lock.release()

    waiter = threading.Thread(target=wait_then_release, name="fleet-waiter")
    waiter.start()
    assert wait_until(
        lambda: any(w.endswith("/fleet-waiter") for w in fleet.lock_states(["orders"])[0].waiters)
    )
    holder.send()
    holder.expect("released")
    assert wait_until(lambda: got == [True])
    (st,) = fleet.lock_states(["orders"])
    assert (
        st.holder is not None and st.holder.who.endswith(f":{os.getpid()}/fleet-waiter") and st.waiters == ()
    )
    checked.set()
    waiter.join(10)
    assert fleet.lock_states(["orders"])[0].holder is None


def test_lock_uses_arrive_on_the_stream(redis_url: str, ns: str) -> None:
    fleet = Fleet.open(redis_url, ns)
    start = fleet.last_use_id()
    server = Server(store=redis_url, namespace=ns)
    for _ in range(3):
        with server.lockable:
            pass
    uses: list = []
    after = start

    def more() -> bool:
        nonlocal after
        after, got = fleet.lock_uses(after, block=0.5)
        uses.extend(got)
        return len(uses) >= 3

    assert wait_until(more, timeout=10)
    u = uses[0]
    assert u.lock == "global" and u.who.endswith("/MainThread") and u.acquired is not None
    assert u.requested <= u.acquired <= u.released
    _, recent = fleet.recent_uses(60)
    assert len(recent) >= 3


def test_the_feed_is_read_by_blocking_and_a_trimmed_feed_is_a_gap(redis_url: str, ns: str) -> None:
    state = SharedState(store=redis_url, namespace=ns, ring_size=50)
    fleet = Fleet.open(redis_url, ns)
    v0 = fleet.version()
    got: list = []
    reader = threading.Thread(target=lambda: got.append(fleet.feed_after(v0, block=5)), name="feed-reader")
    reader.start()
    state.set("a", 1)  # wakes the blocked read
    reader.join(6)
    assert [(r.op, r.name) for r in got[0].records] == [("set", "a")] and not got[0].gap
    for i in range(300):  # far beyond the feed's cap: the record after v0 is gone
        state.set("b", i)
    assert fleet.feed_after(v0).gap
    assert fleet.feed_after(fleet.version()).records == ()


def test_entries_are_read_many_at_once(redis_url: str, ns: str) -> None:
    state = SharedState(store=redis_url, namespace=ns)
    state.set("Hash", {"values": [1]}, scope="users")
    state.set("n", 3)
    fleet = Fleet.open(redis_url, ns)
    a, missing, b = fleet.entries(["hash", "nope", "N"])
    assert missing is None
    assert a is not None and a.name == "Hash" and a.value == {"values": [1]} and a.scope == ("users",)
    assert b is not None and b.value == 3 and b.thread.endswith("/MainThread")
    version, every = fleet.all_entries()
    assert version == state.version and [e.name for e in every] == ["Hash", "n"]
    info = fleet.ping()
    assert info["entries"] == 2 and info["version"] == version and info["processes"] == 0


def test_a_value_got_through_entry_is_written_back_by_touch(redis_url: str, ns: str) -> None:
    # the studio's nested edits (a key added to a dict, an item changed) get the entry, change it
    # in place and touch it, as Pode's pattern does with get()
    state = SharedState(store=redis_url, namespace=ns)
    state.set("hash", {"values": [1]})
    info = state.entry("hash")
    assert info is not None
    info.value["values"].append(2)
    state.touch("hash")
    assert SharedState(store=redis_url, namespace=ns).get("hash") == {"values": [1, 2]}


def test_changed_after_gives_ops_names_and_old_names(redis_url: str, ns: str) -> None:
    state = SharedState(store=redis_url, namespace=ns, ring_size=50)
    fleet = Fleet.open(redis_url, ns)
    v0 = fleet.version()
    state.set("a", 1)
    state.rename("a", "b")
    state.remove("b")
    got = fleet.changed_after(v0)
    assert got.changes == [("set", "a", None), ("rename", "b", "a"), ("remove", "b", None)]
    assert got.version == v0 + 3 == fleet.version() and not got.gap
    assert fleet.changed_after(got.version).changes == []
    for i in range(300):
        state.set("c", i)
    assert fleet.changed_after(v0).gap


def test_a_holder_is_read_from_either_lock_key_layout() -> None:
    # the holder beside the token in the lock's own value ("TOKEN HOLDER_JSON"), or in a lockinfo key
    from desktop_app.engine.redis.fleet import _holder

    info = b'{"who": "web-1:42/worker", "site": "app.py:9", "since": 1700000000.5}'
    for raw, side in ((b"0123abcd " + info, None), (b"0123abcd", info)):
        h = _holder(raw, side, 2500)
        assert h is not None and (h.who, h.site, h.since, h.lease_left) == (
            "web-1:42/worker",
            "app.py:9",
            1700000000.5,
            2.5,
        )
        assert h.process == "web-1:42"
    assert _holder(None, info, -2) is None
