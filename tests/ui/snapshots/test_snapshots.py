"""Snapshots: the store on disk (survives restarts), the dock's diff (off the GUI thread), undoable restore, delete, export."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QUndoStack

from desktop_app.engine import persistence
from desktop_app.engine.errors import StateFileError
from desktop_app.engine.server import Server
from desktop_app.ui.bridge.state_bridge import StateBridge
from desktop_app.ui.snapshots.diff_view import COL_KIND, COL_PATH, COL_VALUE, DiffResult
from desktop_app.ui.snapshots.snapshot_store import SnapshotInfo, SnapshotStore, entries_of, slug
from desktop_app.ui.snapshots.snapshots_dock import SnapshotsDock

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def _fill(server: Server) -> None:
    server.state.set("hash", {"values": [1, 2, 3], "meta": {"owner": "ann"}}, scope="users")
    server.state.set("count", 1)
    server.state.set("gone", "soon")
    server.state.set("when", datetime(2026, 1, 2, 3, 4, 5))
    server.state.set("tags", {"a", "b"})


@pytest.fixture
def server() -> Server:
    srv = Server()
    _fill(srv)
    return srv


@pytest.fixture
def undo_stack(qtbot: Any) -> QUndoStack:
    return QUndoStack()


@pytest.fixture
def make_dock(qtbot: Any, tmp_path: Path, undo_stack: QUndoStack) -> Iterator[Any]:
    docks: list[SnapshotsDock] = []
    bridges: list[StateBridge] = []

    def make(folder: Path = tmp_path, server: Server | None = None, *, bridge: bool = False) -> SnapshotsDock:
        state_bridge = None
        if bridge:
            state_bridge = StateBridge(server)
            bridges.append(state_bridge)
        dock = SnapshotsDock(state_bridge, undo_stack, store=SnapshotStore(folder))
        qtbot.addWidget(dock)
        dock.set_server(server)
        docks.append(dock)
        return dock

    yield make
    for dock in docks:
        dock.set_server(None)
    for b in bridges:
        b.stop()


def _take(qtbot: Any, dock: SnapshotsDock, label: str) -> SnapshotInfo:
    with qtbot.waitSignal(dock.snapshot_taken) as sig:
        dock.take_snapshot(label)
    qtbot.waitUntil(lambda: dock.model.row_of(sig.args[0].path) >= 0)
    info: SnapshotInfo = sig.args[0]
    return info


def _diff(qtbot: Any, dock: SnapshotsDock, start: Any) -> DiffResult:
    with qtbot.waitSignal(dock.diff_ready, timeout=10_000) as sig:
        start()
    result: DiffResult = sig.args[0]
    return result


# -- the store ------------------------------------------------------------------------------------


def test_store_take_list_load_round_trip(tmp_path: Path, server: Server) -> None:
    store = SnapshotStore(tmp_path / "snaps")
    assert store.list() == []
    info = store.take(server.state, "Before deploy #2")
    assert info.path.parent == tmp_path / "snaps" and info.path.name.endswith("-before-deploy-2.json")
    assert info.label == "Before deploy #2" and info.entries == 5 and info.size == info.path.stat().st_size
    assert persistence.read_file(info.path).format == "pode-v2"  # type: ignore[union-attr]
    assert store.load(info) == entries_of(server.state)  # datetime and set survive (pode-v2)
    # "Restart": a new store over the same folder sees the same snapshot.
    again = SnapshotStore(tmp_path / "snaps").list()
    assert [(i.path, i.label, i.entries, i.size) for i in again] == [(info.path, info.label, 5, info.size)]


def test_store_default_folder_is_in_the_data_dir(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATE_STUDIO_DATA_DIR", str(tmp_path / "data"))
    store = SnapshotStore()
    assert not (tmp_path / "data").exists()  # creating a store does no I/O (the GUI thread may)
    info = store.take(server.state)
    assert info.path.parent == tmp_path / "data" / "snapshots" and store.list()[0].label == ""


def test_store_names_are_unique_and_listed_newest_first(tmp_path: Path, server: Server) -> None:
    store = SnapshotStore(tmp_path)
    taken = [store.take(server.state, "same") for _ in range(4)]
    assert len({i.path for i in taken}) == 4
    assert [i.path for i in store.list()] == [
        i.path for i in sorted(taken, key=lambda i: (i.time, i.path.name))
    ][::-1]
    assert slug("  Été / 2026!  ") == "t-2026" and slug("") == ""


def test_store_without_sidecar_falls_back_to_the_file(tmp_path: Path, server: Server) -> None:
    store = SnapshotStore(tmp_path)
    info = store.take(server.state, "hand copied")
    info.path.with_name(info.path.name.replace(".json", ".meta.json")).unlink()
    (tmp_path / "notes.json").write_text("{}")  # not a snapshot: ignored
    (listed,) = store.list()
    assert listed.label == "hand copied" and listed.entries == 5


def test_store_delete_prune_and_errors(tmp_path: Path, server: Server) -> None:
    store = SnapshotStore(tmp_path)
    manual = store.take(server.state, "keep me")
    autos = [store.take(server.state, "auto", auto=True) for _ in range(3)]
    assert [i.path for i in store.prune(1, auto_only=True)] == [autos[1].path, autos[0].path]
    assert {i.path for i in store.list()} == {manual.path, autos[2].path}
    store.delete(manual)
    assert not manual.path.exists() and [i.path for i in store.list()] == [autos[2].path]
    with pytest.raises(StateFileError, match="no longer exists"):
        store.load(manual)
    with pytest.raises(ValueError, match="unknown export format"):
        store.export(autos[2], tmp_path / "x.json", format="yaml")
    assert list(tmp_path.glob("*.tmp")) == []


# -- the dock -------------------------------------------------------------------------------------


def test_a_snapshot_taken_by_hand_is_selected_an_automatic_one_is_not(
    qtbot: Any, server: Server, make_dock: Any
) -> None:
    dock = make_dock(server=server)
    first = _take(qtbot, dock, "mine")
    qtbot.waitUntil(lambda: dock.selected() == [dock.model.info(dock.model.row_of(first.path))])
    server.state.set("count", 7)
    with qtbot.waitSignal(dock.snapshots_listed):
        with qtbot.waitSignal(dock.snapshot_taken):
            dock.auto_snapshot_now()
    assert dock.model.rowCount() == 2 and [i.path for i in dock.selected()] == [first.path]


def test_dock_takes_snapshots_that_survive_a_restart(
    qtbot: Any, qtmodeltester: Any, tmp_path: Path, server: Server, make_dock: Any
) -> None:
    dock = make_dock(server=server)
    assert dock.take_snapshot_action.shortcut() == QKeySequence("Ctrl+T")
    first = _take(qtbot, dock, "first")
    server.state.set("count", 2)
    second = _take(qtbot, dock, "")
    assert sorted(p.name for p in tmp_path.glob("*.json") if not p.name.endswith(".meta.json")) == sorted(
        [first.path.name, second.path.name]
    )
    assert dock.model.rowCount() == 2 and dock.model.index(0, 1).data() == "—"  # newest first, no label
    assert dock.model.index(1, 1).data() == "first" and dock.model.index(1, 2).data() == "5"
    qtmodeltester.check(dock.model)
    # An "app restart": a new dock over the same folder lists both.
    fresh = make_dock(tmp_path)
    qtbot.waitUntil(lambda: fresh.model.rowCount() == 2)
    assert [i.path for i in fresh.model.infos()] == [second.path, first.path]
    assert fresh.model.index(1, 1).data() == "first"


def test_diff_against_live_runs_off_the_gui_thread(
    qtbot: Any, qtmodeltester: Any, server: Server, make_dock: Any
) -> None:
    dock = make_dock(server=server)
    info = _take(qtbot, dock, "base")
    server.state.remove("gone")
    server.state.set("new", {"x": 1})
    with server.state.edit("hash") as h:
        h["values"].append(4)
        h["meta"]["owner"] = "bob"
    server.state.set("count", 1.0)  # a type change Python's == would miss
    dock.select(info)
    assert dock.diff_live_action.isEnabled()
    result = _diff(qtbot, dock, dock.diff_live_action.trigger)
    assert result.thread_ident != threading.main_thread().ident
    assert result.thread_name.startswith("snapshots-diff")
    got = sorted((c.kind, c.text_path) for c in result.changes)
    assert got == [
        ("added", 'hash["values"][3]'),
        ("added", "new"),
        ("changed", "count"),
        ("changed", 'hash["meta"]["owner"]'),
        ("removed", "gone"),
    ]
    assert result.counts == {"added": 2, "removed": 1, "changed": 2}
    model = dock.diff_view.model
    qtmodeltester.check(model)
    # Nested under their parents, marked by glyph, word, colour and icon.
    owner = model.index_of(("hash", "meta", "owner"))
    assert owner.isValid() and owner.data() == "owner"
    assert owner.parent().data() == "meta" and owner.parent().parent().data() == "hash"
    assert owner.siblingAtColumn(COL_KIND).data() == "~ changed"
    assert owner.siblingAtColumn(COL_VALUE).data() == '"ann" → "bob"'  # JSON, as the tree shows values
    assert not owner.data(Qt.ItemDataRole.DecorationRole).isNull()
    gone = model.index_of(("gone",))
    assert (
        gone.siblingAtColumn(COL_KIND).data() == "− removed"
        and gone.siblingAtColumn(COL_VALUE).data() == '"soon"'
    )
    added = model.index_of(("hash", "values", 3))
    assert added.data() == "[3]" and added.siblingAtColumn(COL_KIND).data() == "+ added"
    colours = {
        model.index_of(p).data(Qt.ItemDataRole.ForegroundRole).color().name() for p in [("gone",), ("new",)]
    }
    assert len(colours) == 2
    count = model.index_of(("count",))
    assert count.siblingAtColumn(COL_VALUE).data() == "1 → 1.0"
    assert "old (int)" in count.siblingAtColumn(COL_VALUE).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index_of(("hash",)).siblingAtColumn(COL_KIND).data() == "+1  ~1"
    assert dock.diff_view.tree.isExpanded(
        owner.parent().siblingAtColumn(COL_PATH)
    )  # small diffs open expanded


def test_diff_between_two_snapshots_is_older_to_newer(qtbot: Any, server: Server, make_dock: Any) -> None:
    dock = make_dock(server=server)
    old = _take(qtbot, dock, "old")
    server.state.set("count", 5)
    server.state.remove("tags")
    new = _take(qtbot, dock, "new")
    dock.select(new, old)
    assert dock.diff_pair_action.isEnabled() and not dock.diff_live_action.isEnabled()
    result = _diff(qtbot, dock, dock.diff_pair_action.trigger)
    assert result.title == "old → new"
    assert [(c.kind, c.text_path, c.old, c.new) for c in result.changes] == [
        ("changed", "count", 1, 5),
        ("removed", "tags", {"a", "b"}, None),
    ]


def test_big_diff_reports_progress(qtbot: Any, tmp_path: Path, make_dock: Any) -> None:
    server = Server()
    server.state.load_entries({f"k{i}": ({"v": i, "l": [i, i]}, []) for i in range(8_000)})
    dock = make_dock(server=server)
    info = _take(qtbot, dock, "big")
    server.state.set("k7", {"v": -1})
    progress: list[tuple[int, int]] = []
    dock.diffs.progressed.connect(lambda _g, done, total: progress.append((done, total)))
    result = _diff(qtbot, dock, lambda: dock.diff_with_live(info))
    assert [c.text_path for c in result.changes] == ['k7["v"]', 'k7["l"]']
    assert progress and progress[-1] == (8_000, 8_000)


@pytest.mark.parametrize("bridge", [False, True], ids=["own-edit-thread", "bridge"])
@pytest.mark.parametrize("merge", [False, True], ids=["replace", "merge"])
def test_restore_is_undoable_exactly(
    qtbot: Any, server: Server, make_dock: Any, undo_stack: QUndoStack, merge: bool, bridge: bool
) -> None:
    dock = make_dock(server=server, bridge=bridge)
    info = _take(qtbot, dock, "A")
    picture_a = server.state.snapshot()
    server.state.set("count", 99)
    server.state.remove("hash")
    server.state.set("extra", [1, {"deep": True}], scope=["s1", "s2"])
    picture_b = server.state.snapshot()
    dock.select(info)
    action = dock.restore_merge_action if merge else dock.restore_replace_action
    with qtbot.waitSignal(dock.state_restored):
        action.trigger()
    restored = server.state.snapshot()
    if merge:
        assert restored == {**picture_b, **picture_a}  # the snapshot's keys back, "extra" kept
    else:
        assert restored == picture_a
    assert undo_stack.count() == 1 and "Restore snapshot 'A'" in undo_stack.undoText()
    with qtbot.waitSignal(dock.state_restored):
        undo_stack.undo()
    assert server.state.snapshot() == picture_b
    assert server.state.get("extra", with_scope=True) == {"Value": [1, {"deep": True}], "Scope": ["s1", "s2"]}
    with qtbot.waitSignal(dock.state_restored):
        undo_stack.redo()
    assert server.state.snapshot() == restored


def test_restore_asks_and_enter_merges(qtbot: Any, server: Server, make_dock: Any) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    dock = make_dock(server=server)
    info = _take(qtbot, dock, "A")
    server.state.set("extra", 1)
    dock.select(info)
    assert dock.restore_action.isEnabled() and dock.restore_action.text() == "Restore…"
    asked: list[str] = []

    def press_enter() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        asked.append(box.text())
        qtbot.keyClick(box, Qt.Key.Key_Return)

    QTimer.singleShot(0, press_enter)
    with qtbot.waitSignal(dock.state_restored):
        dock.restore_action.trigger()
    assert asked == ["Restore 'A' into the live state?"]
    assert server.state.get("extra") == 1  # merged: what the snapshot does not have stays


@pytest.mark.parametrize("bridge", [False, True], ids=["own-edit-thread", "bridge"])
def test_restore_applies_off_the_gui_thread(qtbot: Any, server: Server, make_dock: Any, bridge: bool) -> None:
    dock = make_dock(server=server, bridge=bridge)
    info = _take(qtbot, dock, "A")
    seen: list[str] = []
    original = server.state.load_entries

    def spy(*args: Any, **kwargs: Any) -> None:
        seen.append(threading.current_thread().name)
        original(*args, **kwargs)

    server.state.load_entries = spy  # type: ignore[method-assign]
    with qtbot.waitSignal(dock.state_restored):
        dock.restore_snapshot(info, merge=False)
    assert seen and seen[0] == ("gui-edit" if bridge else "snapshots-edit_0")


def test_delete_and_export(qtbot: Any, tmp_path: Path, server: Server, make_dock: Any) -> None:
    dock = make_dock(tmp_path / "snaps", server=server)
    typed = _take(qtbot, dock, "typed")
    server.state.remove("when")
    server.state.remove("tags")
    plain = _take(qtbot, dock, "plain")

    # pode-v2 keeps datetime and set; "pode" holds JSON data only and says so, writing nothing.
    out_v2 = tmp_path / "out" / "typed.json"
    out_v2.parent.mkdir()
    dock.export_snapshot(typed, out_v2, "pode-v2").result(10)
    back = persistence.read_file(out_v2)
    assert back is not None and back.format == "pode-v2" and back.entries == dock.store.load(typed)
    with qtbot.waitSignal(dock.failed) as failed:
        dock.export_snapshot(typed, tmp_path / "out" / "typed-pode.json", "pode")
    assert "Pode 2.14 format" in failed.args[0] and not (tmp_path / "out" / "typed-pode.json").exists()
    out_pode = tmp_path / "out" / "plain.json"
    dock.export_snapshot(plain, out_pode, "pode").result(10)
    back = persistence.read_file(out_pode)
    assert back is not None and back.format == "pode" and back.entries == entries_of(server.state)

    dock.select(typed)
    assert dock.delete_action.isEnabled()
    dock.delete_snapshots(dock.selected())
    qtbot.waitUntil(lambda: [i.path for i in dock.model.infos()] == [plain.path])
    assert not typed.path.exists() and not typed.path.with_name(typed.path.stem + ".meta.json").exists()


def test_auto_snapshot_only_when_changed_and_keeps_the_last_k(
    qtbot: Any, server: Server, make_dock: Any
) -> None:
    dock = make_dock(server=server)
    assert not dock.auto_check.isChecked() and not dock.auto_timer.isActive()  # off by default
    dock.auto_keep.setValue(2)
    dock.auto_check.setChecked(True)
    assert dock.auto_timer.isActive() and dock.auto_timer.interval() == dock.auto_minutes.value() * 60_000
    with qtbot.waitSignal(dock.snapshot_taken):
        dock.auto_snapshot_now()
    assert dock.auto_snapshot_now() is None  # nothing changed since
    for n in range(3):
        server.state.set("count", 100 + n)
        with qtbot.waitSignal(dock.snapshot_taken):
            dock.auto_snapshot_now()
    autos = [i for i in dock.store.list() if i.auto]
    assert len(autos) == 2 and {i.label for i in autos} == {"auto"}
    dock.auto_check.setChecked(False)
    assert not dock.auto_timer.isActive()
