"""The Snapshots dock's list and diff tree pass Qt's model checker while a worker thread changes the state
under the snapshots and diffs being taken, and snapshots come and go."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QUndoStack

from desktop_app.engine.diff import diff_states
from desktop_app.engine.server import Server
from desktop_app.engine.state import SharedState
from desktop_app.ui.snapshots.diff_view import DiffResult
from desktop_app.ui.snapshots.snapshot_store import SnapshotInfo, SnapshotStore
from desktop_app.ui.snapshots.snapshots_dock import SnapshotsDock
from tests.ui.model_checks import attach_checkers, run_worker

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

ROUNDS = 5


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    srv.state.set("hash", {"values": [1, 2, 3], "meta": {"owner": "ann"}}, scope="users")
    srv.state.set("count", 1)
    yield srv
    srv.stop()


@pytest.fixture
def dock(qtbot: Any, tmp_path: Path, server: Server) -> Iterator[SnapshotsDock]:
    undo_stack = QUndoStack()
    d = SnapshotsDock(None, undo_stack, store=SnapshotStore(tmp_path))
    qtbot.addWidget(d)
    d.set_server(server)
    yield d
    d.set_server(None)


def mutate(state: SharedState, n: int) -> None:
    """One round of a job's changes: new keys, nested edits, a removal, a rename, type flips."""
    for i in range(40):
        k = n * 40 + i
        state.set(f"k{k}", {"n": k, "l": [k, float(k)]} if k % 3 else k)
        with state.edit("hash") as h:
            h["values"].append(k)
            h["meta"]["owner"] = ["ann", "bob"][k % 2]
        state.set("count", [1, 1.0, True, {"c": 1}][k % 4])  # equal in Python's eyes, or a dict
        if k % 7 == 0:
            state.remove(f"k{k - 7}")
        if k % 11 == 0:
            state.rename(f"k{k}", f"renamed{k}")


def take(qtbot: Any, dock: SnapshotsDock, label: str) -> SnapshotInfo:
    with qtbot.waitSignal(dock.snapshot_taken, timeout=10_000) as sig:
        dock.take_snapshot(label)
    info: SnapshotInfo = sig.args[0]
    qtbot.waitUntil(lambda: dock.model.row_of(info.path) >= 0)
    return info


def diff_live(qtbot: Any, dock: SnapshotsDock, info: SnapshotInfo) -> DiffResult:
    with qtbot.waitSignal(dock.diff_ready, timeout=10_000) as sig:
        dock.diff_with_live(info)
    result: DiffResult = sig.args[0]
    return result


def test_snapshot_list_and_diff_pass_the_checker_while_the_state_changes(
    qtbot: Any, qtmodeltester: Any, server: Server, dock: SnapshotsDock
) -> None:
    checkers = attach_checkers(qtmodeltester, dock.model, dock.diff_view.model)
    state = server.state
    taken: list[SnapshotInfo] = []
    for n in range(ROUNDS):
        worker = threading.Thread(target=mutate, args=(state, n), name=f"mutator-{n}")
        worker.start()
        try:
            taken.append(take(qtbot, dock, f"round {n}"))  # while the worker writes
            diff_live(qtbot, dock, taken[-1])  # the diff tree is rebuilt from a moving target
            if n % 2:
                with qtbot.waitSignal(dock.model.rowsRemoved, timeout=10_000):
                    dock.delete_snapshots([taken.pop(0)])
        finally:
            qtbot.waitUntil(lambda w=worker: not w.is_alive(), timeout=10_000)
    assert [i.path for i in dock.model.infos()] == [i.path for i in reversed(taken)]

    # Once the worker is done, the dock's diff is the engine's diff, every change a row of the tree.
    last = take(qtbot, dock, "still")
    run_worker(qtbot, lambda: mutate(state, ROUNDS))
    result = diff_live(qtbot, dock, last)
    a = {name: value for name, (value, _scope) in dock.store.load(last).items()}
    b = {name: e["Value"] for name, e in state.snapshot().items()}
    expected = [(c.kind, c.path) for c in diff_states(a, b)]
    assert [(c.kind, c.path) for c in result.changes] == expected and expected
    model = dock.diff_view.model
    assert all(model.index_of(path).isValid() for _kind, path in expected)
    del checkers
