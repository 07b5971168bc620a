"""What the tree shows: the state model itself, or it behind the Find proxy and/or the sort proxy, only when needed."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QTreeView

from desktop_app.ui.tree.state_filter import StateFilterModel
from desktop_app.ui.tree.state_model import Role, StateModel

Index = QModelIndex | QPersistentModelIndex


class ModelChain(QObject):
    """model -> [StateFilterModel while finding] -> [QSortFilterProxyModel while sorted] -> tree.

    A proxy is not free with a Python source model: it calls back into Python for every row of a
    changed range and twice per painted cell. With no filter and no sort (the usual live view) the
    tree sits directly on the model. Switching re-seats the tree's model; ``swapped`` tells the view
    to restore expansion and selection.
    """

    swapped = Signal()

    def __init__(self, model: StateModel, tree: QTreeView, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.tree = tree
        self.filter_model = StateFilterModel(model)
        self.filter_model.setParent(self)
        self.sort_model = QSortFilterProxyModel(self)
        self.sort_model.setSortRole(Role.SORT)
        self.sort_model.setDynamicSortFilter(True)
        self.sort_model.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.sort_column = -1
        self.sort_order = Qt.SortOrder.AscendingOrder
        tree.setModel(model)

    @property
    def filtering(self) -> bool:
        return bool(self.filter_model.needle)

    @property
    def sorting(self) -> bool:
        return self.sort_column >= 0

    def top(self) -> QAbstractItemModel:
        """The model the tree shows now."""
        return self.tree.model()

    def set_needle(self, text: str) -> None:
        was = self.filtering
        if text.strip() and self.filter_model.sourceModel() is None:
            self.filter_model.setSourceModel(self.model)
        self.filter_model.set_needle(text)
        if was != self.filtering:
            self._rewire()
        if not self.filtering and self.filter_model.sourceModel() is not None:
            self.filter_model.setSourceModel(None)

    def set_sort(self, column: int, order: Qt.SortOrder) -> None:
        was = self.sorting
        self.sort_column, self.sort_order = column, order
        if was != self.sorting:
            self._rewire()
        elif self.sorting:
            self.sort_model.sort(column, order)

    def _rewire(self) -> None:
        below: QAbstractItemModel = self.filter_model if self.filtering else self.model
        if self.sorting:
            if self.sort_model.sourceModel() is not below:
                self.sort_model.setSourceModel(below)
            self.sort_model.sort(self.sort_column, self.sort_order)
            top: QAbstractItemModel = self.sort_model
        else:
            top = below
        if self.tree.model() is top:
            return
        old_selection = self.tree.selectionModel()
        self.tree.setModel(top)
        if old_selection is not None:
            old_selection.deleteLater()  # QAbstractItemView.setModel leaves the old one to us
        if not self.sorting and self.sort_model.sourceModel() is not None:
            self.sort_model.setSourceModel(None)  # an idle proxy would still follow every change
        self.swapped.emit()

    def to_source(self, index: Index) -> QModelIndex:
        idx = QModelIndex(index)
        while idx.isValid() and idx.model() is not self.model:
            model = idx.model()
            if not isinstance(model, QSortFilterProxyModel):
                return QModelIndex()
            idx = model.mapToSource(idx)
        return idx

    def from_source(self, index: QModelIndex) -> QModelIndex:
        if not index.isValid():
            return QModelIndex()
        idx = index
        if self.filtering:
            idx = self.filter_model.mapFromSource(idx)
        if self.sorting:
            idx = self.sort_model.mapFromSource(idx)
        return idx
