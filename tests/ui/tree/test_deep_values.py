"""The tree shows, searches and live-updates a value nested as deep as a state file may hold (MAX_DEPTH)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from desktop_app.engine.persistence import MAX_DEPTH
from desktop_app.ui.bridge.entry_snapshot import EntrySnapshot, StateDelta, freeze
from desktop_app.ui.common.value_text import json_lossy_parts, preview, to_json_data
from desktop_app.ui.tree.state_filter import StateFilterModel
from desktop_app.ui.tree.state_model import VALUE, Role, StateModel

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def nest(kind: str, leaf: Any) -> tuple[Any, tuple[Any, ...]]:
    """A MAX_DEPTH-deep value around ``leaf`` and the keys from its top down to the leaf."""
    value, keys = leaf, []
    for level in range(MAX_DEPTH):
        if kind == "list" or (kind == "mixed" and level % 2):
            value, key = [value], 0
        else:
            value, key = {"k": value}, "k"
        keys.append(key)
    return value, tuple(reversed(keys))


def snap(value: Any, version: int) -> EntrySnapshot:
    return EntrySnapshot("deep", freeze(value), (), version, time.time(), "t")


@pytest.mark.parametrize("kind", ["list", "dict", "mixed"])
def test_a_max_depth_value_is_shown_searched_and_updated_to_its_bottom(
    kind: str, qtbot: Any, qtmodeltester: Any
) -> None:
    value, keys = nest(kind, "needle-1")
    model = StateModel()
    if kind == "mixed":  # the tester re-checks the model on every fetch: once is enough (and slow)
        qtmodeltester.check(model)
    model.reset_entries([snap(value, 1)])
    assert preview(model.top_nodes()[0].value, 10**6).count("needle-1") == 1
    assert to_json_data(value) == value and json_lossy_parts(value) == []

    leaf = model.node_for_path(("deep", *keys))  # fetches every level on the way down
    assert leaf is not None
    assert model.data(model.index_of(leaf, VALUE)) == '"needle-1"'  # strings read as JSON
    assert model.data(model.index_of(leaf, VALUE), Role.PATH_TEXT).startswith("deep")

    search = StateFilterModel(model)
    search.setSourceModel(model)
    search.set_needle("needle-1")
    assert search.rowCount() == 1 and search.matches(leaf)

    deeper, _ = nest(kind, "needle-2")
    model.apply_delta(StateDelta((snap(deeper, 2),), (), 2))
    assert model.node_for_path(("deep", *keys)) is leaf and leaf.value == "needle-2"


def test_a_max_depth_state_is_snapshotted_and_loaded_back(tmp_path: Any) -> None:
    from desktop_app.engine import SharedState
    from desktop_app.ui.snapshots.snapshot_store import SnapshotStore

    value, _ = nest("mixed", "leaf")
    state = SharedState()
    state.set("deep", value, scope="users")
    store = SnapshotStore(tmp_path)
    info = store.take(state, "deep")  # state.snapshot(), then a pode-v2 file
    assert store.load(info) == {"deep": (value, ["users"])}
