"""StateModel shows exactly the engine's values: a live update that Python calls equal but that differs in a
type (1 / 1.0 / True, deep down) or in key order still changes the rows, and cached text never outlives a copy."""

from __future__ import annotations

import time
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex

from desktop_app.ui.bridge.entry_snapshot import EntrySnapshot, StateDelta, freeze
from desktop_app.ui.tree.state_model import BATCH, NAME, TYPE, VALUE, StateModel

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def snap(name: str, value: Any, version: int = 1) -> EntrySnapshot:
    return EntrySnapshot(name, freeze(value), (), version, time.time(), "t")


def delta(*upserts: EntrySnapshot) -> StateDelta:
    return StateDelta(tuple(upserts), (), 0)


@pytest.fixture
def model(qtbot: Any, qtmodeltester: Any) -> StateModel:
    m = StateModel()
    qtmodeltester.check(m)  # attached throughout: every update below is checked as it happens
    return m


def fetch_all(model: StateModel, index: QModelIndex) -> None:
    while model.canFetchMore(index):
        model.fetch(index)


def rows(model: StateModel, parent: QModelIndex) -> list[tuple[str, ...]]:
    """(Name, Value, Type) as the tree shows them, in row order."""
    return [
        tuple(model.data(model.index(r, c, parent)) for c in (NAME, VALUE, TYPE))
        for r in range(model.rowCount(parent))
    ]


def record_changes(model: StateModel) -> list[Any]:
    """The nodes of every row a dataChanged covers, as they come."""
    nodes: list[Any] = []
    model.dataChanged.connect(
        lambda a, b, roles: nodes.extend(
            model.node_at(a.siblingAtRow(r)) for r in range(a.row(), b.row() + 1)
        )
    )
    return nodes


def changed_paths(nodes: list[Any]) -> set[tuple[Any, ...]]:
    return {node.path() for node in nodes if node is not None}


@pytest.mark.parametrize(
    ("old", "new", "child_rows", "parent_text"),
    [
        ({"x": 1}, {"x": True}, [("x", "true", "bool")], '{"x": true}'),
        ({"x": [1.0]}, {"x": [1]}, [("x", "[1]", "list (1)")], '{"x": [1]}'),
        ({"x": {"y": 0}}, {"x": {"y": 0.0}}, [("x", '{"y": 0.0}', "dict (1)")], '{"x": {"y": 0.0}}'),
        ({"s": {1, 2}}, {"s": {True, 2}}, [("s", "{2, true}", "set (2)")], '{"s": {2, true}}'),
    ],
)
def test_a_type_change_python_calls_equal_updates_the_rows(
    model: StateModel, old: Any, new: Any, child_rows: list[tuple[str, ...]], parent_text: str
) -> None:
    model.reset_entries([snap("h", old)])
    h = model.index(0, 0)
    fetch_all(model, h)
    rows(model, h)  # paint once: previews are cached
    model.data(model.index(0, VALUE))
    events = record_changes(model)
    model.apply_delta(delta(snap("h", new, version=2)))
    assert model.data(model.index(0, VALUE)) == parent_text  # not the old copy's cached preview
    assert rows(model, h) == child_rows
    assert ("h", child_rows[0][0]) in changed_paths(events)  # the view is told to repaint the row


def test_a_nested_type_change_shows_in_the_grandchild_rows(model: StateModel) -> None:
    model.reset_entries([snap("h", {"x": [1, 2]})])
    h = model.index(0, 0)
    fetch_all(model, h)
    x = model.index(0, 0, h)
    fetch_all(model, x)
    assert rows(model, x) == [("[0]", "1", "int"), ("[1]", "2", "int")]
    events = record_changes(model)
    model.apply_delta(delta(snap("h", {"x": [1, 2.0]}, version=2)))
    assert rows(model, x) == [("[0]", "1", "int"), ("[1]", "2.0", "float")]
    assert ("h", "x", 1) in changed_paths(events) and ("h", "x", 0) not in changed_paths(events)


def test_key_order_is_part_of_the_value(model: StateModel) -> None:
    model.reset_entries([snap("d", {"a": 1, "b": 2, "c": 3})])
    d = model.index(0, 0)
    fetch_all(model, d)
    model.data(model.index(0, VALUE))
    model.apply_delta(delta(snap("d", {"c": 3, "a": 1, "b": 2}, version=2)))
    assert [r[0] for r in rows(model, d)] == ["c", "a", "b"]
    assert model.data(model.index(0, VALUE)) == '{"c": 3, "a": 1, "b": 2}'


def test_a_partly_fetched_dict_reordered_shows_every_key_once(qtbot: Any, model: StateModel) -> None:
    keys = [f"k{i:03d}" for i in range(BATCH + 20)]
    model.reset_entries([snap("big", dict.fromkeys(keys, 0))])
    big = model.index(0, 0)
    model.fetch(big)
    assert model.rowCount(big) == BATCH and model.canFetchMore(big)
    reordered = keys[BATCH:] + keys[:BATCH]  # the same keys and values, in another order
    model.apply_delta(delta(snap("big", dict.fromkeys(reordered, 0), version=2)))
    fetch_all(model, big)
    shown = [model.data(model.index(r, NAME, big)) for r in range(model.rowCount(big))]
    assert shown == reordered


def test_an_equal_update_drops_the_old_copy_and_its_cached_text(model: StateModel) -> None:
    old = {"x": {"y": [1, 2]}, "s": {(1, 2)}}
    model.reset_entries([snap("h", old)])
    h = model.index(0, 0)
    fetch_all(model, h)
    for parent in (model.index(0, 0, h), model.index(1, 0, h)):
        fetch_all(model, parent)
        rows(model, parent)
    rows(model, h)
    model.data(model.index(0, VALUE))
    events = record_changes(model)
    new = snap("h", old, version=2)
    model.apply_delta(delta(new))
    paths = [("h",), ("h", "x"), ("h", "x", "y"), ("h", "s"), ("h", "s", 0)]
    nodes = [model.node_for_path(p) for p in paths]
    member = next(iter(new.value["s"]))
    fresh = [new.value, new.value["x"], new.value["x"]["y"], new.value["s"], member]
    assert all(n is not None and n.value is v for n, v in zip(nodes, fresh, strict=True))
    # Nothing differs, so no row below the entry is repainted, and no text cached from the old copy remains.
    assert changed_paths(events) <= {("h",)}
    assert [n.preview for n in nodes if n is not None] == [None] * len(paths)


def test_a_dict_key_of_another_type_is_another_row(model: StateModel) -> None:
    model.reset_entries([snap("h", {1: "a", "b": 2})])
    h = model.index(0, 0)
    fetch_all(model, h)
    assert [r[0] for r in rows(model, h)] == ["1", "b"]
    model.apply_delta(delta(snap("h", {True: "a", "b": 2}, version=2)))
    assert [r[0] for r in rows(model, h)] == ["true", "b"]
    assert model.node_for_path(("h", True)) is not None
