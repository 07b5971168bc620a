"""Find: a proxy keeping rows whose name, path or value text matches, with their ancestors, matches in bold."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QFont

from desktop_app.engine.diff import format_path
from desktop_app.ui.common.value_text import preview, scalar_text
from desktop_app.ui.tree.state_model import NAME, VALUE, Node, StateModel

Index = QModelIndex | QPersistentModelIndex
WALK_BUDGET = 200_000
"""Elements looked at per container when searching inside values not yet shown (bounds one row's cost)."""


class StateFilterModel(QSortFilterProxyModel):
    """Shows matching rows, their ancestors (so a match is reachable) and their descendants.

    Searches a container's whole frozen value, so a match deep inside children that were never
    fetched still keeps its entry visible. Only inserted between the model and the view while a
    filter is active: with no filter, a Python ``filterAcceptsRow`` would cost a call per row.
    """

    def __init__(self, source: StateModel) -> None:
        super().__init__()
        self._model = source
        self._needle = ""
        self._self: dict[Node, tuple[Any, Any, bool]] = {}
        self._below: dict[Node, tuple[Any, bool]] = {}
        self._bold = QFont()
        self._bold.setBold(True)
        # No source until a search starts (ModelChain attaches it): an idle proxy costs a Python
        # filterAcceptsRow call per inserted row.

    @property
    def needle(self) -> str:
        return self._needle

    def set_needle(self, text: str) -> None:
        needle = text.strip().casefold()
        if needle == self._needle:
            return
        self.beginFilterChange()
        self._needle = needle
        self._self.clear()
        self._below.clear()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def matches(self, node: Node) -> bool:
        """The node itself matches (its key, its path, or its scalar value's text)."""
        if not self._needle:
            return False
        cached = self._self.get(node)
        if cached is not None and cached[0] is node.value and cached[1] == node.key:
            return cached[2]
        needle = self._needle
        hit = needle in StateModel.key_text(node).casefold()
        if not hit and not isinstance(node.value, dict | list | tuple | set | frozenset):
            hit = needle in preview(node.value).casefold()
        if not hit and node.parent is not None and node.parent.parent is not None:
            hit = needle in format_path(node.path()).casefold()
        self._self[node] = (node.value, node.key, hit)
        return hit

    def _inside(self, node: Node) -> bool:
        cached = self._below.get(node)
        if cached is not None and cached[0] is node.value:
            return cached[1]
        hit = _value_contains(node.value, self._needle, [WALK_BUDGET])
        self._below[node] = (node.value, hit)
        return hit

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self._needle:
            return True
        node = self._model.node_at(self._model.index(source_row, 0, source_parent))
        if node is None:
            return False
        if self.matches(node) or self._inside(node):
            return True
        parent = node.parent
        while parent is not None and parent.parent is not None:
            if self.matches(parent):
                return True  # descendants of a match stay visible
            parent = parent.parent
        return False

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.FontRole and self._needle and index.column() in (NAME, VALUE):
            node = self._model.node_at(self.mapToSource(index))
            if node is not None and self.matches(node):
                return self._bold
        return super().data(index, role)


def _value_contains(value: Any, needle: str, budget: list[int]) -> bool:
    """Does any key or scalar inside ``value`` contain ``needle`` (case-insensitive)?"""
    if isinstance(value, dict):
        budget[0] -= len(value)
        if budget[0] < 0:
            return False
        for k, v in value.items():
            if needle in (k if isinstance(k, str) else scalar_text(k)).casefold():
                return True
            if _value_contains(v, needle, budget):
                return True
        return False
    if isinstance(value, list | tuple | set | frozenset):
        budget[0] -= len(value)
        if budget[0] < 0:
            return False
        return any(_value_contains(v, needle, budget) for v in value)
    return needle in preview(value).casefold()
