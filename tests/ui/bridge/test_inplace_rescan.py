"""The in-place rescan publishes every change made without ``state.touch()``, also the ones Python calls equal:
1 -> True, 1 -> 1.0 deep down, a reordered dict."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from desktop_app.engine.server import Server
from desktop_app.ui.bridge.entry_snapshot import freeze
from desktop_app.ui.bridge.feed_reader import INPLACE_THREAD
from desktop_app.ui.bridge.state_bridge import EntrySnapshot, StateBridge, StateDelta

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def bridge(qtbot: Any, server: Server) -> Iterator[StateBridge]:
    b = StateBridge(server)
    yield b
    b.stop()


class Latest:
    """The newest snapshot of each entry the GUI was sent."""

    def __init__(self, bridge: StateBridge) -> None:
        self.entries: dict[str, EntrySnapshot] = {}
        self.resets = 0
        bridge.entries_reset.connect(self._reset)
        bridge.entries_changed.connect(self._delta)

    def _reset(self, snaps: tuple[EntrySnapshot, ...]) -> None:
        self.resets += 1
        self.entries = {s.key: s for s in snaps}

    def _delta(self, delta: StateDelta) -> None:
        for s in delta.upserted:
            self.entries[s.key] = s


@pytest.mark.parametrize(
    ("before", "mutate", "after"),
    [
        ({"x": 1}, lambda h: h.__setitem__("x", True), {"x": True}),
        ({"x": [1]}, lambda h: h["x"].__setitem__(0, 1.0), {"x": [1.0]}),
        ({"x": (1, 2)}, lambda h: h.__setitem__("x", [1, 2]), {"x": [1, 2]}),
        ({"a": 1, "b": 2}, lambda h: h.__setitem__("a", h.pop("a")), {"b": 2, "a": 1}),
        ({"s": {1, 2}}, lambda h: h.__setitem__("s", {True, 2}), {"s": {True, 2}}),
    ],
)
def test_an_in_place_change_python_calls_equal_is_published(
    qtbot: Any, server: Server, bridge: StateBridge, before: Any, mutate: Callable[[Any], None], after: Any
) -> None:
    server.state.set("h", before)
    seen = Latest(bridge)
    bridge.start()
    qtbot.waitUntil(lambda: seen.resets == 1 and "h" in seen.entries)
    done = threading.Event()

    def worker() -> None:  # a job changing the value without touch(), as the seed's timer does
        with server.lockable:
            mutate(server.state.get("h"))
        done.set()

    t = threading.Thread(target=worker, name="mutator")
    t.start()
    t.join()
    assert done.is_set()
    expected = repr(freeze(after))  # repr shows types, key order and set members' types
    qtbot.waitUntil(lambda: repr(seen.entries["h"].value) == expected, timeout=3000)
    assert seen.entries["h"].thread == INPLACE_THREAD
