"""The bridge on a Redis state: the same feed shape, so the tree follows changes other processes make."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from desktop_app.engine import SharedState
from desktop_app.engine.server import Server
from desktop_app.ui.bridge.state_bridge import StateBridge
from tests.ui.bridge.test_bridge import Picture

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def server(redis_url: str, ns: str) -> Iterator[Server]:
    srv = Server(store=redis_url, namespace=ns)
    yield srv
    srv.stop()


def test_the_bridge_follows_a_redis_state_changed_elsewhere(
    qtbot: Any, server: Server, redis_url: str, ns: str
) -> None:
    server.state.set("count", 1, scope="users")
    server.state.set("hash", {"values": [1, 2]})
    bridge = StateBridge(server)
    try:
        pic = Picture(bridge)
        bridge.start()
        qtbot.waitUntil(lambda: pic.resets == 1 and len(pic.entries) == 2, timeout=5000)
        assert pic.value("hash") == {"values": [1, 2]} and pic.entries["count"].scope == ("users",)
        other = SharedState(store=redis_url, namespace=ns)  # as another process would
        other.set("count", 2)
        other.remove("hash")
        other.set("new", [1])
        other.rename("new", "renamed")
        qtbot.waitUntil(
            lambda: pic.value("count") == 2 and "hash" not in pic.entries and "renamed" in pic.entries,
            timeout=5000,
        )
        other.clear()  # a reset: the bridge reloads
        qtbot.waitUntil(lambda: pic.entries == {}, timeout=5000)
    finally:
        bridge.stop()
