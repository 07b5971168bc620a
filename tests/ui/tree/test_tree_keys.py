"""The tree by keyboard: F2 rename keeps the row selected, Enter edits or opens a row, Esc in Find, no-match line."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QWidget

from desktop_app.engine.server import Server
from desktop_app.ui.tree.state_model import NAME, VALUE
from desktop_app.ui.tree.state_view import StateView
from tests.ui.tree.view_helpers import cell, open_editor, select, settle, type_and_enter

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def selected_path(view: StateView) -> tuple[Any, ...] | None:
    node = view.selected_node()
    return node.path() if node is not None else None


@pytest.mark.parametrize(
    ("path", "new_name", "new_path"),
    [
        (("hash", "meta"), "info", ("hash", "info")),
        (("title",), "heading", ("heading",)),
    ],
)
def test_rename_keeps_the_renamed_row_selected(
    qtbot: Any,
    view: StateView,
    server: Server,
    path: tuple[Any, ...],
    new_name: str,
    new_path: tuple[Any, ...],
) -> None:
    editor = open_editor(qtbot, view, path, NAME)
    type_and_enter(qtbot, editor, new_name)
    qtbot.waitUntil(lambda: view.model.node_for_path(new_path, fetch=False) is not None)
    settle(qtbot, view)
    qtbot.waitUntil(lambda: selected_path(view) == new_path)
    assert view.tree.currentIndex() == cell(view, new_path)
    # undo and redo keep it on the row too
    view.undo_stack.undo()
    qtbot.waitUntil(lambda: selected_path(view) == path)
    view.undo_stack.redo()
    qtbot.waitUntil(lambda: selected_path(view) == new_path)


def test_enter_edits_a_value_and_opens_or_closes_a_container(
    qtbot: Any, view: StateView, server: Server
) -> None:
    select(qtbot, view, ("count",), NAME)
    qtbot.keyClick(view.tree, Qt.Key.Key_Return)
    editors = [w for w in view.tree.findChildren(QWidget, "value_editor") if w.isVisible()]
    assert len(editors) == 1 and isinstance(editors[0], QLineEdit)
    type_and_enter(qtbot, editors[0], "5")
    qtbot.waitUntil(lambda: server.state.get("count") == 5)
    index = select(qtbot, view, ("hash",), VALUE)
    view.tree.collapse(index.siblingAtColumn(0))
    qtbot.keyClick(view.tree, Qt.Key.Key_Return)
    assert view.tree.isExpanded(index.siblingAtColumn(0))
    qtbot.keyClick(view.tree, Qt.Key.Key_Enter)
    assert not view.tree.isExpanded(index.siblingAtColumn(0))
    assert not [w for w in view.tree.findChildren(QWidget, "value_editor") if w.isVisible()]
    assert view.active_dialog is None


# a match; and a row the first letter keeps ("hello") and the second hides
@pytest.mark.parametrize("selected", [("hash", "meta", "owner"), ("title",)])
def test_esc_in_find_closes_it_and_keeps_the_selection(
    qtbot: Any, view: StateView, selected: tuple[Any, ...]
) -> None:
    select(qtbot, view, selected)
    view.tree.expand(cell(view, ("hash", "meta")))
    qtbot.keyClick(view.tree, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    for typed in ("h", "ha", "has"):  # as a person types: Find applies after each pause
        qtbot.keyClicks(view.filter_edit, typed[-1])
        qtbot.waitUntil(lambda typed=typed: view.filter_model.needle == typed)
    qtbot.keyClick(view.filter_edit, Qt.Key.Key_Escape)
    assert not view.filter_edit.isVisible()
    assert view.tree.hasFocus()
    assert selected_path(view) == selected
    assert view.tree.currentIndex() == cell(view, selected)
    # Esc from the tree (Enter in Find puts the focus there) does the same
    qtbot.keyClick(view.tree, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    for typed in ("h", "ha"):
        qtbot.keyClicks(view.filter_edit, typed[-1])
        qtbot.waitUntil(lambda typed=typed: view.filter_model.needle == typed)
    qtbot.keyClick(view.filter_edit, Qt.Key.Key_Return)
    assert view.tree.hasFocus()
    qtbot.keyClick(view.tree, Qt.Key.Key_Escape)
    assert not view.filter_edit.isVisible()
    assert selected_path(view) == selected


def test_a_find_without_matches_says_so(qtbot: Any, view: StateView) -> None:
    qtbot.keyClick(view.tree, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(view.filter_edit, "no-such-thing")
    qtbot.keyClick(view.filter_edit, Qt.Key.Key_Return)
    assert view.tree.model().rowCount() == 0
    assert view.empty_text() == 'No entry, key or value matches "no-such-thing"'
    qtbot.keyClick(view.tree, Qt.Key.Key_Escape)
    assert view.tree.model().rowCount() == 4 and view.empty_text() == ""


def test_a_float_edits_in_the_form_the_cell_shows(qtbot: Any, view: StateView, server: Server) -> None:
    server.state.set("ratio", float("nan"))
    qtbot.waitUntil(lambda: cell(view, ("ratio",), VALUE).data() == "NaN")
    editor = open_editor(qtbot, view, ("ratio",), VALUE)
    assert isinstance(editor, QLineEdit) and editor.text() == "NaN"
    type_and_enter(qtbot, editor, "-Infinity")
    qtbot.waitUntil(lambda: server.state.get("ratio") == float("-inf"))
