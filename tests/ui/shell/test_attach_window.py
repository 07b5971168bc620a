"""What the tree does in memory it does attached: typed edits with undo, add / rename / remove, Find,
Open / Save state files, snapshots and a diff against the attached state — all of it on a real Redis,
read back by another client. Then Detach returns to the in-process server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from desktop_app.engine import SharedState, persistence
from desktop_app.ui.bridge.entry_commands import (
    AddEntryCommand,
    RemoveCommand,
    RenameCommand,
    SetValueCommand,
)
from desktop_app.ui.shell.main_window import MainWindow
from tests.ui.shell.test_main_window import SCRIPT, Dialogs, run

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def shared(redis_url: str, ns: str) -> SharedState:
    """Another client of the namespace: what every other process sees."""
    state = SharedState(store=redis_url, namespace=ns)
    state.set("hash", {"values": [1, 2], "owner": "ann"}, scope="keep")
    state.set("count", 5)
    return state


@pytest.fixture
def window(
    qtbot: Any, tmp_path: Path, loop: Any, dialogs: Dialogs, shared: SharedState, redis_url: str, ns: str
) -> Iterator[MainWindow]:
    script = tmp_path / "srv.py"
    script.write_text(SCRIPT)
    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    w.interactive = False
    qtbot.addWidget(w)
    w.show()
    assert run(qtbot, w, w.load_script(script))
    assert run(qtbot, w, w.attach(redis_url, ns))
    qtbot.waitUntil(lambda: w.view.model.entry_count() == 2, timeout=5000)
    yield w
    w.close()


def _value(w: MainWindow, *path: Any) -> Any:
    node = w.view.model.node_for_path(path)
    return None if node is None else node.value


def test_edits_go_to_redis_and_undo(qtbot: Any, window: MainWindow, shared: SharedState) -> None:
    submit = window.view.runner.submit
    submit(SetValueCommand(window.bridge, ("count",), 6))  # an int stays an int
    qtbot.waitUntil(lambda: shared.get("count") == 6, timeout=5000)
    submit(SetValueCommand(window.bridge, ("hash", "values", 0), 10))  # nested: get, change, touch
    qtbot.waitUntil(lambda: shared.get("hash")["values"] == [10, 2], timeout=5000)
    assert shared.get("hash", with_scope=True)["Scope"] == ["keep"]
    submit(RenameCommand(window.bridge, ("hash", "owner"), "by"))
    qtbot.waitUntil(lambda: shared.get("hash") == {"values": [10, 2], "by": "ann"}, timeout=5000)
    submit(AddEntryCommand(window.bridge, "new", [1], ["users"]))
    qtbot.waitUntil(
        lambda: shared.get("new", with_scope=True) == {"Value": [1], "Scope": ["users"]}, timeout=5000
    )
    submit(RemoveCommand(window.bridge, ("count",)))
    qtbot.waitUntil(lambda: not shared.test("count"), timeout=5000)
    qtbot.waitUntil(lambda: window.undo_stack.count() == 5, timeout=5000)
    # the tree shows what Redis holds, and every step undoes in Redis
    qtbot.waitUntil(lambda: _value(window, "new") == [1] and _value(window, "count") is None, timeout=5000)
    for _ in range(5):
        window.undo_stack.undo()
    qtbot.waitUntil(
        lambda: (
            shared.snapshot()
            == {
                "hash": {"Value": {"values": [1, 2], "owner": "ann"}, "Scope": ["keep"]},
                "count": {"Value": 5, "Scope": []},
            }
        ),
        timeout=10_000,
    )
    qtbot.waitUntil(lambda: _value(window, "hash", "values") == [1, 2], timeout=5000)


def test_find_filters_the_attached_tree(qtbot: Any, window: MainWindow) -> None:
    window.view.show_filter()
    window.view.filter_edit.setText("owner")
    qtbot.waitUntil(lambda: window.view.filter_model.rowCount() == 1, timeout=5000)


def test_state_files_open_and_save_against_redis(
    qtbot: Any, window: MainWindow, shared: SharedState, tmp_path: Path
) -> None:
    f = tmp_path / "in.json"
    f.write_text(json.dumps({"only": {"Value": {"a": 1}, "Scope": ["x"]}}))
    assert run(qtbot, window, window.open_state_file(f, merge=False))
    qtbot.waitUntil(lambda: shared.names() == ["only"], timeout=5000)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: sorted(shared.names()) == ["count", "hash"], timeout=5000)
    out = tmp_path / "out.json"
    assert run(qtbot, window, window._save(out, {"format": "pode"}))
    loaded = persistence.read_file(out)
    assert loaded is not None and loaded.entries["hash"] == ({"values": [1, 2], "owner": "ann"}, ["keep"])


def test_a_snapshot_of_the_attached_state_and_a_diff_against_it(
    qtbot: Any, window: MainWindow, shared: SharedState, tmp_path: Path
) -> None:
    dock = window.snapshots_dock
    taken: list[Any] = []
    dock.snapshot_taken.connect(taken.append)
    dock.take_snapshot("before")
    qtbot.waitUntil(lambda: bool(taken), timeout=10_000)
    shared.set("count", 6)  # another process changes it
    results: list[Any] = []
    dock.diff_ready.connect(results.append)
    dock.diff_with_live(taken[0])
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    assert [(c.kind, c.text_path, c.old, c.new) for c in results[0].changes] == [("changed", "count", 5, 6)]


def test_detach_returns_to_the_in_process_server(qtbot: Any, window: MainWindow) -> None:
    local = window._local_server
    assert local is not None and not local.running
    assert not window.start_action.isEnabled() and window.detach_action.isEnabled()
    assert run(qtbot, window, window.detach())
    assert window.server is local and local.running and window.attached is None
    assert window.windowTitle() == "Shared State Studio — srv.py"
    qtbot.waitUntil(lambda: window.view.model.entry_count() == 3, timeout=5000)  # the script's state
    assert not window.detach_action.isEnabled() and not window.processes_dock.model.rowCount()


def test_no_redis_call_is_made_on_the_gui_thread_while_attached(
    qtbot: Any, window: MainWindow, shared: SharedState, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every command the window sends to Redis (tree, docks, edits, files, snapshots) leaves from a
    worker thread: a Redis that stops answering can then never freeze the window."""
    import threading
    import traceback

    from redis.connection import AbstractConnection

    on_gui: list[str] = []
    send = AbstractConnection.send_packed_command

    calls = [0]

    def watched(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if threading.current_thread() is threading.main_thread():
            stack = "".join(traceback.format_stack(limit=30))
            if "desktop_app/ui/" in stack:  # the test's own client (`shared`) may use the main thread
                on_gui.append(stack)
        return send(self, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", watched)
    for dock in (window.locks_dock, window.processes_dock, window.jobs_dock, window.snapshots_dock):
        dock.show()
        dock.raise_()
    window.view.runner.submit(SetValueCommand(window.bridge, ("count",), 7))
    qtbot.waitUntil(lambda: shared.get("count") == 7 and window.undo_stack.count() == 1, timeout=5000)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: shared.get("count") == 5, timeout=5000)
    shared.set("more", {"a": [1, 2]})
    qtbot.waitUntil(lambda: _value(window, "more") == {"a": [1, 2]}, timeout=5000)
    assert run(qtbot, window, window._save(tmp_path / "out.json", {"format": "pode"}))
    taken: list[Any] = []
    window.snapshots_dock.snapshot_taken.connect(taken.append)
    window.snapshots_dock.take_snapshot("x")
    qtbot.waitUntil(lambda: bool(taken), timeout=10_000)
    window.locks_dock.sample_now()
    window.jobs_dock.sample()
    qtbot.wait(600)  # a few samples of every dock's timer (an observation window, nothing awaited)
    assert calls[0] > 20  # the watch sees the window's traffic (bridge, fleet, edits, files)
    assert on_gui == [], on_gui[0]
