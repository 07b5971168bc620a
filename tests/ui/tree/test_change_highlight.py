"""Changed rows under load: the tint fades with age over ~2 s, the ● marks only fresh changes, fading rows repaint."""

from __future__ import annotations

import time
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QPaintEvent

from desktop_app.engine.server import Server
from desktop_app.ui.bridge.entry_snapshot import EntrySnapshot, StateDelta, freeze
from desktop_app.ui.tree.state_model import NAME, UPDATED, VALUE, StateModel
from desktop_app.ui.tree.state_view import StateView
from tests.ui.tree.view_helpers import cell

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def snap(name: str, value: Any, version: int) -> EntrySnapshot:
    return EntrySnapshot(name, freeze(value), (), version, time.time(), "t")


def test_the_tint_says_how_recent_a_change_is(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    model = StateModel()
    names = ["now", "a_bit_ago", "a_second_ago", "long_ago", "too_long_ago"]
    model.reset_entries([snap(n, 0, 1) for n in names])
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    # under load every row changes, each at its own moment
    for age, name in zip((2.2, 1.6, 1.0, 0.4, 0.0), reversed(names), strict=True):
        clock[0] = 1000.0 - age
        model.apply_delta(StateDelta((snap(name, 1, 2),), (), 2))
    clock[0] = 1000.0

    def alpha(row: int) -> int:
        colour = model.data(model.index(row, NAME), Qt.ItemDataRole.BackgroundRole)
        return colour.alpha() if colour is not None else 0

    tints = [alpha(r) for r in range(len(names))]
    assert tints[0] > tints[1] > tints[2] > tints[3] > 0 == tints[4], tints
    assert tints[0] >= 3 * tints[2]  # what changed just now stands out from what changed a second ago
    # only the fresh change is marked (● in Updated); no bold, so text does not jump as rows change
    marked = [model.data(model.index(r, UPDATED)).startswith("● ") for r in range(len(names))]
    assert marked == [True, False, False, False, False]
    assert all(
        model.data(model.index(r, c), Qt.ItemDataRole.FontRole) is None
        for r in range(5)
        for c in (NAME, UPDATED)
    )
    assert model.fading()
    clock[0] = 1003.0
    assert not model.fading() and all(alpha(r) == 0 for r in range(len(names)))


def test_under_load_only_the_last_frame_is_marked_fresh(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    model = StateModel()
    model.reset_entries([snap("a", 0, 1), snap("b", 0, 1)])
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    model.apply_delta(StateDelta((snap("a", 1, 2),), (), 2))
    clock[0] += 0.04  # the next frame, well within a fade step
    model.apply_delta(StateDelta((snap("b", 1, 2),), (), 3))
    a, b = model.node_for_path(("a",)), model.node_for_path(("b",))
    assert model.is_fresh(b) and not model.is_fresh(a) and model.is_highlighted(a)
    assert [model.data(model.index(r, UPDATED)).startswith("● ") for r in (0, 1)] == [False, True]
    tint_a = model.data(model.index(0, NAME), Qt.ItemDataRole.BackgroundRole).alpha()
    tint_b = model.data(model.index(1, NAME), Qt.ItemDataRole.BackgroundRole).alpha()
    assert tint_b >= 1.5 * tint_a
    assert model.unfreshened() == [a]  # the view repaints it with this frame's rows
    clock[0] += 0.3  # changes stop: the fresh mark does not outlive its moment
    assert not model.is_fresh(b) and model.is_highlighted(b)


class RowPaints(QObject):
    """Records, for each paint of the viewport that covers a row, whether the row was still highlighted."""

    def __init__(self, view: StateView, path: tuple[Any, ...]) -> None:
        super().__init__(view)
        self.view, self.path = view, path
        self.highlighted: list[bool] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and isinstance(event, QPaintEvent):
            rect = self.view.tree.visualRect(cell(self.view, self.path, VALUE))
            if event.region().intersects(rect):
                node = self.view.model.node_for_path(self.path, fetch=False)
                self.highlighted.append(node is not None and self.view.model.is_highlighted(node))
        return False


def test_a_row_that_stopped_changing_fades_on_screen_while_others_keep_changing(
    qtbot: Any, view: StateView, server: Server
) -> None:
    server.state.set("count", 2)
    node = view.model.node_for_path(("count",))
    qtbot.waitUntil(lambda: node.value == 2 and view.model.is_highlighted(node))
    paints = RowPaints(view, ("count",))
    view.tree.viewport().installEventFilter(paints)
    load = QTimer(view)
    n = [0]

    def change_title() -> None:
        n[0] += 1
        server.state.set("title", f"t{n[0]}")

    load.timeout.connect(change_title)
    load.start(40)  # the bridge sends a delta nearly every frame
    try:
        # the row's own fade reaches the screen, though deltas never stop
        qtbot.waitUntil(lambda: False in paints.highlighted, timeout=6000)
    finally:
        load.stop()
        view.tree.viewport().removeEventFilter(paints)
    assert n[0] > 20


class ViewportPaints(QObject):
    """The regions the viewport paints."""

    def __init__(self) -> None:
        super().__init__()
        self.regions: list[Any] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and isinstance(event, QPaintEvent):
            self.regions.append(event.region().boundingRect())
        return False


def test_a_fade_repaints_only_the_tinted_rows_and_then_stops(qtbot: Any, view: StateView, server: Server) -> None:
    qtbot.waitUntil(lambda: not view._fade_timer.isActive(), timeout=4000)  # the first picture's fade
    paints = ViewportPaints()
    viewport = view.tree.viewport()
    viewport.installEventFilter(paints)
    try:
        server.state.set("count", 2)
        node = view.model.node_for_path(("count",))
        qtbot.waitUntil(lambda: node is not None and node.value == 2 and view._fade_timer.isActive())
        row = view.tree.visualRect(cell(view, ("count",), VALUE))
        qtbot.waitUntil(lambda: not view._fade_timer.isActive(), timeout=4000)  # faded out: the timer stops
        qtbot.wait(300)  # the last step's repaint (it waits for the tree's paint budget)
        fade_paints = list(paints.regions)
        assert len(fade_paints) >= 3, "the fade is drawn in steps"
        for rect in fade_paints:
            assert rect.height() <= 2 * row.height() and rect.intersects(row), (rect, row)
        assert not view.model.is_highlighted(node)
        qtbot.wait(1000)
        assert len(paints.regions) == len(fade_paints), "nothing fading, nothing repainted"
    finally:
        viewport.removeEventFilter(paints)


def test_only_rows_whose_tint_on_screen_is_out_of_date_are_stale(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    model = StateModel()
    model.reset_entries([snap("a", 0, 1), snap("b", 0, 1)])
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    model.apply_delta(StateDelta((snap("a", 1, 2), snap("b", 1, 2)), (), 2))
    a, b = model.node_for_path(("a",)), model.node_for_path(("b",))

    def paint(row: int) -> None:
        model.data(model.index(row, NAME), Qt.ItemDataRole.BackgroundRole)

    paint(0)
    paint(1)
    assert model.stale_tints([a, b]) == []  # just painted
    clock[0] += 0.6  # a fade step later
    assert model.stale_tints([a, b]) == [a, b]
    assert model.stale_tints([a, b], coarse=True) == []  # still tinted: the background skips the steps
    paint(0)  # a repaint (a delta's, say) drew row a with its new step
    assert model.stale_tints([a, b]) == [b]
    clock[0] += 2.0  # the fade is over
    assert model.stale_tints([a, b], coarse=True) == [a, b]
    assert model.stale_tints([a, b], coarse=True) == [], "once reported as ended, not again"
