"""Fixtures for the tree's widget tests: a server with a small state, and a shown StateView on a running bridge."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtGui import QUndoStack

from desktop_app.engine.server import Server
from desktop_app.ui.bridge.state_bridge import StateBridge
from desktop_app.ui.tree.state_view import StateView


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    srv.state.set("count", 1)
    srv.state.set("ratio", 0.5)
    srv.state.set("hash", {"values": [1, 2, 3], "meta": {"owner": "ann"}}, scope="users")
    srv.state.set("title", "hello")
    yield srv
    srv.stop()


@pytest.fixture
def view(qtbot: Any, server: Server) -> Iterator[StateView]:
    bridge = StateBridge(server)
    stack = QUndoStack()
    v = StateView(bridge, stack)
    qtbot.addWidget(v)
    v.resize(1100, 600)
    v.show()
    qtbot.waitExposed(v)
    v.activateWindow()
    bridge.start()
    qtbot.waitUntil(lambda: v.model.entry_count() == len(server.state))
    yield v
    bridge.stop()
