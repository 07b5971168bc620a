"""StateView through its real widgets: typed in-place edits, undo, dialogs, find, copy, live updates, pause, a held lock."""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QUndoStack
from PySide6.QtWidgets import QComboBox, QLineEdit

from desktop_app.engine.server import Server
from desktop_app.ui.tree.add_entry_dialog import AddEntryDialog, ChangeTypeDialog
from desktop_app.ui.tree.json_dialog import JsonEditDialog
from desktop_app.ui.tree.state_model import NAME, VALUE
from desktop_app.ui.tree.state_view import StateView
from tests.ui.tree.view_helpers import cell, click_ok, open_editor, select, settle, type_and_enter

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def test_edit_an_int_in_place_keeps_its_type(qtbot: Any, view: StateView, server: Server) -> None:
    editor = open_editor(qtbot, view, ("count",), VALUE)
    assert editor.text() == "1"
    type_and_enter(qtbot, editor, "42")
    qtbot.waitUntil(lambda: server.state.get("count") == 42)
    assert type(server.state.get("count")) is int
    qtbot.waitUntil(lambda: view.model.node_for_path(("count",)).value == 42)
    # nested: a list item, also an int
    editor = open_editor(qtbot, view, ("hash", "values", 1), VALUE)
    type_and_enter(qtbot, editor, "-7")
    qtbot.waitUntil(lambda: server.state.get("hash")["values"] == [1, -7, 3])
    settle(qtbot, view)
    assert view.undo_stack.undoText().startswith('Set hash["values"][1]')
    # a float stays a float, a str a str
    editor = open_editor(qtbot, view, ("ratio",), VALUE)
    type_and_enter(qtbot, editor, "2")
    qtbot.waitUntil(lambda: server.state.get("ratio") == 2.0)
    assert type(server.state.get("ratio")) is float
    editor = open_editor(qtbot, view, ("title",), VALUE)
    type_and_enter(qtbot, editor, "123")
    qtbot.waitUntil(lambda: server.state.get("title") == "123")


def test_text_in_an_int_field_is_refused_inline(qtbot: Any, view: StateView, server: Server) -> None:
    editor = open_editor(qtbot, view, ("count",), VALUE)
    type_and_enter(qtbot, editor, "abc")
    assert "not a whole number" in view.message_text()
    assert editor.isVisible()  # still open, with the text, so it can be fixed
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    settle(qtbot, view)
    assert server.state.get("count") == 1
    assert view.undo_stack.count() == 0


def test_rename_an_entry_and_a_nested_key(qtbot: Any, view: StateView, server: Server) -> None:
    editor = open_editor(qtbot, view, ("hash",), NAME)
    type_and_enter(qtbot, editor, "table")
    qtbot.waitUntil(lambda: server.state.test("table") and not server.state.test("hash"))
    assert server.state.get("table", with_scope=True)["Scope"] == ["users"]
    qtbot.waitUntil(lambda: view.model.has_entry("table"))
    editor = open_editor(qtbot, view, ("table", "meta"), NAME)
    type_and_enter(qtbot, editor, "info")
    qtbot.waitUntil(lambda: list(server.state.get("table")) == ["values", "info"])  # position kept
    settle(qtbot, view)
    view.undo_stack.undo()
    qtbot.waitUntil(lambda: list(server.state.get("table")) == ["values", "meta"])


def test_a_taken_or_empty_name_is_refused(qtbot: Any, view: StateView, server: Server) -> None:
    editor = open_editor(qtbot, view, ("hash",), NAME)
    type_and_enter(qtbot, editor, "COUNT")  # names are case-insensitive
    assert "already exists" in view.message_text()
    editor.clear()
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert "cannot be empty" in view.message_text()
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    editor = open_editor(qtbot, view, ("hash", "meta"), NAME)
    type_and_enter(qtbot, editor, "values")
    assert "already exists" in view.message_text()
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    settle(qtbot, view)
    assert server.state.names() == ["count", "ratio", "hash", "title"]
    assert list(server.state.get("hash")) == ["values", "meta"]


def test_remove_then_undo_and_redo(qtbot: Any, view: StateView, server: Server) -> None:
    select(qtbot, view, ("hash", "values", 0))
    qtbot.keyClick(view.tree, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: server.state.get("hash")["values"] == [2, 3])
    select(qtbot, view, ("title",))
    qtbot.keyClick(view.tree, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: not server.state.test("title"))
    qtbot.waitUntil(lambda: not view.model.has_entry("title"))
    settle(qtbot, view)
    assert view.undo_stack.undoText() == "Remove title"
    view.undo_stack.undo()
    qtbot.waitUntil(lambda: server.state.get("title") == "hello")
    view.undo_stack.undo()
    qtbot.waitUntil(lambda: server.state.get("hash")["values"] == [1, 2, 3])
    view.undo_stack.redo()
    qtbot.waitUntil(lambda: server.state.get("hash")["values"] == [2, 3])
    view.undo_stack.redo()
    qtbot.waitUntil(lambda: not server.state.test("title"))


def test_add_an_entry_and_a_child(qtbot: Any, view: StateView, server: Server) -> None:
    view.edit.add_entry.trigger()
    dialog = view.active_dialog
    assert isinstance(dialog, AddEntryDialog)
    assert dialog.name_edit is not None and dialog.scope_edit is not None
    dialog.name_edit.setText("orders")
    dialog.value_edit.setPlainText('{"open": [1, 2]}')
    dialog.scope_edit.setText("shop, users")
    click_ok(dialog)
    qtbot.waitUntil(
        lambda: (
            server.state.get("orders", with_scope=True)
            == {"Value": {"open": [1, 2]}, "Scope": ["shop", "users"]}
        )
    )
    qtbot.waitUntil(lambda: view.model.has_entry("orders"))
    select(qtbot, view, ("orders",))
    view.edit.add_child.trigger()
    dialog = view.active_dialog
    assert isinstance(dialog, AddEntryDialog) and dialog.name_edit is not None
    dialog.name_edit.setText("closed")
    dialog.value_edit.setPlainText("[]")
    click_ok(dialog)
    qtbot.waitUntil(lambda: server.state.get("orders") == {"open": [1, 2], "closed": []})
    qtbot.waitUntil(lambda: view.model.node_for_path(("orders", "open")) is not None)
    select(qtbot, view, ("orders", "open"))
    view.edit.add_child.trigger()
    dialog = view.active_dialog
    assert isinstance(dialog, AddEntryDialog) and dialog.name_edit is None  # a list item has no key
    dialog.value_edit.setPlainText("3")
    click_ok(dialog)
    qtbot.waitUntil(lambda: server.state.get("orders")["open"] == [1, 2, 3])


def test_a_duplicate_or_empty_name_in_the_add_dialogs_changes_nothing(
    qtbot: Any, view: StateView, server: Server
) -> None:
    view.edit.add_entry.trigger()
    dialog = view.active_dialog
    assert isinstance(dialog, AddEntryDialog) and dialog.name_edit is not None
    dialog.name_edit.setText("Count")
    click_ok(dialog)
    assert dialog.isVisible() and "already taken" in dialog.error_label.text()
    dialog.name_edit.setText("  ")
    click_ok(dialog)
    assert dialog.isVisible() and "cannot be empty" in dialog.error_label.text()
    dialog.reject()
    select(qtbot, view, ("hash",))
    view.edit.add_child.trigger()
    dialog = view.active_dialog
    assert isinstance(dialog, AddEntryDialog) and dialog.name_edit is not None
    dialog.name_edit.setText("meta")
    click_ok(dialog)
    assert dialog.isVisible() and "already taken" in dialog.error_label.text()
    dialog.reject()
    settle(qtbot, view)
    assert len(server.state) == 4 and list(server.state.get("hash")) == ["values", "meta"]


def test_edit_as_json_points_at_a_syntax_error_and_changes_nothing(
    qtbot: Any, view: StateView, server: Server
) -> None:
    select(qtbot, view, ("hash",))
    qtbot.keyClick(view.tree, Qt.Key.Key_J, Qt.KeyboardModifier.ControlModifier)
    dialog = view.active_dialog
    assert isinstance(dialog, JsonEditDialog)
    text = '{\n  "values": [1, 2,, 3]\n}'
    dialog.editor.setPlainText(text)
    click_ok(dialog)
    assert dialog.isVisible()
    assert dialog.error_label.text().startswith("⚠ Line 2, column 19")
    assert dialog.editor.textCursor().position() == text.index(",,") + 1
    dialog.reject()
    settle(qtbot, view)
    assert server.state.get("hash") == {"values": [1, 2, 3], "meta": {"owner": "ann"}}
    # and a valid edit goes through, as one undoable step
    select(qtbot, view, ("hash",))
    view.edit.edit_json.trigger()
    dialog = view.active_dialog
    assert isinstance(dialog, JsonEditDialog)
    dialog.editor.setPlainText('{"values": [], "n": null}')
    click_ok(dialog)
    qtbot.waitUntil(lambda: server.state.get("hash") == {"values": [], "n": None})
    assert server.state.get("hash", with_scope=True)["Scope"] == ["users"]
    settle(qtbot, view)
    assert view.undo_stack.undoText() == "Edit hash as JSON"


def test_change_type_and_scopes(qtbot: Any, view: StateView, server: Server) -> None:
    select(qtbot, view, ("count",))
    view.edit.change_type.trigger()
    dialog = view.active_dialog
    assert isinstance(dialog, ChangeTypeDialog)
    dialog.type_combo.setCurrentText("str")
    assert dialog.value_edit.toPlainText() == '"1"'
    click_ok(dialog)
    qtbot.waitUntil(lambda: server.state.get("count") == "1")
    select(qtbot, view, ("title",))
    view.edit.edit_scopes.trigger()
    dialog = view.active_dialog
    assert dialog is not None
    edit = dialog.findChild(QLineEdit, "scope_edit")
    edit.setText("a, b")
    click_ok(dialog)
    qtbot.waitUntil(lambda: server.state.get("title", with_scope=True)["Scope"] == ["a", "b"])
    settle(qtbot, view)
    view.undo_stack.undo()
    qtbot.waitUntil(lambda: server.state.get("title", with_scope=True)["Scope"] == [])


def test_copy_value_and_path(qtbot: Any, view: StateView) -> None:
    select(qtbot, view, ("hash", "values"))
    qtbot.keyClick(view.tree, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "[\n  1,\n  2,\n  3\n]"
    qtbot.keyClick(
        view.tree, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert QGuiApplication.clipboard().text() == 'hash["values"]'
    select(qtbot, view, ("hash", "values", 2))
    view.edit.copy_path.trigger()
    assert QGuiApplication.clipboard().text() == 'hash["values"][2]'


def test_bool_uses_a_combo(qtbot: Any, view: StateView, server: Server) -> None:
    server.state.set("flag", True)
    qtbot.waitUntil(lambda: view.model.has_entry("flag"))
    editor = open_editor(qtbot, view, ("flag",), VALUE)
    assert isinstance(editor, QComboBox)
    editor.setCurrentText("false")  # JSON, as the tree shows it
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: server.state.get("flag") is False)


def test_timer_updates_show_within_half_a_second(qtbot: Any, view: StateView, server: Server) -> None:
    ticks: list[float] = []

    def tick(e: Any) -> None:
        with e.lockable:
            ticks.append(time.monotonic())
            e.state.set("ticks", len(ticks))

    server.add_timer("tick", 0.05, tick)
    server.start()
    qtbot.waitUntil(lambda: view.model.has_entry("ticks"), timeout=500 + 100)
    for _ in range(5):
        target = len(ticks)
        qtbot.waitUntil(
            lambda t=target: (view.model.node_for_path(("ticks",)) or object()).value >= t, timeout=500
        )


def test_expansion_and_selection_survive_live_updates(qtbot: Any, view: StateView, server: Server) -> None:
    deltas: list[Any] = []
    view.bridge.entries_changed.connect(deltas.append)
    select(qtbot, view, ("hash", "meta", "owner"))
    assert view.tree.isExpanded(cell(view, ("hash", "meta")))
    view.tree.expand(cell(view, ("hash", "values")))
    scroll = view.tree.verticalScrollBar().value()
    counter = {"n": 0}

    def tick(e: Any) -> None:
        with e.lockable:
            counter["n"] += 1
            h = e.state.get("hash")
            h["values"].append(counter["n"])
            h["values"][0] = counter["n"]
            e.state.touch("hash")
            e.state.set("count", counter["n"])
            e.state.set(f"k{counter['n'] % 7}", counter["n"])

    server.add_timer("tick", 0.01, tick)
    server.start()
    # Under load the bridge sends fewer, bigger frames (its CPU share is bounded), so the count of
    # deltas asked for is modest and the limit generous: on an idle machine 30 come within ~1 s.
    qtbot.waitUntil(lambda: len(deltas) >= 30 and counter["n"] >= 100, timeout=60_000)
    assert view.tree.isExpanded(cell(view, ("hash",)))
    assert view.tree.isExpanded(cell(view, ("hash", "meta")))
    assert view.tree.isExpanded(cell(view, ("hash", "values")))
    current = view.node_of(view.tree.currentIndex())
    assert current is not None and current.path() == ("hash", "meta", "owner")
    assert view.selected_node() is current
    assert view.tree.verticalScrollBar().value() == scroll


def test_paused_freezes_and_counts_then_live_catches_up(qtbot: Any, view: StateView, server: Server) -> None:
    view.live_action.trigger()
    assert not view.bridge.live
    for i in range(2, 12):
        server.state.set("count", i)
    qtbot.waitUntil(lambda: "Paused — 10 changes" in view.live_button.text())
    assert view.model.node_for_path(("count",)).value == 1
    view.live_action.trigger()
    qtbot.waitUntil(lambda: view.model.node_for_path(("count",)).value == 11)
    assert view.live_button.text() == "● Live"


def test_find_filters_keeps_ancestors_and_marks_matches(qtbot: Any, view: StateView) -> None:
    qtbot.keyClick(view.tree, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert view.filter_edit.isVisible()
    qtbot.keyClicks(view.filter_edit, "ann")
    qtbot.keyClick(view.filter_edit, Qt.Key.Key_Return)
    model = view.tree.model()
    assert [model.index(r, 0).data() for r in range(model.rowCount())] == ["hash"]
    hash_index = model.index(0, 0)
    assert view.tree.isExpanded(hash_index)  # opened down to the hit
    meta = [model.index(r, 0, hash_index) for r in range(model.rowCount(hash_index))]
    assert [i.data() for i in meta] == ["meta"]
    owner = model.index(0, VALUE, meta[0])
    assert owner.data() == '"ann"' and owner.data(Qt.ItemDataRole.FontRole).bold()
    assert not (hash_index.data(Qt.ItemDataRole.FontRole) or view.font()).bold()
    qtbot.keyClick(view.filter_edit, Qt.Key.Key_Escape)
    assert not view.filter_edit.isVisible()
    assert view.tree.model() is view.model and view.model.rowCount() == 4  # no proxy left in the way


def test_sorting_by_a_column_keeps_expansion_and_live_updates(
    qtbot: Any, view: StateView, server: Server
) -> None:
    view.tree.expand(cell(view, ("hash",)))
    header = view.tree.header()
    header.setSortIndicator(NAME, Qt.SortOrder.DescendingOrder)
    shown = view.tree.model()
    assert shown is not view.model
    assert [shown.index(r, 0).data() for r in range(shown.rowCount())] == ["title", "ratio", "hash", "count"]
    assert view.tree.isExpanded(cell(view, ("hash",)))
    server.state.set("zebra", 1)
    qtbot.waitUntil(lambda: shown.rowCount() == 5)
    assert shown.index(0, 0).data() == "zebra"
    header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # cleared: the state's own order, no proxy
    assert view.tree.model() is view.model
    assert [view.model.index(r, 0).data() for r in range(5)] == ["count", "ratio", "hash", "title", "zebra"]
    assert view.tree.isExpanded(cell(view, ("hash",)))


def test_settings_round_trip(qtbot: Any, view: StateView, tmp_path: Any) -> None:
    view.tree.expand(cell(view, ("hash",)))
    view.tree.header().resizeSection(VALUE, 444)
    view.live_action.trigger()
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    view.save_settings(settings)
    other = StateView(view.bridge, QUndoStack())
    qtbot.addWidget(other)
    other.restore_settings(settings)
    assert other.tree.header().sectionSize(VALUE) == 444
    assert ("hash",) in other.expanded_paths()
    assert not view.bridge.live
    view.live_action.trigger()


def test_a_held_lock_keeps_the_window_responsive_and_an_edit_waits(
    qtbot: Any, view: StateView, server: Server
) -> None:
    """R7: a worker holds the global lockable ~2.5 s; the GUI keeps servicing events, says who holds it,
    an edit attempted meanwhile waits visibly in its row, and Esc cancels it with nothing changed."""
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with server.lockable:
            holding.set()
            release.wait(2.5)

    worker = threading.Thread(target=hold, name="worker")
    latencies: list[float] = []
    posted: dict[str, float] = {}

    def probe() -> None:
        posted["t"] = time.perf_counter()
        QTimer.singleShot(0, lambda: latencies.append(time.perf_counter() - posted["t"]))

    prober = QTimer()
    prober.setInterval(10)
    prober.timeout.connect(probe)
    worker.start()
    try:
        assert holding.wait(2)
        prober.start()
        editor = open_editor(qtbot, view, ("count",), VALUE)
        type_and_enter(qtbot, editor, "99")
        row = cell(view, ("count",), VALUE)
        qtbot.waitUntil(lambda: row.data() == "waiting for lock — held by worker", timeout=2000)
        assert "Esc" in view.message_text()
        qtbot.waitUntil(lambda: "held by worker" in view.lock_label.text(), timeout=2000)
        status = view.bridge.last_lock_status
        assert status is not None and status.holder is not None and status.holder.thread == "worker"
        qtbot.waitUntil(lambda: len(latencies) >= 100, timeout=5000)
        qtbot.keyClick(view.tree, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: not view.runner.in_flight)
        assert cell(view, ("count",), VALUE).data() == "1"
        assert "Cancelled" in view.message_text()
        assert worker.is_alive()  # all of this happened while the lock was held
    finally:
        prober.stop()
        release.set()
        worker.join()
    settle(qtbot, view)
    assert server.state.get("count") == 1
    assert view.undo_stack.count() == 0
    p95 = statistics.quantiles(latencies, n=20)[-1]
    assert p95 < 0.2, f"event loop p95 {p95 * 1000:.0f} ms (mean {statistics.mean(latencies) * 1000:.1f} ms)"


def test_a_live_update_never_overwrites_what_is_being_typed(
    qtbot: Any, view: StateView, server: Server
) -> None:
    deltas: list[Any] = []
    view.bridge.entries_changed.connect(deltas.append)
    editor = open_editor(qtbot, view, ("count",), VALUE)
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, "77")
    server.state.set("count", 5)
    qtbot.waitUntil(lambda: any(s.name == "count" for d in deltas for s in d.upserted))
    assert editor.text() == "77" and editor.isVisible()
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: server.state.get("count") == 77)
