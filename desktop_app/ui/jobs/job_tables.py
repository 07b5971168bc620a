"""The Jobs dock's two tables: how they look, their fixed column widths, and a title above each."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from desktop_app.ui.jobs.jobs_model import (
    COL_DURATION,
    COL_ERRORS,
    COL_KIND,
    COL_LAST,
    COL_LIMIT,
    COL_NAME,
    COL_NEXT,
    COL_RUNS,
    COL_STATE,
    COL_TRIGGER,
    KeyedTableModel,
)


def make_table(model: KeyedTableModel) -> QTableView:
    """A read-only, row-selecting table over ``model`` (context menu left to the dock)."""
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setStretchLastSection(True)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return view


def table_width(view: QTableView, widths: Iterable[int]) -> int:
    """The width ``view`` needs for columns of ``widths``, with its frame and a vertical scroll bar."""
    return sum(widths) + 2 * view.frameWidth() + view.verticalScrollBar().sizeHint().width()


def size_columns(jobs_view: QTableView, routes_view: QTableView) -> tuple[int, int]:
    """Fixed widths from the font (a countdown must not make columns jump 4 times a second).

    Returns:
        The width each table needs to show all its columns: ``(jobs, routes)``.
    """
    fm = jobs_view.fontMetrics()
    pad = 18
    widths = {
        COL_NAME: fm.horizontalAdvance("a-timer-name") + pad,
        COL_STATE: fm.horizontalAdvance("completed") + pad + 18,
        COL_KIND: fm.horizontalAdvance("schedule") + pad,
        COL_TRIGGER: fm.horizontalAdvance("every 0.25 s") + pad,  # longer crons: the tooltip
        COL_RUNS: fm.horizontalAdvance("Runs 999") + pad,
        COL_LIMIT: fm.horizontalAdvance("Limit") + pad,
        COL_NEXT: fm.horizontalAdvance("in 59 min 59 s") + pad,
        COL_LAST: fm.horizontalAdvance("59 min 59 s ago") + pad,
        COL_DURATION: fm.horizontalAdvance("Last duration") + pad,
        COL_ERRORS: fm.horizontalAdvance("Errors") + pad,
    }
    for col, width in widths.items():
        jobs_view.setColumnWidth(col, width)
    route_widths = [
        fm.horizontalAdvance(sample) + pad
        for sample in ("DELETE", "/api/some/path", "Requests", "Errors", "999.9 ms", "999.9 ms")
    ]
    for col, width in enumerate(route_widths):
        routes_view.setColumnWidth(col, width)
    header = routes_view.horizontalHeader()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # the path takes the spare width
    return table_width(jobs_view, widths.values()), table_width(routes_view, route_widths)


def titled(title: str, view: QWidget) -> QWidget:
    """``view`` under a bold ``title``."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    label = QLabel(title)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    layout.addWidget(label)
    layout.addWidget(view, 1)
    return box
