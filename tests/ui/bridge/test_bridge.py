"""StateBridge: feed draining at frame rate, immutable copies, bounded lock tries, rescans, pause, edits off the GUI thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from desktop_app.engine.server import Server
from desktop_app.engine.state import SharedState
from desktop_app.ui.bridge import feed_reader, inplace_rescan, state_bridge
from desktop_app.ui.bridge.feed_reader import INPLACE_THREAD
from desktop_app.ui.bridge.state_bridge import EntrySnapshot, LockStatus, Pending, StateBridge, StateDelta

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


class Picture:
    """What the GUI would know: the bridge's resets and deltas folded into {name: snapshot}."""

    def __init__(self, bridge: StateBridge) -> None:
        self.entries: dict[str, EntrySnapshot] = {}
        self.resets = 0
        self.deltas: list[StateDelta] = []
        self.threads: set[str] = set()
        bridge.entries_reset.connect(self._reset)
        bridge.entries_changed.connect(self._delta)

    def _reset(self, snaps: tuple[EntrySnapshot, ...]) -> None:
        self.threads.add(threading.current_thread().name)
        self.resets += 1
        self.entries = {s.name.casefold(): s for s in snaps}

    def _delta(self, delta: StateDelta) -> None:
        self.threads.add(threading.current_thread().name)
        self.deltas.append(delta)
        for old, new in delta.renamed:
            snap = self.entries.pop(old.casefold(), None)
            if snap is not None:
                self.entries[new.casefold()] = snap._replace(name=new)
        for name in delta.removed:
            self.entries.pop(name.casefold(), None)
        for s in delta.upserted:
            self.entries[s.name.casefold()] = s

    def value(self, name: str) -> Any:
        snap = self.entries.get(name.casefold())
        return None if snap is None else snap.value


@pytest.fixture
def bridge(qtbot: Any, server: Server) -> Iterator[StateBridge]:
    b = StateBridge(server)
    yield b
    b.stop()


def test_first_picture_then_deltas_on_the_gui_thread(qtbot: Any, server: Server, bridge: StateBridge) -> None:
    server.state.set("count", 1, scope="users")
    server.state.set("hash", {"values": [1, 2]})
    pic = Picture(bridge)
    bridge.start()
    qtbot.waitUntil(lambda: pic.resets == 1 and len(pic.entries) == 2)
    snap = pic.entries["count"]
    assert (snap.value, snap.scope, snap.thread) == (1, ("users",), "MainThread")
    live = server.state.get("hash")
    assert pic.value("hash") == live and pic.value("hash") is not live  # a copy, never the engine's object
    assert pic.value("hash")["values"] is not live["values"]
    server.state.set("count", 2)
    server.state.remove("hash")
    server.state.set("new", [1])
    qtbot.waitUntil(lambda: pic.value("count") == 2 and "hash" not in pic.entries and "new" in pic.entries)
    server.state.rename("new", "renamed")
    qtbot.waitUntil(lambda: "renamed" in pic.entries and "new" not in pic.entries)
    assert any(d.renamed == (("new", "renamed"),) for d in pic.deltas)
    assert pic.threads == {"MainThread"}  # signals arrive on the GUI thread, whoever emitted them


def test_changes_are_coalesced_to_frame_rate(qtbot: Any, server: Server, bridge: StateBridge) -> None:
    pic = Picture(bridge)
    bridge.start()
    qtbot.waitUntil(lambda: pic.resets == 1)
    done = threading.Event()

    def writer() -> None:
        for i in range(3000):
            server.state.set("n", i)
        done.set()

    t = threading.Thread(target=writer, name="writer")
    t.start()
    t.join()
    qtbot.waitUntil(lambda: pic.value("n") == 2999)
    # 3,000 sets reached the GUI as a handful of deltas carrying only the latest value
    assert len(pic.deltas) < 100
    assert sum(len(d.upserted) for d in pic.deltas) < 100


def test_in_place_mutations_are_found_by_the_rescan(qtbot: Any, server: Server, bridge: StateBridge) -> None:
    server.state.set("hash", {"values": [1]})
    pic = Picture(bridge)
    bridge.start()
    qtbot.waitUntil(lambda: pic.resets == 1)
    server.state.get("hash")["values"].append(2)  # no touch: not in the feed
    qtbot.waitUntil(lambda: pic.value("hash") == {"values": [1, 2]}, timeout=1500)
    assert pic.entries["hash"].thread == INPLACE_THREAD


def test_bounded_lock_tries_while_a_worker_holds_the_lock(
    qtbot: Any, server: Server, bridge: StateBridge
) -> None:
    server.state.set("hash", {"a": 1})
    server.state.set("count", 0)
    statuses: list[LockStatus] = []
    bridge.lock_status.connect(statuses.append)
    pic = Picture(bridge)
    bridge.start()
    qtbot.waitUntil(lambda: pic.resets == 1)
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with server.lockable:
            holding.set()
            release.wait(5)

    worker = threading.Thread(target=hold, name="worker")
    worker.start()
    try:
        holding.wait(2)
        server.state.set("count", 1)  # a scalar needs no lock: it still arrives
        server.state.set("hash", {"a": 2})  # a container waits for the lock
        qtbot.waitUntil(lambda: pic.value("count") == 1)
        qtbot.waitUntil(lambda: any(s.holder is not None and s.holder.thread == "worker" for s in statuses))
        assert pic.value("hash") == {"a": 1}
        qtbot.waitUntil(lambda: server.lockable.stats().observer_busy > 0)
        stats = server.lockable.stats()
        # the bridge tried without waiting, and its tries are not the users' contention
        assert (stats.timeouts, stats.contentions) == (0, 0)
        assert server.lockable.waiting() == ()
    finally:
        release.set()
        worker.join()
    qtbot.waitUntil(lambda: pic.value("hash") == {"a": 2})
    stats = server.lockable.stats()
    assert stats.observer_acquisitions >= 1 and stats.acquisitions == 1  # the worker's one use
    threads = {e.thread for e in list(server.lockable.events)}
    assert threads == {"worker"}  # the bridge is not a holder in the contention timeline


def test_pending_placeholder_when_loading_under_a_held_lock(
    qtbot: Any, server: Server, bridge: StateBridge
) -> None:
    server.state.set("hash", {"a": 1})
    pic = Picture(bridge)
    with server.lockable:  # held on this (GUI) thread only to stage the test; the bridge must not block
        bridge.start()
        qtbot.waitUntil(lambda: pic.resets == 1)
        assert isinstance(pic.value("hash"), Pending)
    qtbot.waitUntil(lambda: pic.value("hash") == {"a": 1})


def test_paused_counts_and_live_catches_up(qtbot: Any, server: Server, bridge: StateBridge) -> None:
    server.state.set("n", 0)
    pic = Picture(bridge)
    pending: list[int] = []
    bridge.pending_changed.connect(pending.append)
    bridge.start()
    qtbot.waitUntil(lambda: pic.resets == 1)
    bridge.live = False
    assert not bridge.live
    for i in range(1, 21):
        server.state.set("n", i)
    qtbot.waitUntil(lambda: bridge.pending == 20)
    qtbot.waitUntil(lambda: bool(pending) and pending[-1] == 20)
    assert pic.value("n") == 0
    bridge.live = True
    qtbot.waitUntil(lambda: pic.value("n") == 20)
    assert bridge.pending == 0


def test_resync_after_falling_behind_the_ring(qtbot: Any, server: Server, bridge: StateBridge) -> None:
    server.state = SharedState(lockable=server.lockable, ring_size=8)
    server.state.set("a", 1)
    server.state.set("gone", 1)
    pic = Picture(bridge)
    bridge.set_server(server)
    bridge.start()
    qtbot.waitUntil(lambda: pic.resets >= 1 and "gone" in pic.entries)
    resets = pic.resets
    with server.lockable:  # stall the bridge's copies while the ring overflows
        for i in range(50):
            server.state.set(f"k{i}", i)
        server.state.remove("gone")
    qtbot.waitUntil(lambda: "k49" in pic.entries and "gone" not in pic.entries)
    assert pic.resets == resets  # a soft resync: deltas, not a reset
    server.state.clear()
    server.state.set("fresh", 1)
    qtbot.waitUntil(lambda: list(pic.entries) == ["fresh"])


def test_set_server_reloads(qtbot: Any, server: Server, bridge: StateBridge) -> None:
    server.state.set("a", 1)
    pic = Picture(bridge)
    bridge.start()
    qtbot.waitUntil(lambda: "a" in pic.entries)
    other = Server()
    other.state.set("b", 2)
    bridge.set_server(other)
    qtbot.waitUntil(lambda: list(pic.entries) == ["b"])
    bridge.set_server(None)
    qtbot.waitUntil(lambda: pic.entries == {})


def test_run_edit_holds_the_lock_off_the_gui_thread(qtbot: Any, server: Server, bridge: StateBridge) -> None:
    seen: dict[str, Any] = {}

    def edit(srv: Server) -> int:
        seen["thread"] = threading.current_thread().name
        seen["held"] = srv.lockable.held_by_me()
        srv.state.set("x", 42)
        return 7

    handle = bridge.run_edit(edit)
    assert handle.future.result(timeout=5) == 7
    assert seen == {"thread": "gui-edit", "held": True}
    assert server.state.get("x") == 42
    failing = bridge.run_edit(lambda srv: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.future.result(timeout=5)

    async def awaited() -> int:
        return await bridge.run_edit(lambda srv: 5)

    assert asyncio.run(awaited()) == 5


def test_run_edit_waits_reports_the_holder_and_cancels(
    qtbot: Any, server: Server, bridge: StateBridge
) -> None:
    server.state.set("x", 1)
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with server.lockable:
            holding.set()
            release.wait(5)

    worker = threading.Thread(target=hold, name="worker")
    worker.start()
    holding.wait(2)
    waiting: list[tuple[str, str]] = []
    try:
        handle = bridge.run_edit(
            lambda srv: srv.state.set("x", 2),
            on_waiting=lambda who: waiting.append((who, threading.current_thread().name)),
        )
        qtbot.waitUntil(lambda: bool(waiting))
        assert waiting[0] == ("held by worker", "MainThread")
        assert handle.cancel()
        assert handle.future.cancelled()
    finally:
        release.set()
        worker.join()
    after = bridge.run_edit(lambda srv: srv.state.get("x"))
    assert after.future.result(timeout=5) == 1  # the cancelled edit never ran


def test_stop_joins_threads_and_is_idempotent(qtbot: Any, server: Server) -> None:
    bridge = StateBridge(server)
    bridge.start()
    bridge.run_edit(lambda srv: None).future.result(timeout=5)
    names = {t.name for t in threading.enumerate()}
    assert {"bridge", "gui-edit"} <= names
    bridge.stop()
    bridge.stop()
    names = {t.name for t in threading.enumerate()}
    assert "bridge" not in names and "gui-edit" not in names
    no_server = StateBridge(None)
    with pytest.raises(RuntimeError, match="no server"):
        no_server.run_edit(lambda srv: None).future.result(timeout=1)
    no_server.stop()


def test_rate_is_reported(qtbot: Any, server: Server, bridge: StateBridge) -> None:
    bridge.start()
    rates: list[float] = []
    bridge.rate_changed.connect(rates.append)
    server.add_timer("tick", 0.01, lambda e: e.state.set("n", 1))
    server.start()
    qtbot.waitUntil(lambda: any(r > 10 for r in rates), timeout=4000)


def test_a_quiet_bridge_sleeps(qtbot: Any, server: Server, bridge: StateBridge) -> None:
    server.state.set("hash", {"values": [1, 2, 3]})  # a container: the in-place rescan has work
    server.state.set("n", 1)
    pic = Picture(bridge)
    bridge.start()
    qtbot.waitUntil(lambda: pic.resets == 1)
    qtbot.wait(300)  # settle: the first picture's frames and acks
    before, copies = bridge.wakeups, server.lockable.stats().observer_acquisitions
    qtbot.wait(2000)
    woke = bridge.wakeups - before
    # the lock-holder look and the rescan (about once a second, on the same turns): no 5 ms polling (400)
    assert woke <= 2 * 2 + 4, f"woke {woke} times in 2 s with nothing changing"
    stats = server.lockable.stats()
    assert stats.acquisitions == 0, "the bridge is not a user of the lock"
    assert stats.observer_acquisitions == copies, "nothing changed: the lock was not taken to copy"


def test_a_change_wakes_a_sleeping_bridge(
    qtbot: Any, server: Server, bridge: StateBridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing but the change itself may wake it: the timed wake-ups are an hour apart.
    monkeypatch.setattr(feed_reader, "LOCK_POLL", 3600.0)
    monkeypatch.setattr(inplace_rescan, "RESCAN_PERIOD", 3600.0)
    server.state.set("n", 0)
    pic = Picture(bridge)
    bridge.start()
    qtbot.waitUntil(lambda: pic.resets == 1)
    qtbot.wait(200)
    before = bridge.wakeups
    for i in range(1, 4):
        server.state.set("n", i)
        qtbot.waitUntil(lambda i=i: pic.value("n") == i, timeout=3000)
    assert bridge.wakeups - before < 40


def test_only_changed_values_are_copied_under_the_lock_and_counted_apart(
    qtbot: Any, server: Server, bridge: StateBridge
) -> None:
    server.state.set("hash", {"values": [1]})
    pic = Picture(bridge)
    bridge.start()
    qtbot.waitUntil(lambda: pic.resets == 1 and pic.value("hash") == {"values": [1]})
    qtbot.wait(1200)  # two rescans of an unchanged value
    assert server.lockable.stats().observer_acquisitions == 1  # the first picture's copy only
    server.state.get("hash")["values"].append(2)  # in place, untracked: the rescan finds it
    qtbot.waitUntil(lambda: pic.value("hash") == {"values": [1, 2]}, timeout=1500)
    with server.lockable:
        server.state.get("hash")["values"].append(3)
        server.state.touch("hash")
    qtbot.waitUntil(lambda: pic.value("hash") == {"values": [1, 2, 3]})
    stats = server.lockable.stats()
    assert stats.acquisitions == 1, "the users' figures hold the one user's use, not the bridge's"
    assert stats.observer_acquisitions == 3
    assert {e.thread for e in server.lockable.events} == {"MainThread"}


def test_a_flood_beyond_the_ring_resends_only_what_changed(qtbot: Any, server: Server, bridge: StateBridge) -> None:
    server.state = SharedState(lockable=server.lockable, ring_size=64)
    for i in range(50):
        server.state.set(f"k{i}", {"n": 0} if i % 2 else 0)
    pic = Picture(bridge)
    bridge.set_server(server)
    bridge.start()
    qtbot.waitUntil(lambda: pic.resets >= 1 and len(pic.entries) == 50)
    qtbot.wait(200)
    pic.deltas.clear()
    with server.lockable:  # stall the bridge's container copies while 2,000 changes overflow the ring
        for round_ in range(1, 101):
            for i in range(20):
                server.state.set(f"k{i}", {"n": round_} if i % 2 else round_)
        server.state.remove("k49")
        server.state.set("new", 1)
    qtbot.waitUntil(
        lambda: all(pic.value(f"k{i}") in (100, {"n": 100}) for i in range(20))
        and "k49" not in pic.entries
        and pic.value("new") == 1
    )
    sent = {s.name for d in pic.deltas for s in d.upserted}
    assert sent <= {f"k{i}" for i in range(20)} | {"new"}, f"unchanged entries were re-sent: {sent}"
    assert pic.resets == 1


def test_a_state_that_refuses_change_events_is_followed_all_the_same(
    qtbot: Any, server: Server, bridge: StateBridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A Redis state refuses change events by design; should one ever reach the in-process reader,
    # the loop polls it instead of failing.
    refused: list[threading.Event] = []

    def refuse(event: threading.Event) -> None:
        refused.append(event)
        raise NotImplementedError("followed through its feed")

    monkeypatch.setattr(server.state, "add_change_event", refuse)
    server.state.set("n", 0)
    pic = Picture(bridge)
    bridge.start()
    qtbot.waitUntil(lambda: pic.resets == 1)
    for i in range(1, 4):
        server.state.set("n", i)
        qtbot.waitUntil(lambda i=i: pic.value("n") == i, timeout=3000)
    assert refused, "the idle reader asked for change events"
    assert bridge.running


def test_a_bridge_held_back_by_the_frame_budget_sleeps(
    qtbot: Any, server: Server, bridge: StateBridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The GUI asks for a long pause after each frame (as a busy GUI thread does); the rescan falls
    # due meanwhile, but may run only once a frame may go out: until then the bridge must sleep.
    monkeypatch.setattr(feed_reader, "LOCK_POLL", 3600.0)
    monkeypatch.setattr(inplace_rescan, "RESCAN_PERIOD", 0.05)
    server.state.set("hash", {"values": [1]})
    pic = Picture(bridge)
    bridge.start()
    qtbot.waitUntil(lambda: pic.resets == 1)
    monkeypatch.setattr(state_bridge, "APPLY_SHARE", 1e-9)
    monkeypatch.setattr(state_bridge, "APPLY_CONTENDED_SHARE", 1e-9)
    monkeypatch.setattr(state_bridge, "MAX_FRAME_DELAY", 3600.0)
    server.state.set("n", 1)
    qtbot.waitUntil(lambda: pic.value("n") == 1)
    before = bridge.wakeups
    qtbot.wait(500)  # ten rescan periods, all inside the GUI's pause
    woke = bridge.wakeups - before
    assert woke <= 3, f"woke {woke} times while no frame could go out"
