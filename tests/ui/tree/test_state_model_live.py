"""The tree shows exactly the engine's values while a worker thread changes them, and Qt's model checker
watches the state model, the Find proxy and the sort proxy all along.

A real Server, a real bridge thread, a real worker thread and the real Qt event loop. After each phase the
fully fetched model is compared with ``state.snapshot()``, strictly: types (1, 1.0 and True differ, a tuple
is not a list), dict key order, and the Name / Type / Value text of every row; and every row whose text
changed since the last phase must have been announced with ``dataChanged`` (a view repaints nothing else).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QTreeView

from desktop_app.engine.server import Server
from desktop_app.engine.state import SharedState
from desktop_app.ui.bridge.state_bridge import StateBridge
from desktop_app.ui.common.value_text import preview, type_label
from desktop_app.ui.tree.state_model import NAME, SCOPE, TYPE, VALUE, Node, StateModel
from desktop_app.ui.tree.state_model_chain import ModelChain
from tests.ui.model_checks import attach_checkers, run_worker

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

ITEMS = 4
"""item000... entries: Qt's checker walks the whole model on every signal, so the state stays small
(a fully fetched row costs it some 40 Python calls)."""
NEEDLE = "a"
"""The Find text while the test runs: some entries match it, the 10k batch's (b00...) do not."""


# -- what the tree must show -----------------------------------------------------------------------


def canon(v: Any) -> Any:
    """A picture of a value in which == is strict: every type named, dict keys in order, sets sorted."""
    t = type(v)
    if t is float:
        return ("float", "nan" if math.isnan(v) else repr(v))
    if t is dict:
        return ("dict", tuple((canon(k), canon(x)) for k, x in v.items()))
    if t is list or t is tuple:
        return (t.__name__, tuple(canon(x) for x in v))
    if t is set or t is frozenset:  # the bridge copies a set as a frozenset; both show as "set"
        return ("set", tuple(sorted((canon(x) for x in v), key=repr)))
    return (t.__name__, v)


def children_of(v: Any) -> list[tuple[str, Any]]:
    """(Name text, value) of a container's rows, in the order the tree shows them."""
    if isinstance(v, dict):
        return [(k if isinstance(k, str) else repr(k), x) for k, x in v.items()]
    if isinstance(v, list | tuple):
        return [(f"[{i}]", x) for i, x in enumerate(v)]
    if isinstance(v, set | frozenset):
        return [("·", x) for x in sorted(v, key=repr)]
    return []


def expected_rows(items: list[tuple[str, Any]]) -> list[Any]:
    return [(name, type_label(v), preview(v), canon(v), expected_rows(children_of(v))) for name, v in items]


def expected_picture(snapshot: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        name: (", ".join(e["Scope"]), expected_rows([(name, e["Value"])])[0]) for name, e in snapshot.items()
    }


def fetch_everything(model: StateModel) -> None:
    model.show_all()
    stack = [QModelIndex()]
    while stack:
        parent = stack.pop()
        if parent.isValid():
            while model.canFetchMore(parent):
                model.fetch(parent, 1 << 30)  # all at once: one insert, so one walk of Qt's checker
        stack.extend(
            model.index(r, 0, parent)
            for r in range(model.rowCount(parent))
            if model.hasChildren(model.index(r, 0, parent))
        )


def model_rows(model: StateModel, parent: QModelIndex) -> list[Any]:
    rows = []
    for r in range(model.rowCount(parent)):
        index = model.index(r, NAME, parent)
        node = model.node_at(index)
        assert node is not None
        texts = [model.index(r, c, parent).data() for c in (NAME, TYPE, VALUE)]
        rows.append((*texts, canon(node.value), model_rows(model, index)))
    return rows


def model_picture(model: StateModel) -> dict[str, Any]:
    fetch_everything(model)
    picture: dict[str, Any] = {}
    for r, row in enumerate(model_rows(model, QModelIndex())):
        assert row[0] not in picture, f"{row[0]} shown twice"
        picture[row[0]] = (model.index(r, SCOPE).data(), row)
    return picture


def first_difference(actual: Any, expected: Any, path: str = "") -> str:
    if isinstance(actual, dict) and isinstance(expected, dict):
        if list(actual) != list(expected) and set(actual) != set(expected):
            return f"{path}: entries {sorted(set(actual) ^ set(expected))[:10]} differ"
        for k in expected:
            if actual[k] != expected[k]:
                return first_difference(actual[k], expected[k], f"{path}/{k}")
    if (
        isinstance(actual, list | tuple)
        and isinstance(expected, list | tuple)
        and len(actual) == len(expected)
    ):
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            if a != e:
                return first_difference(a, e, f"{path}[{i}]")
    return f"{path}: the tree shows {actual!r:.300}, the engine has {expected!r:.300}"


def assert_tree_shows(model: StateModel, state: SharedState) -> None:
    expected = expected_picture(state.snapshot())
    actual = model_picture(model)
    # The root's order is the order entries reached the tree (a rename keeps its row), so compare by name.
    assert dict(sorted(actual.items())) == dict(sorted(expected.items())), first_difference(
        dict(sorted(actual.items())), dict(sorted(expected.items()))
    )


def assert_find_and_sort(chain: ModelChain, model: StateModel) -> None:
    top = chain.sort_model
    shown = [top.index(r, NAME).data() for r in range(top.rowCount())]
    assert shown == sorted(shown, key=str.casefold), "the sort proxy is out of order"
    names = [model.index(r, NAME).data() for r in range(model.rowCount())]
    assert {n for n in names if NEEDLE in n.casefold()} <= set(shown), "Find hides a matching entry"


# -- what the worker does ----------------------------------------------------------------------------


def new_keys(state: SharedState, tmp: Path) -> None:
    state.set("hash", {"values": [1, 2, 3], "meta": {"owner": "ann", "n": 1.5}}, scope="users")
    state.set("count", 0, scope=["users", "stats"])
    state.set("flags", {"on": True, "off": False, "ratio": 1.0})
    state.set("tags", {3, 1, 2})
    state.set("pair", (1, "two", (3.0, None)))
    state.set("nested", {"a": {"b": {"c": [1, {"d": None}]}}, "z": 0})
    state.set("zeros", [0.0, -0.0, 0, False])
    for i in range(ITEMS):
        state.set(f"item{i:03d}", {"i": i, "sq": [i, i * i], "name": f"n{i}"})


def nested_edits(state: SharedState, tmp: Path) -> None:
    with state.edit("hash") as h:
        h["values"].append(4)
        h["values"][0] = 10
        h["meta"]["n"] = 2  # 1.5 -> 2: a float becomes an int
    for i in range(0, ITEMS, 3):
        with state.edit(f"item{i:03d}") as v:
            v["sq"][1] = float(v["sq"][1])  # 9 -> 9.0: equal to Python, not to the tree
            v["new"] = True
    with state.lockable:  # in place, without touch(): only the bridge's rescan can find these
        state.get("flags")["on"] = 1  # True -> 1
        nested = state.get("nested")
        nested["a"] = nested.pop("a")  # the same keys and values, in another order
        state.get("zeros")[1] = 0.0  # -0.0 -> 0.0


def subtree_removals(state: SharedState, tmp: Path) -> None:
    with state.edit("nested") as n:
        del n["a"]["b"]
    with state.edit("hash") as h:
        del h["meta"]
    for i in range(0, ITEMS, 2):
        state.remove(f"item{i:03d}")


def renames(state: SharedState, tmp: Path) -> None:
    state.rename("count", "counter")
    state.rename("hash", "HASH")  # only the case changes
    state.rename(f"item{ITEMS - 1:03d}", "moved")
    state.set(f"item{ITEMS - 1:03d}", "a new entry under the old name")


def type_flips(state: SharedState, tmp: Path) -> None:
    for k in range(20):
        state.set("flip", {"a": k, "b": [k]} if k % 2 else k)
        with state.edit("HASH") as h:
            h["values"] = [k, float(k)] if k % 2 else k
    state.set("flags", {"on": True, "off": 0, "ratio": 1})
    state.set("tags", {1, 2, 3, 4})
    state.set("pair", [1, "two", [3.0, None]])  # tuples -> lists


def small_state(state: SharedState, tmp: Path) -> None:
    new_keys(state, tmp)
    state.save(tmp / "saved.json", format="pode-v2")  # typed: sets, tuples and -0.0 come back as they were
    with state.edit("hash") as h:
        h["values"] = 1


def clear(state: SharedState, tmp: Path) -> None:
    state.clear()
    state.set("after", {"x": 1})


BATCH_KINDS: list[Callable[[int], Any]] = [int, float, bool]


def batch_value(key: int, kind: int, n: int) -> Any:
    v = BATCH_KINDS[kind % len(BATCH_KINDS)](n)
    return {"v": v, "w": [v]} if key % 5 == 0 else v


def batch_10k(state: SharedState, tmp: Path) -> None:
    """10,000 writes in one burst (as many as the change ring holds) over 50 new keys. Each write turns a
    0 or 1 into an int, a float or a bool: values Python calls equal, some of them nested in dicts.

    Not 10,000 new rows: Qt's checker walks the whole model on every signal, and such a load arrives in
    many deltas, which takes minutes (test_state_model.py checks the paging of a huge root).
    """
    for i in range(10_000):
        key = i % 50
        state.set(f"b{key:02d}", batch_value(key, i // 50 + key, i // 50 % 2))


def retype(state: SharedState, tmp: Path) -> None:
    """Each batch key once more, equal in Python's eyes (1 == 1.0 == True), of another type."""
    for key in range(50):
        state.set(f"b{key:02d}", batch_value(key, 199 + key + 1, 1))


def replacing_restore(state: SharedState, tmp: Path) -> None:
    state.restore(tmp / "saved.json")


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.stop()


def watch_live(
    qtbot: Any, qtmodeltester: Any, server: Server
) -> tuple[StateBridge, StateModel, ModelChain, list[Any]]:
    """The model fed by a bridge, behind the Find and sort proxies as the tree shows it; a checker on each."""
    bridge = StateBridge(server)
    model = StateModel()
    bridge.entries_reset.connect(model.reset_entries)
    bridge.entries_changed.connect(model.apply_delta)
    tree = QTreeView()
    qtbot.addWidget(tree)
    chain = ModelChain(model, tree)
    chain.set_needle(NEEDLE)
    chain.set_sort(NAME, Qt.SortOrder.AscendingOrder)
    assert tree.model() is chain.sort_model and chain.sort_model.sourceModel() is chain.filter_model
    checkers = attach_checkers(qtmodeltester, model, chain.filter_model, chain.sort_model)
    return bridge, model, chain, checkers


class Announced:
    """The rows a view was told changed (``dataChanged``), and whether the model was reset, since ``take()``."""

    def __init__(self, model: StateModel) -> None:
        self.model = model
        self.nodes: set[Node] = set()
        self.reset = False
        model.dataChanged.connect(self._changed)
        model.modelReset.connect(self._reset)

    def _changed(self, first: QModelIndex, last: QModelIndex, roles: Any) -> None:
        for r in range(first.row(), last.row() + 1):
            node = self.model.node_at(first.siblingAtRow(r))
            if node is not None:
                self.nodes.add(node)

    def _reset(self) -> None:
        self.reset = True

    def take(self) -> tuple[set[Node], bool]:
        taken = self.nodes, self.reset
        self.nodes, self.reset = set(), False
        return taken


def texts_by_node(model: StateModel) -> dict[Node, tuple[str, ...]]:
    return {
        node: tuple(model.index_of(node, c).data() for c in (NAME, TYPE, VALUE))
        for node in model.iter_nodes()
        if model.index_of(node).isValid()
    }


def assert_changes_were_announced(
    before: dict[Node, tuple[str, ...]], after: dict[Node, tuple[str, ...]], announced: Announced
) -> None:
    """A row whose text changed must have had a dataChanged: a view repaints nothing else."""
    nodes, reset = announced.take()
    if reset:
        return
    silent = [
        (before[n], after[n]) for n in after if n in before and before[n] != after[n] and n not in nodes
    ]
    assert not silent, f"rows changed without dataChanged (before, after): {silent[:5]}"


def run_phases(
    qtbot: Any,
    server: Server,
    model: StateModel,
    chain: ModelChain,
    phases: list[Callable[[SharedState, Path], None]],
    tmp: Path,
) -> None:
    state = server.state
    announced = Announced(model)
    before = texts_by_node(model)
    for phase in phases:
        run_worker(qtbot, lambda phase=phase: phase(state, tmp), name=f"mutator-{phase.__name__}")
        qtbot.waitUntil(lambda: assert_tree_shows(model, state), timeout=20_000)
        assert_find_and_sort(chain, model)
        after = texts_by_node(model)
        assert_changes_were_announced(before, after, announced)
        before = after


def test_values_keys_and_types_follow_the_engine_live(
    qtbot: Any, qtmodeltester: Any, server: Server, tmp_path: Path
) -> None:
    """New keys, nested edits (some in place, without touch), subtree removals, renames, dict <-> int flips."""
    bridge, model, chain, checkers = watch_live(qtbot, qtmodeltester, server)
    bridge.start()
    try:
        run_phases(
            qtbot,
            server,
            model,
            chain,
            [new_keys, nested_edits, subtree_removals, renames, type_flips],
            tmp_path,
        )
    finally:
        bridge.stop()
    assert model.has_entry("HASH") and model.has_entry("moved") and model.has_entry("flip")
    del checkers


def test_clear_a_10k_batch_and_a_replacing_restore_live(
    qtbot: Any, qtmodeltester: Any, server: Server, tmp_path: Path
) -> None:
    """The resets (clear, restore) and a burst of 10,000 writes."""
    bridge, model, chain, checkers = watch_live(qtbot, qtmodeltester, server)
    bridge.start()
    try:
        run_phases(
            qtbot, server, model, chain, [small_state, clear, batch_10k, retype, replacing_restore], tmp_path
        )
    finally:
        bridge.stop()
    assert model.has_entry("hash") and not model.has_entry("b00")
    del checkers
