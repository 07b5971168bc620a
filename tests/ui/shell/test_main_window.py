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
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from desktop_app.engine import persistence
from desktop_app.ui.shell import state_file_flows as flows
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


def test_one_entry_is_counted_in_the_singular(qtbot: Any, window: MainWindow) -> None:
    state = window.server.state  # type: ignore[union-attr]
    state.remove("cache")
    state.remove("count")
    qtbot.waitUntil(lambda: window.count_label.text() == "1 entry", timeout=5000)


def test_demo_menu_says_what_each_demo_does(window: MainWindow) -> None:
    file_menu = window.menuBar().actions()[0].menu()
    demo_menu = next(a.menu() for a in file_menu.actions() if a.text() == "Open demo")
    labels = [a.text() for a in demo_menu.actions()]
    assert labels[0] == "Timer, routes and saved state (the Pode example)"
    assert not [t for t in labels if "seed" in t.lower()]


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
    shown: list[str] = []

    def no_second_dialog(*_a: Any, **_k: Any) -> tuple[str, str]:
        raise AssertionError("Save As is one dialog: no file dialog unless Browse… is clicked")

    monkeypatch.setattr(QFileDialog, "getSaveFileName", no_second_dialog)

    class Options(flows.SaveOptionsDialog):
        def exec(self) -> int:
            shown.append(self.path_edit.text())  # the path is in the dialog, not hidden behind it
            self.path_edit.setText(str(out))
            self.format.setCurrentIndex(1)  # Pode v2 typed
            self.filtered.setChecked(True)
            self.scope.setText("keep")
            return int(flows.SaveOptionsDialog.DialogCode.Accepted.value)

    monkeypatch.setattr(flows, "SaveOptionsDialog", Options)
    assert run(qtbot, window, window.save_state_as())
    assert shown == [str(tmp_path / "state.json")]  # a user script: its folder, where ./state.json lives
    loaded = persistence.read_file(out)
    assert loaded is not None and loaded.format == "pode-v2"
    assert list(loaded.entries) == ["hash"]
    # Save (Ctrl+S) writes the same file in the format it has
    window.server.state.set("hash", {"values": [3]}, scope="keep")  # type: ignore[union-attr]
    assert run(qtbot, window, window.save_state())
    again = persistence.read_file(out)
    assert again is not None and again.format == "pode-v2" and again.entries["hash"][0] == {"values": [3]}


def test_save_as_dialog_shows_the_path_and_browse_fills_it(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = tmp_path / "state.json"
    existing.write_text("{}")
    dialog = flows.SaveOptionsDialog(existing, "pode-v2")
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Save state as" and dialog.path_edit.text() == str(existing)
    assert "replaces" in dialog.path_note.text() and dialog.save_button.isEnabled()
    assert dialog.format.currentData() == "pode-v2"
    picked = tmp_path / "other.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(picked), ""))
    dialog.browse_button.click()
    assert dialog.options().path == picked and "new file" in dialog.path_note.text().lower()
    dialog.path_edit.setText(str(tmp_path / "missing" / "x.json"))
    assert not dialog.save_button.isEnabled() and "No such folder" in dialog.path_note.text()


def test_open_and_save_start_where_the_state_file_is(
    qtbot: Any, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop_app.engine.paths import resources_dir

    data = tmp_path / "data"
    (data / "demo").mkdir(parents=True)
    monkeypatch.setenv("STATE_STUDIO_DATA_DIR", str(data))
    starts: list[str] = []

    def record(_parent: Any, _title: str, start: str, *_a: Any, **_k: Any) -> tuple[str, str]:
        starts.append(start)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", record)
    window.script = resources_dir() / "demo" / "server.py"  # the demo: its folder holds no state file
    run(qtbot, window, window.open_state_dialog())
    window.state_file = tmp_path / "kept" / "mine.json"
    run(qtbot, window, window.open_state_dialog())
    assert starts == [str(data / "demo"), str(tmp_path / "kept")]


def test_state_file_folder(tmp_path: Path) -> None:
    resources, data = tmp_path / "resources", tmp_path / "data"
    demo = resources / "demo" / "server.py"
    mine = tmp_path / "project" / "srv.py"
    assert flows.state_file_folder(tmp_path / "a" / "s.json", demo, resources, data) == tmp_path / "a"
    assert flows.state_file_folder(None, mine, resources, data) == tmp_path / "project"
    assert flows.state_file_folder(None, demo, resources, data) == data  # the demo has not saved yet
    (data / "demo").mkdir(parents=True)
    assert flows.state_file_folder(None, demo, resources, data) == data / "demo"
    assert flows.state_file_folder(None, None, resources, data) == data / "demo"


def test_enter_in_the_open_question_merges_instead_of_replacing(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    from PySide6.QtCore import Qt, QTimer

    answers: list[str] = []

    def press_enter() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        answers.append(box.defaultButton().text())
        qtbot.keyClick(box, Qt.Key.Key_Return)

    QTimer.singleShot(0, press_enter)
    assert window.ask_merge(tmp_path / "in.json") is True
    assert answers == ["Merge"]


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


def test_start_and_stop_are_enabled_by_the_server_state(qtbot: Any, window: MainWindow) -> None:
    from PySide6.QtCore import Qt

    server = window.server
    assert server is not None and server.running
    assert not window.start_action.isEnabled() and window.stop_action.isEnabled()
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)  # Stop
    qtbot.waitUntil(lambda: not server.running and window.start_action.isEnabled(), timeout=10_000)
    assert not window.stop_action.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_F5)  # Start
    qtbot.waitUntil(lambda: server.running and window.stop_action.isEnabled(), timeout=10_000)
    assert not window.start_action.isEnabled()


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

    def expanded(*path: Any) -> bool:
        node = view.model.node_for_path(path)
        return node is not None and view.tree.isExpanded(view.view_index(node))

    # the whole small state, nested containers too (hash -> values), as the README promises
    qtbot.waitUntil(lambda: expanded("hash") and expanded("hash", "values") and expanded("cache"), timeout=3000)


def test_first_run_keeps_an_empty_list_open_for_what_comes(
    qtbot: Any, tmp_path: Path, loop: asyncio.AbstractEventLoop, dialogs: Dialogs
) -> None:
    script = tmp_path / "empty.py"
    script.write_text("def setup(server):\n    server.state.set('hash', {'values': []})\n")
    w = MainWindow(QSettings(str(tmp_path / "empty.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    try:
        run(qtbot, w, w.load_script(script))
        view = w.view
        qtbot.waitUntil(lambda: not w._expand_on_first_load, timeout=5000)
        with w.server.lockable:  # type: ignore[union-attr]  # as the demo's timer does
            w.server.state.get("hash")["values"].append(7)  # type: ignore[union-attr]
            w.server.state.touch("hash")  # type: ignore[union-attr]

        def first_value_shown() -> bool:
            node = view.model.node_for_path(("hash", "values", 0), fetch=False)  # shown, not fetched here
            return node is not None and view.tree.visualRect(view.from_source(view.model.index_of(node))).isValid()

        qtbot.waitUntil(first_value_shown, timeout=5000)
    finally:
        w.close()


def test_first_run_opens_only_the_entries_of_a_big_state(
    qtbot: Any, tmp_path: Path, loop: asyncio.AbstractEventLoop, dialogs: Dialogs
) -> None:
    script = tmp_path / "big.py"
    script.write_text("def setup(server):\n    server.state.set('hash', {'values': list(range(500))})\n")
    w = MainWindow(QSettings(str(tmp_path / "big.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    try:
        run(qtbot, w, w.load_script(script))
        view = w.view
        qtbot.waitUntil(lambda: not w._expand_on_first_load, timeout=5000)
        hash_node = view.model.node_for_path(("hash",))
        values = view.model.node_for_path(("hash", "values"))
        assert hash_node is not None and values is not None
        assert view.tree.isExpanded(view.view_index(hash_node))
        assert not view.tree.isExpanded(view.view_index(values))  # 500 rows would bury everything else
    finally:
        w.close()


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


def test_ctrl_t_shows_the_snapshot_it_took(
    qtbot: Any, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QInputDialog

    from desktop_app.ui.snapshots.snapshot_store import SnapshotStore

    dock = window.snapshots_dock
    dock.store = SnapshotStore(tmp_path / "snaps")
    window.jobs_dock.raise_()  # the Snapshots dock is behind another tab, as on a first run
    qtbot.waitUntil(lambda: not dock.isVisible() or dock.visibleRegion().isEmpty(), timeout=3000)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("before the deploy", True))
    window.activateWindow()
    qtbot.keyClick(window.view.tree, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: [i.label for i in dock.selected()] == ["before the deploy"], timeout=10_000)
    assert dock.isVisible() and not dock.visibleRegion().isEmpty()
    assert "before the deploy" in window.statusBar().currentMessage()


def test_help_and_snapshots_menus_offer_what_people_look_for(qtbot: Any, window: MainWindow) -> None:
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    assert [a.text() for a in menus["Help"].actions() if not a.isSeparator()] == [
        "Keyboard shortcuts",
        "About Shared State Studio",
    ]
    snapshot_items = [a.text() for a in menus["Snapshots"].actions() if not a.isSeparator()]
    assert {"Take snapshot…", "Diff with live", "Restore…"} <= set(snapshot_items)
    dialog = window.show_shortcuts()
    qtbot.addWidget(dialog)
    rows = dialog.rows()
    assert ("File", "Open state file", "Ctrl+O") in rows
    assert ("Snapshots", "Take snapshot", "Ctrl+T") in rows
    assert ("Jobs dock", "Run now", "Ctrl+Return") in rows
    assert ("Help", "Keyboard shortcuts", "F1") in rows


def test_toolbar_has_the_everyday_actions_with_icons_and_shortcuts(qtbot: Any, window: MainWindow) -> None:
    bar = window.toolbar
    actions = [a for a in bar.actions() if not a.isSeparator()]
    assert [bar.icon_name(a) for a in actions] == [
        "open", "save", "snapshot", "pause", "find", "server-start", "server-stop",
    ]
    assert all(not a.icon().isNull() for a in actions)
    tips = [a.toolTip() for a in actions]
    for keys in ("(Ctrl+O)", "(Ctrl+S)", "(Ctrl+T)", "(F8)", "(Ctrl+F)", "(F5)", "(Shift+F5)"):
        assert any(t.endswith(keys) for t in tips), (keys, tips)
    assert bar.objectName() and window.toolBarArea(bar) is not None  # saveState() remembers it by name


def test_toolbar_pause_and_go_live(qtbot: Any, window: MainWindow) -> None:
    button = window.toolbar.widgetForAction(window.toolbar_live_action)
    assert window.bridge.live and not window.toolbar_live_action.isCheckable()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.bridge.live, timeout=3000)
    assert window.toolbar.icon_name(window.toolbar_live_action) == "resume"
    assert "Go live (F8)" in window.toolbar_live_action.toolTip()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.bridge.live, timeout=3000)
    assert window.toolbar.icon_name(window.toolbar_live_action) == "pause"
