"""The Snapshots dock's list: one row per snapshot file, newest first, updated in place."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt

from desktop_app.ui.common.row_table import RowTableModel
from desktop_app.ui.snapshots.snapshot_store import SnapshotInfo


def format_size(size: int) -> str:
    """``532`` -> ``532 B``; ``12_345`` -> ``12.1 KB``; ``5_000_000`` -> ``4.8 MB``."""
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024 or unit == "MB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} MB"


# -- the list model -------------------------------------------------------------------------------

COLUMNS = ("Time", "Label", "Entries", "Size")
COL_TIME, COL_LABEL, COL_ENTRIES, COL_SIZE = range(len(COLUMNS))


class SnapshotListModel(RowTableModel):
    """Snapshots newest first; a new listing is applied with row inserts and removals, never a reset."""

    columns = COLUMNS

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[SnapshotInfo] = []

    def cell(self, info: SnapshotInfo, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_TIME:
                return f"{info.time:%Y-%m-%d %H:%M:%S}"
            if col == COL_LABEL:
                return info.label or "—"
            if col == COL_ENTRIES:
                return f"{info.entries:,}"
            return format_size(info.size)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_ENTRIES, COL_SIZE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(info.path)
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_LABEL and not info.label:
            return Qt.GlobalColor.gray
        return None

    def info(self, row: int) -> SnapshotInfo:
        return self._rows[row]

    def infos(self) -> list[SnapshotInfo]:
        return list(self._rows)

    def row_of(self, path: Path) -> int:
        for i, info in enumerate(self._rows):
            if info.path == path:
                return i
        return -1

    def set_snapshots(self, infos: Sequence[SnapshotInfo]) -> None:
        wanted = {i.path for i in infos}
        self.drop_rows(lambda row: row.path in wanted)
        # Kept rows are still in order (both lists are sorted newest first): insert the new ones in place.
        for row, info in enumerate(infos):
            if row < len(self._rows) and self._rows[row].path == info.path:
                if self._rows[row] != info:
                    self._rows[row] = info
                    self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
                continue
            self.beginInsertRows(QModelIndex(), row, row)
            self._rows.insert(row, info)
            self.endInsertRows()
