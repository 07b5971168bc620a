"""Helpers for driving a StateView like a person: select a row, open its editor, type, press OK, wait for edits."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit, QWidget

from desktop_app.ui.tree.state_model import NAME
from desktop_app.ui.tree.state_view import StateView


def cell(view: StateView, path: tuple[Any, ...], column: int = NAME) -> QModelIndex:
    node = view.model.node_for_path(path)
    assert node is not None, path
    index = view.view_index(node, column)
    assert index.isValid()
    return index


def select(qtbot: Any, view: StateView, path: tuple[Any, ...], column: int = NAME) -> QModelIndex:
    index = cell(view, path, column)
    parent = index.parent()
    while parent.isValid():
        view.tree.expand(parent)
        parent = parent.parent()
    view.tree.setFocus()
    view.tree.setCurrentIndex(index)
    return index


def open_editor(qtbot: Any, view: StateView, path: tuple[Any, ...], column: int) -> QWidget:
    select(qtbot, view, path, column)
    qtbot.keyClick(view.tree, Qt.Key.Key_F2)
    name = "name_editor" if column == NAME else "value_editor"
    editors = [w for w in view.tree.findChildren(QWidget, name) if w.isVisible()]
    assert len(editors) == 1
    return editors[0]


def type_and_enter(qtbot: Any, editor: QWidget, text: str) -> None:
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)


def click_ok(dialog: QWidget) -> None:
    box = dialog.findChild(QDialogButtonBox)
    assert box is not None
    box.button(QDialogButtonBox.StandardButton.Ok).click()


def settle(qtbot: Any, view: StateView) -> None:
    """Wait until every edit in flight is done (deterministic: the edit thread runs them in order)."""
    marker = view.bridge.run_edit(lambda srv: None)
    qtbot.waitUntil(marker.done)
    qtbot.waitUntil(lambda: not view.runner.in_flight)
