"""Regression for PySide6 6.12.0 on CPython 3.11 (ENVIRONMENT.md): every emit dropped a reference to True."""

from __future__ import annotations

import sys
import threading
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from desktop_app.engine.server import Server
from desktop_app.ui.bridge.state_bridge import StateBridge

EMITS = 5_000
# Qt and pytest take and drop references to True on their own; the bug dropped one per emit.
SLACK = 500


class Sender(QObject):
    happened = Signal(object, bool)


class Receiver(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.last: Any = None

    def take(self, value: object, flag: bool) -> None:
        self.count += 1
        self.last = (value, flag)


def test_emits_keep_the_reference_to_true(qtbot: Any) -> None:
    sender = Sender()
    receiver = Receiver()
    sender.happened.connect(receiver.take, Qt.ConnectionType.QueuedConnection)
    before = sys.getrefcount(True)
    for i in range(EMITS):
        sender.happened.emit(i, True)
    qtbot.waitUntil(lambda: receiver.count == EMITS)

    def from_workers(n: int) -> None:
        for i in range(n):
            sender.happened.emit({"i": i}, True)

    workers = [
        threading.Thread(target=from_workers, args=(EMITS // 5,), name=f"emitter-{k}") for k in range(5)
    ]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    qtbot.waitUntil(lambda: receiver.count == 2 * EMITS)
    after = sys.getrefcount(True)  # reaching this line at all: the process did not abort in bool_dealloc
    assert after >= before - SLACK, f"True lost {before - after} references over {2 * EMITS} emits"
    assert receiver.last[1] is True


def test_the_bridge_signal_path_keeps_the_reference_to_true(qtbot: Any) -> None:
    """The same through the bridge: thousands of frames from its thread and edit callbacks from "gui-edit"."""
    server = Server()
    bridge = StateBridge(server)
    frames: list[Any] = []
    bridge.entries_changed.connect(frames.append)
    bridge.start()
    try:
        before = sys.getrefcount(True)
        done: list[bool] = []
        for i in range(300):
            server.state.set("flag", i % 2 == 0)
            handle = bridge.run_edit(lambda srv, i=i: srv.state.set("n", i))
            handle.when_done(lambda f: done.append(True))
        qtbot.waitUntil(lambda: len(done) == 300, timeout=10_000)
        qtbot.waitUntil(lambda: bool(frames))
        assert sys.getrefcount(True) >= before - SLACK
    finally:
        bridge.stop()
        server.stop()
