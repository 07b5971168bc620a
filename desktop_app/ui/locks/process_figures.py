"""Per-process figures of one lockable of a fleet, and their sum: the panel under the Locks table when attached.

Each process counts its own uses of a lockable (``stats()`` in that process, published with its
heartbeat and brought up to date by the lock-event stream); the table above shows their sum. Sums
of counts and times are exact; a percentile cannot be summed, so the sum row shows the largest
process's (an upper bound), and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.engine.locks import LockStats, TimeFigures
from desktop_app.ui.common.row_table import RowTableModel
from desktop_app.ui.locks.timeline_data import format_duration

COLUMNS = (
    "Process",
    "Acquired",
    "Contended",
    "Cont. %",
    "Wait p99",
    "Hold p99",
    "Time lost",
    "Timeouts",
    "Waiting",
)
SUM = "Sum of all processes"
_DASH = "—"


class Figures(Protocol):
    """What a process's counters offer (``engine.redis.fleet.LockFigures``)."""

    acquisitions: int
    contentions: int
    timeouts: int
    wait: TimeFigures
    hold: TimeFigures
    lost: float
    waiting: tuple[str, ...]


class ProcessFiguresLike(Protocol):
    process: str
    figures: Any
    alive: bool


def _cells(
    name: str,
    acq: int,
    cont: int,
    wait: TimeFigures,
    hold: TimeFigures,
    lost: float,
    timeouts: int,
    waiting: int,
) -> tuple[str, ...]:
    return (
        name,
        f"{acq:,}",
        f"{cont:,}",
        f"{100.0 * cont / acq:.1f} %" if acq else _DASH,
        format_duration(wait.p99) if wait.count else _DASH,
        format_duration(hold.p99) if hold.count else _DASH,
        format_duration(lost) if cont else _DASH,
        f"{timeouts:,}",
        str(waiting),
    )


class ProcessFiguresModel(RowTableModel):
    """One row per process, then the sum; rows update in place."""

    columns = COLUMNS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, tuple[str, ...], bool]] = []  # (process, cells, alive)

    def show(self, parts: Sequence[ProcessFiguresLike], total: LockStats | None) -> None:
        rows = []
        for pf in parts:
            f = pf.figures
            name = pf.process if pf.alive else f"{pf.process} (stopped)"
            rows.append(
                (
                    pf.process,
                    _cells(
                        name,
                        f.acquisitions,
                        f.contentions,
                        f.wait,
                        f.hold,
                        f.lost,
                        f.timeouts,
                        len(f.waiting),
                    ),
                    pf.alive,
                )
            )
        if total is not None and parts:
            rows.append(
                (
                    SUM,
                    _cells(
                        SUM,
                        total.acquisitions,
                        total.contentions,
                        total.wait,
                        total.hold,
                        total.thread_time_lost,
                        total.timeouts,
                        len(total.waiting),
                    ),
                    True,
                )
            )
        if [r[0] for r in rows] != [r[0] for r in self._rows]:
            self.beginResetModel()  # a process came or went: a handful of rows, nothing selected here
            self._rows = rows
            self.endResetModel()
            return
        for i, row in enumerate(rows):
            if row != self._rows[i]:
                self._rows[i] = row
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))

    def row_texts(self) -> list[tuple[str, ...]]:
        return [cells for _, cells, _ in self._rows]

    def cell(self, row: tuple[str, tuple[str, ...], bool], col: int, role: int) -> Any:
        key, cells, alive = row
        if role == Qt.ItemDataRole.DisplayRole:
            return cells[col]
        if role == Qt.ItemDataRole.TextAlignmentRole and col > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and key == SUM:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and not alive:
            return QBrush(QApplication.palette().color(QPalette.ColorRole.PlaceholderText))
        if role == Qt.ItemDataRole.ToolTipRole and key == SUM and col in (4, 5):
            return "A percentile cannot be added up: this is the largest process's (an upper bound)"
        if role == Qt.ItemDataRole.BackgroundRole and key == SUM:
            return QBrush(QColor(127, 127, 127, 40))
        return None


class ProcessFiguresPanel(QWidget):
    """A title naming the lockable, and the per-process table with the sum row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 0)
        layout.setSpacing(2)
        self.title = QLabel()
        layout.addWidget(self.title)
        self.model = ProcessFiguresModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        fm = self.table.fontMetrics()
        self.table.setColumnWidth(0, fm.horizontalAdvance("hostname-long:1234567 (stopped)") + 8)
        for col in range(1, len(COLUMNS)):
            self.table.setColumnWidth(
                col, max(fm.horizontalAdvance("99,999 ms"), fm.horizontalAdvance(COLUMNS[col])) + 16
            )
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.table)
        self._fit_rows()

    def _fit_rows(self) -> None:
        """As tall as its rows (every process and the sum), so none hides behind a scroll bar."""
        rows = max(2, self.model.rowCount())
        height = (
            self.table.horizontalHeader().sizeHint().height()
            + rows * self.table.verticalHeader().defaultSectionSize()
            + self.table.horizontalScrollBar().sizeHint().height()
            + 2 * self.table.frameWidth()
        )
        if self.table.height() != height:
            self.table.setFixedHeight(height)

    def show_lock(self, lock: Any | None) -> None:
        """``lock`` is a FleetLockable (``per_process`` and ``stats()``), or None."""
        if lock is None:
            self.title.setText("Per process: no lockable yet")
            self.model.show([], None)
            self._fit_rows()
            return
        parts = lock.per_process
        self.title.setText(f"'{lock.name}' per process ({len(parts)}) and their sum")
        self.model.show(parts, lock.stats())
        self._fit_rows()
