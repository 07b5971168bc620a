"""The main window through its real menus and dialogs: scripts, state files (replace/merge/format/scope), errors."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from desktop_app.engine import persistence
from desktop_app.ui.shell import main_window as mw
from desktop_app.ui.shell.main_window import MainWindow

SCRIPT = """
def setup(server):
    server.state.set("hash", {"values": [1, 2]}, scope="keep")
    server.state.set("count", 5)
    server.state.set("cache", {"tmp": True}, scope="cache")
"""


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    lp = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(lp)
    yield lp
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


class Dialogs:
    """Records the message boxes the window shows instead of blocking on them."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str, str]] = []


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> Dialogs:
    d = Dialogs()

    def fake(kind: str) -> Any:
        def show(_parent: Any, title: str, text: str, *a: Any, **k: Any) -> QMessageBox.StandardButton:
            d.shown.append((kind, title, text))
            return QMessageBox.StandardButton.Ok

        return show

    for kind in ("critical", "warning", "information"):
        monkeypatch.setattr(QMessageBox, kind, fake(kind))
    return d


@pytest.fixture
def window(qtbot: Any, tmp_path: Path, loop: asyncio.AbstractEventLoop, dialogs: Dialogs) -> Iterator[MainWindow]:
    script = tmp_path / "srv.py"
    script.write_text(SCRIPT)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    run(qtbot, w, w.load_script(script))
    yield w
    w.close()


def run(qtbot: Any, w: MainWindow, coro: Any, timeout: int = 10_000) -> Any:
    task = w.spawn(coro)
    qtbot.waitUntil(task.done, timeout=timeout)
    return task.result()


def test_title_status_and_tree_show_the_script(qtbot: Any, window: MainWindow) -> None:
    assert window.windowTitle() == "Shared State Studio — srv.py"
    assert window.server is not None and window.server.running
    qtbot.waitUntil(lambda: window.view.model.rowCount() == 3, timeout=5000)
    assert "3 entries" in window.count_label.text()


def test_open_replace_is_undoable(qtbot: Any, window: MainWindow, tmp_path: Path) -> None:
    f = tmp_path / "in.json"
    f.write_text(json.dumps({"only": {"Value": [1], "Scope": []}}))
    assert run(qtbot, window, window.open_state_file(f, merge=False))
    state = window.server.state  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: state.names() == ["only"], timeout=5000)
    assert window.state_file == f.resolve() and window.state_format == "pode"
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: sorted(state.names()) == ["cache", "count", "hash"], timeout=5000)
    assert state.get("hash") == {"values": [1, 2]}
    window.undo_stack.redo()
    qtbot.waitUntil(lambda: state.names() == ["only"], timeout=5000)


def test_open_through_the_file_dialog_and_merge(
    qtbot: Any, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "in.json"
    f.write_text(json.dumps({"COUNT": {"Value": 99, "Scope": ["x"]}, "new": {"Value": "n", "Scope": []}}))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(f), ""))
    monkeypatch.setattr(window, "ask_merge", lambda path: True)
    window.open_state_action.trigger()
    state = window.server.state  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: state.get("new") == "n", timeout=5000)
    assert state.get("count") == 99 and state.get("hash") == {"values": [1, 2]}
    assert "count" in state.names() and "COUNT" not in state.names()  # the live name's case stays
    assert window.recent_files()[0] == str(f.resolve())


def test_corrupt_file_shows_an_error_and_changes_nothing(
    qtbot: Any, window: MainWindow, tmp_path: Path, dialogs: Dialogs
) -> None:
    f = tmp_path / "bad.json"
    f.write_text('{"a": {"Value": [1, 2')
    before = window.server.state.snapshot()  # type: ignore[union-attr]
    assert run(qtbot, window, window.open_state_file(f, merge=False)) is False
    kind, _title, text = dialogs.shown[-1]
    assert kind == "critical" and "bad.json" in text and "unchanged" in text
    assert window.server.state.snapshot() == before  # type: ignore[union-attr]
    assert f.read_text() == '{"a": {"Value": [1, 2'
    assert window.undo_stack.count() == 0


def test_save_as_with_format_and_scope_then_save_keeps_format(
    qtbot: Any, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))

    class Options(mw.SaveOptionsDialog):
        def exec(self) -> int:
            self.format.setCurrentIndex(1)  # Pode v2 typed
            self.filtered.setChecked(True)
            self.scope.setText("keep")
            return int(mw.SaveOptionsDialog.DialogCode.Accepted.value)

    monkeypatch.setattr(mw, "SaveOptionsDialog", Options)
    assert run(qtbot, window, window.save_state_as())
    loaded = persistence.read_file(out)
    assert loaded is not None and loaded.format == "pode-v2"
    assert list(loaded.entries) == ["hash"]
    # Save (Ctrl+S) writes the same file in the format it has
    window.server.state.set("hash", {"values": [3]}, scope="keep")  # type: ignore[union-attr]
    assert run(qtbot, window, window.save_state())
    again = persistence.read_file(out)
    assert again is not None and again.format == "pode-v2" and again.entries["hash"][0] == {"values": [3]}


def test_save_error_names_the_file_and_keeps_the_old_one(
    qtbot: Any, window: MainWindow, tmp_path: Path, dialogs: Dialogs
) -> None:
    out = tmp_path / "keep.json"
    out.write_text("old content")
    window.server.state.set("bad", {1, 2})  # type: ignore[union-attr]  # a set cannot go in a pode file
    window.state_file, window.state_format = out, "pode"
    assert run(qtbot, window, window.save_state()) is False
    kind, _title, text = dialogs.shown[-1]
    assert kind == "critical" and "keep.json" in text and "bad" in text
    assert out.read_text() == "old content"


def test_a_broken_script_keeps_the_previous_server(
    qtbot: Any, window: MainWindow, tmp_path: Path, dialogs: Dialogs
) -> None:
    old = window.server
    broken = tmp_path / "broken.py"
    broken.write_text("def setup(server):\n    server.add_timer('t', -1, None)\n")
    assert run(qtbot, window, window.load_script(broken)) is False
    kind, _title, text = dialogs.shown[-1]
    assert kind == "critical" and "broken.py" in text and "line 2" in text
    assert window.server is old and old is not None and old.running


def test_stop_start_restart(qtbot: Any, window: MainWindow) -> None:
    server = window.server
    assert server is not None
    run(qtbot, window, window.stop_server())
    assert not server.running
    run(qtbot, window, window.start_server())
    assert server.running
    server.state.set("extra", 1)
    run(qtbot, window, window.restart_server())
    assert server.running and not server.state.test("extra") and server.state.get("count") == 5


def test_status_bar_names_the_global_lock_holder(qtbot: Any, window: MainWindow) -> None:
    server = window.server
    assert server is not None
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with server.lockable:
            held.set()
            release.wait(10)

    t = threading.Thread(target=hold, name="timer-hog")
    t.start()
    try:
        assert held.wait(5)
        qtbot.waitUntil(lambda: "timer-hog" in window.lock_label.text(), timeout=5000)
    finally:
        release.set()
        t.join()
    qtbot.waitUntil(lambda: window.lock_label.text() == "global: idle", timeout=5000)


def test_closing_leaves_no_thread_and_remembers_the_script(
    qtbot: Any, tmp_path: Path, loop: asyncio.AbstractEventLoop, dialogs: Dialogs
) -> None:
    script = tmp_path / "srv.py"
    script.write_text(SCRIPT)
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    run(qtbot, w, w.load_script(script))
    w.close()
    names = [t.name for t in threading.enumerate()]
    assert not [n for n in names if n.startswith(("bridge", "gui-edit", "gui-io", "timer", "http", "route-"))], names
    assert QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat).value("last_script") == str(script.resolve())


def test_first_run_expands_a_small_state(qtbot: Any, window: MainWindow) -> None:
    view = window.view
    qtbot.waitUntil(lambda: len(view.model.top_nodes()) == 3, timeout=5000)

    def all_expanded() -> bool:
        return all(view.tree.isExpanded(view.view_index(n)) for n in view.model.top_nodes() if n.key != "count")

    qtbot.waitUntil(all_expanded, timeout=3000)


def test_ctrl_z_in_the_tree_undoes_the_last_edit(qtbot: Any, window: MainWindow) -> None:
    from PySide6.QtCore import Qt

    from desktop_app.ui.bridge.entry_commands import AddEntryCommand

    state = window.server.state  # type: ignore[union-attr]
    window.view.runner.submit(AddEntryCommand(window.bridge, "orders", [1, 2, 3], []))
    qtbot.waitUntil(lambda: state.get("orders") == [1, 2, 3] and window.undo_stack.count() == 1, timeout=5000)
    assert window.undo_action.isEnabled() and "orders" in window.undo_action.text()
    window.activateWindow()
    window.view.tree.setFocus()
    qtbot.keyClick(window.view.tree, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not state.test("orders"), timeout=5000)
