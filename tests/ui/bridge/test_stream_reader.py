"""The bridge on a Redis state: a blocking feed read (not a poll), resync after trimming and after an outage,
edits refused while Redis is away. Real redis-server, real Qt event loop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from desktop_app.engine import SharedState, StateStoreError
from desktop_app.engine.server import Server
from desktop_app.ui.bridge.edit_commands import EditError
from desktop_app.ui.bridge.state_bridge import Connection, StateBridge
from desktop_app.ui.bridge.stream_reader import BLOCK, StreamFeedReader
from tests.redis_server import RedisServer
from tests.ui.bridge.test_bridge import Picture


@pytest.fixture
def bridge(qtbot: Any) -> Iterator[StateBridge]:
    b = StateBridge(None)
    b.start()
    yield b
    b.stop()


def test_the_feed_is_read_by_blocking_not_polled(
    qtbot: Any, bridge: StateBridge, redis_url: str, ns: str
) -> None:
    other = SharedState(store=redis_url, namespace=ns)
    other.set("n", 0)
    pic = Picture(bridge)
    bridge.set_server(Server(store=redis_url, namespace=ns))
    qtbot.waitUntil(lambda: pic.value("n") == 0, timeout=5000)
    reader = bridge._reader
    assert isinstance(reader, StreamFeedReader)
    before = reader.reads
    qtbot.wait(1000)  # an observation window: how many reads does an idle second cost?
    idle_reads = reader.reads - before
    # one blocking read per BLOCK (0.25 s) when nothing changes; a 5 ms poll would be ~200
    assert idle_reads <= 1 / BLOCK + 2, idle_reads
    other.set("n", 1)  # wakes the blocked read: no interval to wait out
    qtbot.waitUntil(lambda: pic.value("n") == 1, timeout=5000)


def test_the_stream_reader_never_asks_redis_for_change_events(
    qtbot: Any, bridge: StateBridge, redis_url: str, ns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A Redis state refuses add_change_event (its feed is the hook): the reader blocks on XREAD instead.
    other = SharedState(store=redis_url, namespace=ns)
    other.set("n", 0)
    server = Server(store=redis_url, namespace=ns)
    asked: list[Any] = []
    original = server.state.add_change_event

    def counting(event: Any) -> None:
        asked.append(event)
        original(event)

    monkeypatch.setattr(server.state, "add_change_event", counting)
    pic = Picture(bridge)
    bridge.set_server(server)
    qtbot.waitUntil(lambda: pic.value("n") == 0, timeout=5000)
    qtbot.wait(600)  # idle: a few blocking reads
    other.set("n", 1)
    qtbot.waitUntil(lambda: pic.value("n") == 1, timeout=5000)
    assert asked == []
    with pytest.raises(NotImplementedError):
        original(None)  # type: ignore[arg-type]


def test_a_reader_trimmed_past_resyncs_softly(
    qtbot: Any, bridge: StateBridge, redis_url: str, ns: str
) -> None:
    writer = SharedState(store=redis_url, namespace=ns, ring_size=20)
    writer.set("gone", 1)
    writer.set("kept", 1)
    pic = Picture(bridge)
    bridge.set_server(Server(store=redis_url, namespace=ns))
    qtbot.waitUntil(lambda: set(pic.entries) == {"gone", "kept"}, timeout=5000)
    resets = pic.resets
    bridge.set_live(False)
    qtbot.waitUntil(lambda: not bridge._reader.live, timeout=2000)
    writer.remove("gone")
    for i in range(1000):  # the feed keeps ~20-100 records: the reader's place is trimmed away
        writer.set("kept", i)
    writer.set("new", [1, 2])
    bridge.set_live(True)
    qtbot.waitUntil(lambda: set(pic.entries) == {"kept", "new"} and pic.value("kept") == 999, timeout=10_000)
    assert pic.resets == resets  # soft: upserts and removals, the tree keeps its shape


def test_redis_going_away_is_reported_edits_are_refused_and_it_resyncs(
    qtbot: Any, bridge: StateBridge, own_redis: RedisServer, ns: str
) -> None:
    url = own_redis.url
    SharedState(store=url, namespace=ns).set("before", 1)
    pic = Picture(bridge)
    seen: list[Connection] = []
    bridge.connection_changed.connect(seen.append)
    bridge.set_server(Server(store=url, namespace=ns))
    qtbot.waitUntil(lambda: "before" in pic.entries, timeout=5000)

    own_redis.kill()
    qtbot.waitUntil(lambda: bool(seen) and not seen[-1].ok, timeout=10_000)
    lost = seen[-1]
    assert lost.url == url and "cannot reach Redis" in lost.text and lost.retry_in > 0
    assert not bridge.connected
    # the last known tree stays; an edit is refused at once with a message, never queued
    assert pic.value("before") == 1
    handle = bridge.run_edit(lambda server: server.state.set("during", 1))
    assert handle.done()
    err = handle.future.exception()
    assert isinstance(err, EditError) and "connection" in str(err) and "nothing changed" in str(err)

    own_redis.start()  # back on the same port, empty (no persistence)
    SharedState(store=url, namespace=ns).set("after", 2)
    qtbot.waitUntil(lambda: bool(seen) and seen[-1].ok, timeout=15_000)
    qtbot.waitUntil(lambda: set(pic.entries) == {"after"}, timeout=10_000)
    assert bridge.connected
    done = bridge.run_edit(lambda server: server.state.set("edited", 3))
    qtbot.waitUntil(done.done, timeout=10_000)
    assert done.future.exception() is None
    qtbot.waitUntil(lambda: pic.value("edited") == 3, timeout=5000)


def test_an_edit_that_meets_an_outage_fails_instead_of_hanging(
    qtbot: Any, bridge: StateBridge, own_redis: RedisServer, ns: str
) -> None:
    server = Server(store=own_redis.url, namespace=ns)
    bridge.set_server(server)
    started: list[bool] = []

    def edit(srv: Server) -> None:
        started.append(True)

    ok = bridge.run_edit(edit)
    qtbot.waitUntil(ok.done, timeout=10_000)
    own_redis.kill()
    # taken before the bridge noticed: the lockable's acquire raises, and the edit says so
    handle = bridge.run_edit(edit)
    qtbot.waitUntil(handle.done, timeout=15_000)
    assert isinstance(handle.future.exception(), StateStoreError | EditError)
    assert started == [True]
