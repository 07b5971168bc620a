"""A flat Qt table over a list of rows with fixed column headers: what every dock's table shares."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

ModelIndex = QModelIndex | QPersistentModelIndex


def header_text(columns: Sequence[str], section: int, orientation: Qt.Orientation, role: int) -> str | None:
    """The horizontal header's text for ``section`` (None for other roles, orientations, sections)."""
    if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
        return columns[section] if 0 <= section < len(columns) else None
    return None


class RowTableModel(QAbstractTableModel):
    """Rows in ``self._rows``, one column per name in ``columns``; subclasses add ``cell`` and updating.

    ``cell`` answers ``data`` for a row that exists; ``header_extra`` answers the header's other
    roles (tooltips, alignment) for a section.
    """

    columns: Sequence[str] = ()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section]
        return self.header_extra(section, role)

    def header_extra(self, section: int, role: int) -> Any:
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index)
        return None if row is None else self.cell(row, index.column(), role)

    def multiData(self, index: ModelIndex, roleDataSpan: Any) -> None:
        # A delegate asks for all of a cell's paint roles at once: one Python call instead of one a
        # role (seven). Every role is written, the empty ones too: the span may hold another cell's.
        row = self.row_at(index)
        col = index.column()
        cell = self.cell
        for item in roleDataSpan:
            value = None if row is None else cell(row, col, item.role())
            if value is None:
                item.clearData()
            else:
                item.setData(value)

    def cell(self, row: Any, col: int, role: int) -> Any:
        """What ``data`` answers for ``role`` in column ``col`` of ``row`` (None: nothing)."""
        return None

    def row_at(self, index: ModelIndex) -> Any:
        """The row behind ``index``, or None for an invalid or stale index."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        return self._rows[index.row()]

    def drop_rows(self, keep: Callable[[Any], bool]) -> None:
        """Remove the rows ``keep`` says no to, one removal each (selection and scroll survive)."""
        for i in range(len(self._rows) - 1, -1, -1):
            if not keep(self._rows[i]):
                self.beginRemoveRows(QModelIndex(), i, i)
                del self._rows[i]
                self.endRemoveRows()

    def append_rows(self, rows: Sequence[Any]) -> None:
        """Add ``rows`` at the end in one insertion."""
        if rows:
            n = len(self._rows)
            self.beginInsertRows(QModelIndex(), n, n + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()

    def clear(self) -> None:
        """Remove every row (one removal signal; views keep their columns and header state)."""
        if self._rows:
            self.beginRemoveRows(QModelIndex(), 0, len(self._rows) - 1)
            self._rows.clear()
            self.endRemoveRows()


class RowSortProxy(QSortFilterProxyModel):
    """A sorting proxy that passes a delegate's one-call ``multiData`` through to its source.

    QSortFilterProxyModel answers ``multiData`` with a ``data`` call per role, each a Python call
    into a RowTableModel: seven per cell painted instead of one.
    """

    def multiData(self, index: ModelIndex, roleDataSpan: Any) -> None:
        source = self.sourceModel()
        if source is None or not index.isValid():
            for item in roleDataSpan:
                item.clearData()
            return
        source.multiData(self.mapToSource(index), roleDataSpan)
