"""SharedState on a real Redis, in one process: every public method, value checks, the feed, files, locks."""

from __future__ import annotations

import json
import math
import threading
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from desktop_app.engine import LockTimeout, SharedState, persistence
from desktop_app.engine.redis_state import RedisSharedState
from desktop_app.engine.server import Server
from desktop_app.engine.state import ChangeRecord, Changes


@pytest.fixture
def state(redis_url: str, ns: str) -> SharedState:
    return SharedState(store=redis_url, namespace=ns)


def test_a_url_picks_the_redis_state_and_memory_stays_the_default(redis_url: str, ns: str) -> None:
    assert type(SharedState()) is SharedState
    s = SharedState(store=redis_url, namespace=ns)
    assert isinstance(s, RedisSharedState) and isinstance(s, SharedState)
    assert "password" not in repr(s)
    with pytest.raises(ValueError, match="namespace"):
        SharedState(namespace="shop")
    with pytest.raises(ValueError, match="unsupported store URL"):
        SharedState(store="http://127.0.0.1:1/", namespace=ns)


def test_single_operations_keep_their_meaning(state: SharedState) -> None:
    assert state.set("Hash", {"values": [1]}, scope="Users") == {"values": [1]}
    assert state.get("HASH") == {"values": [1]}
    assert state.get("hash", with_scope=True) == {"Value": {"values": [1]}, "Scope": ["Users"]}
    assert state.get("missing", default=5) == 5 and state.get("missing", with_scope=True) is None
    assert state.test("hAsh") and "hash" in state and "nope" not in state and 3 not in state
    state.set("count", 0)
    state.set("HASH", {"values": []})  # replacing keeps the name as first written, and resets scope
    assert state.names() == ["count", "Hash"] and len(state) == 2
    assert state.get("hash", with_scope=True) == {"Value": {"values": []}, "Scope": []}
    assert state.remove("COUNT") == 0 and state.remove("count") is None
    assert list(state) == ["Hash"]
    with pytest.raises(ValueError):
        state.set("", 1)


def test_get_returns_a_fresh_copy_and_touch_writes_back_what_this_thread_got(state: SharedState) -> None:
    state.set("hash", {"values": []})
    h = state.get("hash")
    h["values"].append(1)
    assert state.get("hash") == {"values": []}  # a copy: nothing changed in Redis yet
    h = state.get("hash")
    h["values"].append(1)
    state.touch("hash")
    assert state.get("hash") == {"values": [1]}
    # set() hands back the object it stored: the demo's `h = state.set(...); h[...]; touch` works
    h = state.set("hash", {"values": [7]})
    h["values"].append(8)
    state.touch("hash")
    assert state.get("hash") == {"values": [7, 8]}
    with state.edit("hash") as value:
        value["values"].append(9)
    assert state.get("hash")["values"] == [7, 8, 9]
    with pytest.raises(KeyError):
        state.touch("missing")
    with pytest.raises(KeyError), state.edit("missing"):
        pass


def test_touch_from_another_thread_only_records_the_change(state: SharedState) -> None:
    state.set("hash", {"values": [1]})
    mine = state.get("hash")
    mine["values"].append(2)
    before = state.version
    t = threading.Thread(target=state.touch, args=("hash",), name="other")
    t.start()
    t.join()
    assert state.version == before + 1
    assert state.get("hash") == {"values": [1]}  # the other thread had no object to write back
    assert state.changes_since(before).records[0].op == "touch"


def test_an_edit_that_raises_writes_nothing(state: SharedState) -> None:
    state.set("hash", {"values": [1]})
    with pytest.raises(RuntimeError), state.edit("hash") as h:
        h["values"].append(2)
        raise RuntimeError("changed my mind")
    assert state.get("hash") == {"values": [1]}
    assert not state.lockable.locked()


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (float("nan"), "bad"),
        ({"when": datetime(2024, 1, 1)}, "bad.when"),
        ({"ids": [uuid.uuid4()]}, "bad.ids[0]"),
        ({"s": {1, 2}}, "bad.s"),
        ({1: "int key"}, "bad"),
        ({"inf": [math.inf]}, "bad.inf[0]"),
        (object(), "bad"),
    ],
)
def test_values_a_pode_file_cannot_hold_are_refused_naming_the_entry(
    state: SharedState, value: object, where: str
) -> None:
    state.set("bad", "before")
    version = state.version
    with pytest.raises(ValueError, match="'bad'") as err:
        state.set("bad", value)
    if where != "bad":
        assert where in str(err.value)
    assert state.get("bad") == "before" and state.version == version  # nothing written


def test_names_filter_by_pattern_scope_include_exclude(state: SharedState) -> None:
    state.set("alpha", 1, scope=["users", "Admin"])
    state.set("beta", 2, scope="users")
    state.set("gamma", 3)
    assert state.names(pattern="^a|^b") == ["alpha", "beta"]
    assert state.names(scope="ADMIN") == ["alpha"]
    assert state.names(scope="users", exclude="alpha") == ["beta"]
    assert state.names(include=["GAMMA", "beta"]) == ["beta", "gamma"]
    with pytest.raises(ValueError, match="invalid name pattern"):
        state.names(pattern="(")


def test_entries_rename_set_scope_load_and_clear(state: SharedState) -> None:
    state.set("a", [1], scope="x")
    e = state.entry("A")
    assert (
        e is not None
        and e.name == "a"
        and e.value == [1]
        and e.scope == ("x",)
        and e.version == state.version
    )
    assert ":" in e.thread and "/" in e.thread  # HOST:PID/THREAD: which process wrote it
    state.rename("a", "Renamed")
    assert state.names() == ["Renamed"] and state.get("renamed") == [1]
    state.set("other", 1)
    with pytest.raises(ValueError, match="already exists"):
        state.rename("renamed", "OTHER")
    with pytest.raises(KeyError):
        state.rename("missing", "x")
    state.set_scope("renamed", ["s1", "s2"])
    assert state.get("renamed", with_scope=True) == {"Value": [1], "Scope": ["s1", "s2"]}
    state.load_entries({"n": (1, ["k"]), "other": (2, [])}, merge=True)
    assert state.snapshot() == {
        "n": {"Value": 1, "Scope": ["k"]},
        "other": {"Value": 2, "Scope": []},
        "Renamed": {"Value": [1], "Scope": ["s1", "s2"]},
    }
    state.load_entries({"only": ("x", [])})
    assert state.names() == ["only"]
    assert [i.name for i in state.entries()] == ["only"]
    state.clear()
    assert len(state) == 0 and state.entries() == []


def test_the_change_feed_has_the_in_memory_shape(redis_url: str, ns: str) -> None:
    state = SharedState(store=redis_url, namespace=ns, ring_size=5)
    assert state.version == 0 and state.changes_since(0) == Changes(0, (), False)
    state.set("a", 1)
    state.set("b", 2)
    state.touch("a")
    state.rename("b", "c")
    state.remove("a")
    changes = state.changes_since(0)
    assert [(r.version, r.op, r.name, r.old_name) for r in changes.records] == [
        (1, "set", "a", None),
        (2, "set", "b", None),
        (3, "touch", "a", None),
        (4, "rename", "c", "b"),
        (5, "remove", "a", None),
    ]
    assert changes.version == 5 and not changes.resync and isinstance(changes.records[0], ChangeRecord)
    assert state.changes_since(3).records[0].version == 4
    for i in range(200):  # far past the ring: the stream is trimmed (MAXLEN ~) and readers resync
        state.set("n", i)
    behind = state.changes_since(1)
    assert behind.resync and behind.version == state.version
    assert not state.changes_since(state.version - 1).resync
    state.clear()
    assert state.changes_since(state.version - 1).resync  # a reset tells readers to reload


def test_namespaces_never_see_each_other(redis_url: str) -> None:
    a = SharedState(store=redis_url, namespace="iso-a-" + uuid.uuid4().hex)
    b = SharedState(store=redis_url, namespace="iso-b-" + uuid.uuid4().hex)
    a.set("x", "in a")
    assert b.get("x") is None and b.names() == [] and b.version == 0
    b.set("x", "in b")
    b.clear()
    assert a.get("x") == "in a" and a.version == 1


def test_two_states_on_one_namespace_share_everything(redis_url: str, ns: str) -> None:
    one = SharedState(store=redis_url, namespace=ns)
    two = SharedState(store=redis_url, namespace=ns)
    one.set("x", {"k": [1, 2]})
    assert two.get("x") == {"k": [1, 2]} and two.version == one.version == 1
    two.remove("x")
    assert "x" not in one


def test_save_and_restore_between_redis_and_files(state: SharedState, redis_url: str, tmp_path: Path) -> None:
    state.set("hash", {"values": [1, 2]}, scope="users")
    state.set("n", 5)
    path = state.save(tmp_path / "state.json")
    loaded = persistence.read_file(path)
    assert loaded is not None and loaded.format == "pode"
    assert loaded.entries == {"hash": ({"values": [1, 2]}, ["users"]), "n": (5, [])}
    only = state.save(tmp_path / "users.json", scope="users", format="pode-v2")
    assert json.loads(only.read_text())["__pode_state_data__"]
    # a file into another namespace: replace, then merge
    other = SharedState(store=redis_url, namespace="restore-" + uuid.uuid4().hex)
    other.set("stale", 1)
    assert other.restore(path) == "pode"
    assert other.snapshot() == state.snapshot()
    other.set("extra", 1)
    (tmp_path / "patch.json").write_text(json.dumps({"n": {"Value": 6, "Scope": []}}))
    other.restore(tmp_path / "patch.json", merge=True)
    assert other.get("n") == 6 and other.get("extra") == 1 and other.get("hash") == {"values": [1, 2]}
    assert other.restore(tmp_path / "missing.json") is None and other.get("n") == 6


def test_redis_lockables_are_re_entrant_and_shared_by_server_state_and_edit(redis_url: str, ns: str) -> None:
    server = Server(store=redis_url, namespace=ns, lease_ms=2000)
    assert server.store == redis_url and server.namespace == ns
    assert server.lockables.new("GLOBAL") is server.lockable is server.state.lockable
    # one owner record per lockable in a process, whoever opened the namespace
    assert SharedState(store=redis_url, namespace=ns).lockable is server.lockable
    server.state.set("hash", {"values": []})
    with server.lock(), server.lockable:
        with server.state.edit("hash") as h:
            h["values"].append(1)
        assert server.lockable.held_by_me() and server.lockable.stats().holder is not None
    assert not server.lockable.locked()
    assert server.state.get("hash") == {"values": [1]}
    stats = server.lockable.stats()
    assert stats.acquisitions == 1 and stats.holder is None
    with pytest.raises(KeyError):
        server.lock("unknown")


def test_lock_timeout_names_the_holder_thread(redis_url: str, ns: str) -> None:
    server = Server(store=redis_url, namespace=ns, lease_ms=2000)
    orders = server.lockables.new("orders")
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with orders:
            held.set()
            done.wait(10)

    t = threading.Thread(target=hold, name="holder-thread")
    t.start()
    try:
        assert held.wait(10)
        with pytest.raises(LockTimeout, match="holder-thread"), server.lock("orders", timeout=0.05):
            pass
        assert not orders.acquire(blocking=False)
        assert orders.stats().timeouts == 2
    finally:
        done.set()
        t.join()
    with server.lock("orders", timeout=5):
        pass


def test_a_running_server_publishes_a_heartbeat_and_its_lock_uses(redis_url: str, ns: str) -> None:
    import os
    import socket

    import orjson

    from tests.waiting import wait_until

    server = Server(store=redis_url, namespace=ns, lease_ms=2000)
    client = server.state.lock_space.conn.client  # type: ignore[attr-defined]
    key = f"sss:{{{ns}}}:proc:{socket.gethostname()}:{os.getpid()}"

    def tick(e: object) -> None:
        with server.lockable:
            server.state.set("n", 1)

    server.add_timer("tick", 0.05, tick)
    with server:
        assert wait_until(lambda: client.get(key) is not None, timeout=10)
        beat = orjson.loads(client.get(key))
        assert beat["pid"] == os.getpid() and beat["host"] == socket.gethostname()
        assert [j["name"] for j in beat["jobs"]] == ["tick"] and 0 < client.pttl(key) <= 6000
        assert wait_until(lambda: client.xlen(f"sss:{{{ns}}}:lockevents") > 0, timeout=10)
    assert client.get(key) is None  # stop() removes it; a killed process's expires
    _, event = client.xrange(f"sss:{{{ns}}}:lockevents", count=1)[0]
    assert event[b"lock"] == b"global" and event[b"who"].startswith(
        f"{socket.gethostname()}:{os.getpid()}/".encode()
    )
    assert b"test_redis_state.py:" in event[b"site"]
