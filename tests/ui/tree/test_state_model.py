"""StateModel: lazy children, minimal row signals for live deltas, stable nodes, and QAbstractItemModelTester throughout."""

from __future__ import annotations

import time
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QModelRoleData, QModelRoleDataSpan, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from desktop_app.engine.server import Server
from desktop_app.ui.bridge.entry_snapshot import EntrySnapshot, Pending, StateDelta, freeze
from desktop_app.ui.bridge.state_bridge import StateBridge
from desktop_app.ui.tree import state_model, state_model_sync
from desktop_app.ui.tree.state_model import BATCH, NAME, TYPE, UPDATED, VALUE, Role, StateModel

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def snap(
    name: str, value: Any, version: int = 1, scope: tuple[str, ...] = (), thread: str = "t"
) -> EntrySnapshot:
    return EntrySnapshot(name, freeze(value), scope, version, time.time(), thread)


def delta(
    *upserts: EntrySnapshot, removed: tuple[str, ...] = (), renamed: tuple[tuple[str, str], ...] = ()
) -> StateDelta:
    return StateDelta(tuple(upserts), removed, 0, renamed)


class Recorder:
    """Counts the model's structural signals, to prove updates are incremental."""

    def __init__(self, model: StateModel) -> None:
        self.events: list[tuple[Any, ...]] = []
        model.rowsInserted.connect(lambda p, a, b: self.events.append(("insert", self._path(model, p), a, b)))
        model.rowsRemoved.connect(lambda p, a, b: self.events.append(("remove", self._path(model, p), a, b)))
        model.dataChanged.connect(lambda a, b, roles: self.events.append(("changed", self._path(model, a))))
        model.modelReset.connect(lambda: self.events.append(("reset",)))
        model.layoutChanged.connect(lambda *a: self.events.append(("layout",)))

    @staticmethod
    def _path(model: StateModel, index: QModelIndex) -> Any:
        node = model.node_at(index)
        return node.path() if node is not None else ()

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]


@pytest.fixture
def model(qtbot: Any, qtmodeltester: Any) -> StateModel:
    m = StateModel()
    # The tester stays attached: every reset and delta below is checked as it happens.
    qtmodeltester.check(m)
    return m


def child(model: StateModel, *path: Any) -> QModelIndex:
    node = model.node_for_path(path)
    assert node is not None, path
    return model.index_of(node)


def test_rows_columns_and_text(model: StateModel) -> None:
    model.reset_entries(
        [
            snap("count", 5, scope=("users",)),
            snap("hash", {"values": [1, 2, 3], "name": "x"}),
            snap("none", None),
        ]
    )
    assert model.rowCount() == 3
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(6)] == [
        "Name",
        "Value",
        "Type",
        "Scope",
        "Updated",
        "By",
    ]
    hash_index = model.index(1, 0)
    assert model.data(hash_index) == "hash"
    assert model.data(model.index(1, TYPE)) == "dict (2)"
    assert model.data(model.index(0, VALUE)) == "5"
    assert model.data(model.index(2, VALUE)) == "null"  # JSON, as the state files write it
    assert model.data(model.index(0, 3)) == "users"
    assert model.hasChildren(hash_index)
    assert not model.hasChildren(model.index(0, 0))
    assert model.rowCount(hash_index) == 0 and model.canFetchMore(hash_index)
    model.fetch(hash_index)
    assert model.rowCount(hash_index) == 2
    values = child(model, "hash", "values")
    model.fetch(values)
    assert [model.data(model.index(r, NAME, values)) for r in range(3)] == ["[0]", "[1]", "[2]"]
    assert model.data(model.index(0, VALUE, values), Qt.ItemDataRole.EditRole) == 1
    assert model.data(model.index(0, VALUE, values), Role.PATH_TEXT) == 'hash["values"][0]'
    # int and str values edit in place; containers do not
    assert model.flags(model.index(0, VALUE)) & Qt.ItemFlag.ItemIsEditable
    assert not model.flags(model.index(1, VALUE)) & Qt.ItemFlag.ItemIsEditable
    assert model.flags(model.index(1, NAME)) & Qt.ItemFlag.ItemIsEditable


def test_big_containers_fetch_in_batches_and_previews_are_cut(model: StateModel) -> None:
    model.reset_entries([snap("big", list(range(1_234))), snap("long", "x" * 5000)])
    big = model.index(0, 0)
    fetched = []
    while model.canFetchMore(big):
        model.fetch(big)
        fetched.append(model.rowCount(big))
    assert fetched == [BATCH, 2 * BATCH, 1_234]
    text = model.data(model.index(1, VALUE))
    assert len(text) <= 201 and text.endswith("…")
    assert model.data(model.index(0, VALUE)).endswith("…")


def test_live_delta_is_incremental_and_keeps_nodes(model: StateModel) -> None:
    model.reset_entries([snap("a", 1), snap("hash", {"values": [1, 2, 3], "name": "x"}), snap("z", "keep")])
    model.fetch(model.index(1, 0))
    model.fetch(child(model, "hash", "values"))
    hash_node = model.node_for_path(("hash",))
    values_node = model.node_for_path(("hash", "values"))
    one = model.node_for_path(("hash", "values", 1))
    kept = QPersistentModelIndex(model.index_of(one))
    rec = Recorder(model)
    model.apply_delta(delta(snap("hash", {"values": [1, 20, 3, 4], "name": "x"}, version=2), snap("new", 7)))
    assert "reset" not in rec.kinds() and "layout" not in rec.kinds()
    # the nested change: one row changed, one row inserted in the list, one entry appended at the root
    assert ("insert", ("hash", "values"), 3, 3) in rec.events
    assert ("insert", (), 3, 3) in rec.events
    changed = {e[1] for e in rec.events if e[0] == "changed"}
    assert changed == {("hash",), ("hash", "values"), ("hash", "values", 1)}
    assert (
        model.node_for_path(("hash",)) is hash_node and model.node_for_path(("hash", "values")) is values_node
    )
    assert model.node_for_path(("hash", "values", 1)) is one and kept.isValid() and kept.row() == 1
    assert model.data(model.index_of(one, VALUE)) == "20"
    # removals: an entry and a dict key
    rec.events.clear()
    model.apply_delta(delta(snap("hash", {"values": [1, 20, 3, 4]}, version=3), removed=("a",)))
    assert ("remove", (), 0, 0) in rec.events
    assert ("remove", ("hash",), 1, 1) in rec.events
    assert model.rowCount() == 3 and model.data(model.index(0, 0)) == "hash"
    assert kept.isValid() and model.node_at(kept) is one


def test_changed_rows_highlight_and_fade(model: StateModel, monkeypatch: pytest.MonkeyPatch) -> None:
    model.reset_entries([snap("a", 1), snap("b", 2)])
    assert not model.fading()
    model.apply_delta(delta(snap("a", 10, version=2)))
    a = model.index(0, 0)
    assert model.fading()
    assert model.data(a, Qt.ItemDataRole.BackgroundRole) is not None
    assert model.data(model.index(0, UPDATED)).startswith("● ")  # the non-colour cue
    assert model.data(model.index(1, 0), Qt.ItemDataRole.BackgroundRole) is None
    later = time.monotonic() + 2.5
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert not model.fading()
    assert model.data(a, Qt.ItemDataRole.BackgroundRole) is None
    assert not model.data(model.index(0, UPDATED)).startswith("●")


def test_renames_keep_the_node_and_type_changes_swap_children(model: StateModel) -> None:
    model.reset_entries([snap("old", {"k": [1, 2]}), snap("other", 1)])
    model.fetch(model.index(0, 0))
    node = model.node_for_path(("old",))
    rec = Recorder(model)
    model.apply_delta(delta(snap("new", {"k": [1, 2]}, version=2), renamed=(("old", "new"),)))
    assert model.node_for_path(("new",)) is node and model.node_for_path(("old",)) is None
    assert "remove" not in rec.kinds() and "insert" not in rec.kinds()
    # a dict turned into a scalar loses its rows; a scalar turned into a list gains them
    model.apply_delta(delta(snap("new", 5, version=3), snap("other", [1, 2], version=2)))
    assert model.rowCount(model.index(0, 0)) == 0 and not model.hasChildren(model.index(0, 0))
    assert model.hasChildren(model.index(1, 0))


def test_pending_placeholder_then_value(model: StateModel) -> None:
    model.reset_entries([EntrySnapshot("late", Pending("dict", 3), (), 1, time.time(), "t")])
    assert "waits for the global lock" in model.data(model.index(0, VALUE))
    assert model.data(model.index(0, TYPE)) == "dict (3)"
    assert not model.hasChildren(model.index(0, 0))
    model.apply_delta(delta(snap("late", {"a": 1, "b": 2, "c": 3})))
    assert model.hasChildren(model.index(0, 0))
    assert model.data(model.index(0, TYPE)) == "dict (3)"


def test_dict_key_order_changes_are_applied(model: StateModel) -> None:
    model.reset_entries([snap("d", {"a": 1, "b": 2, "c": 3})])
    model.fetch(model.index(0, 0))
    model.apply_delta(delta(snap("d", {"a": 1, "x": 9, "c": 3, "y": 8}, version=2)))
    d = model.index(0, 0)
    assert [model.data(model.index(r, 0, d)) for r in range(model.rowCount(d))] == ["a", "x", "c", "y"]
    model.apply_delta(delta(snap("d", {"c": 3, "a": 1}, version=3)))
    assert [model.data(model.index(r, 0, d)) for r in range(model.rowCount(d))] == ["c", "a"]


def test_model_tester_with_a_live_server(qtbot: Any, qtmodeltester: Any) -> None:
    """QAbstractItemModelTester watches the real model while the engine inserts, removes, nests and resyncs."""
    server = Server()
    server.state.set("hash", {"values": [1, 2, 3], "meta": {"owner": "ann"}}, scope="users")
    server.state.set("count", 1)
    server.state.set("gone", "soon")
    server.state.set("tags", {"a", "b"})
    bridge = StateBridge(server)
    model = StateModel()
    bridge.entries_reset.connect(model.reset_entries)
    bridge.entries_changed.connect(model.apply_delta)
    qtmodeltester.check(model)
    bridge.start()
    try:
        qtbot.waitUntil(lambda: model.rowCount() == 4)
        for r in range(model.rowCount()):  # open everything, so nested changes have rows to change
            index = model.index(r, 0)
            while model.canFetchMore(index):
                model.fetch(index)
        model.fetch(child(model, "hash", "values"))
        model.fetch(child(model, "hash", "meta"))
        state = server.state
        state.set("added", [1, {"x": 2}])  # insert
        state.remove("gone")  # removal
        with state.edit("hash") as h:  # nested changes
            h["values"].append(4)
            h["values"][0] = 10
            del h["meta"]["owner"]
            h["meta"]["new"] = True
        state.rename("count", "counter")

        def nested_done() -> bool:
            node = model.node_for_path(("hash", "meta", "new"))
            return (
                model.has_entry("added")
                and not model.has_entry("gone")
                and node is not None
                and model.has_entry("counter")
            )

        qtbot.waitUntil(nested_done)
        assert model.rowCount(child(model, "hash", "values")) == 4
        state.clear()  # a resync (reset) ...
        state.set("after", 1)
        qtbot.waitUntil(lambda: model.rowCount() == 1 and model.has_entry("after"))
        bridge.request_resync()  # ... and a soft one
        state.set("soft", {"a": [1]})
        qtbot.waitUntil(lambda: model.has_entry("soft"))
    finally:
        bridge.stop()
        server.stop()


def test_a_huge_root_is_shown_in_pages(
    qtbot: Any, model: StateModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QTreeView lays out every root row on each root insert: a big state is exposed a page at a time."""
    page = 50  # the real page is 2,000 rows; a small one keeps the model tester quick
    monkeypatch.setattr(state_model, "ROOT_PAGE", page)
    monkeypatch.setattr(state_model_sync, "ROOT_PAGE", page)
    monkeypatch.setattr(state_model_sync, "LIVE_ROOT_LIMIT", page)
    model.reset_entries([snap(f"k{i:05d}", i) for i in range(page + 30)])
    root = QModelIndex()
    assert model.rowCount() == page and model.canFetchMore(root)
    model.fetchMore(root)  # deferred, like every fetchMore here
    qtbot.waitUntil(lambda: model.rowCount() == page + 30)
    assert not model.canFetchMore(root)
    model.limit_shown(page)
    assert model.rowCount() == page
    rec = Recorder(model)
    model.apply_delta(
        delta(snap("late", 1), snap(f"k{page + 5:05d}", -1, version=2), removed=(f"k{page + 9:05d}",))
    )
    assert rec.events == []  # all of it happened beyond the shown rows: no signals
    assert model.rowCount() == page and model.entry_count() == page + 30
    far = model.node_for_path(("late",))
    assert far is not None and not model.index_of(far).isValid()
    model.expose(far)
    assert model.index_of(far).isValid() and model.rowCount() == page + 30


def test_multi_data_answers_every_role_and_clears_stale_ones(model: StateModel) -> None:
    """Delegates fetch all paint roles at once, into a span that may still hold the previous cell's data."""
    model.reset_entries([snap("a", 1), snap("b", "text")])
    model.apply_delta(delta(snap("a", 2, version=2)))
    for row, highlighted in ((0, True), (1, False)):
        background = QModelRoleData(Qt.ItemDataRole.BackgroundRole)
        background.setData(QColor("red"))  # left over from another cell
        model.multiData(model.index(row, NAME), QModelRoleDataSpan(background))
        assert (background.data() is not None) == highlighted
        display = QModelRoleData(Qt.ItemDataRole.DisplayRole)
        model.multiData(model.index(row, VALUE), QModelRoleDataSpan(display))
        assert display.data() == model.data(model.index(row, VALUE))
