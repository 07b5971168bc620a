"""The tree widget: a QTreeView that repaints live changes at a pace it can afford and never clobbers an open editor."""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QRect, Qt, QTimer
from PySide6.QtGui import QPainter, QPalette, QRegion
from PySide6.QtWidgets import QAbstractItemView, QTreeView, QWidget

from desktop_app.ui.common.pace import WorkBudget

Index = QModelIndex | QPersistentModelIndex

MIN_REPAINT_GAP = 0.033
"""At most ~30 full repaints a second for live changes."""
PAINT_SHARE = 0.5
"""Live repaints may take at most this share of the GUI thread; the rest stays free for input."""
FULL_REPAINT_DUE = 0.1
"""How long after rows were inserted a live repaint is left to the full repaint QTreeView schedules."""
PAINT_CPU_SHARE = 0.25
PAINT_CONTENDED_SHARE = 0.008
"""While other Python threads keep the GIL busy, live repaints take at most this share of a core:
each cell painted is a call into Python that takes the GIL from the threads being watched."""


class StateTree(QTreeView):
    """Why not plain QTreeView: for a ``dataChanged`` range it walks every row (a Python ``flags()``
    call each) and repaints at once, and it pushes the new value into an open editor. Under thousands
    of changes a second that starves input. Here a range only marks the viewport dirty, and the
    repaint comes when the last paint's cost allows (painting a full screen of Python-model rows
    can take tens of ms on a slow machine). Single-row changes still go to QTreeView (they are how it
    learns a row gained or lost children), except for the row being edited."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.paint_seconds = 0.0
        self._last_paint = 0.0
        self._dirty = QRegion()
        self.defer_ranges = False
        """True: the owner repaints the rows a range changed (it knows which ones; the range is coarser)."""
        self._placeholder = ""
        self._repaint_timer = QTimer(self)
        self._repaint_timer.setSingleShot(True)
        self._repaint_timer.timeout.connect(self._repaint_now)
        self.paint_budget = WorkBudget(PAINT_CPU_SHARE, PAINT_CONTENDED_SHARE)
        self._full_repaint_since = -1.0

    def dataChanged(self, topLeft: Index, bottomRight: Index, roles: Sequence[int] = ()) -> None:
        editing = self.state() == QAbstractItemView.State.EditingState
        if topLeft.row() == bottomRight.row() and topLeft.parent() == bottomRight.parent():
            current = self.currentIndex()
            if editing and current.row() == topLeft.row() and current.parent() == topLeft.parent():
                self.schedule_repaint(
                    self._rows_rect(QModelIndex(topLeft), QModelIndex(topLeft))
                )  # keep the typing
                return
            super().dataChanged(topLeft, bottomRight, list(roles))
            return
        if not self.defer_ranges:
            self.schedule_repaint(self._rows_rect(QModelIndex(topLeft), QModelIndex(bottomRight)))

    def _rows_rect(self, top: QModelIndex, bottom: QModelIndex) -> QRect | None:
        """The on-screen band covering rows top..bottom; None for all of it, an empty rect for none."""
        first, last = self.visualRect(top), self.visualRect(bottom)
        if not first.isValid() or not last.isValid():
            parent = top.parent()
            if parent.isValid() and not self.isExpanded(parent):
                return QRect()  # inside a collapsed row: nothing on screen changed
            return None
        width = self.viewport().width()
        return QRect(0, first.top(), width, last.bottom() - first.top() + 1).intersected(
            self.viewport().rect()
        )

    def schedule_repaint(self, rect: QRect | None = None) -> None:
        """Repaint ``rect`` of the viewport (None: all of it) when the paint budget allows."""
        self.schedule_region(QRegion(self.viewport().rect() if rect is None else rect))

    def rowsInserted(self, parent: QModelIndex, start: int, end: int) -> None:
        # Rows added at the top level or under an open row: QTreeView lays out again and repaints
        # the whole viewport; the changed rows need no paint of their own until then.
        if not parent.isValid() or self.isExpanded(parent):
            self._full_repaint_since = time.perf_counter()
        super().rowsInserted(parent, start, end)

    def full_repaint_coming(self) -> bool:
        """True just after rows were inserted where they show: QTreeView repaints the whole viewport."""
        return time.perf_counter() - self._full_repaint_since < FULL_REPAINT_DUE

    def schedule_region(self, region: QRegion) -> None:
        if self.full_repaint_coming():
            return  # covered by the repaint of the whole viewport that QTreeView has scheduled
        if not region.isEmpty():
            self._dirty = self._dirty.united(region)
        if self._dirty.isEmpty() or self._repaint_timer.isActive():
            return
        gap = max(MIN_REPAINT_GAP, self.paint_seconds / PAINT_SHARE, self.paint_budget.gap())
        wait = self._last_paint + gap - time.perf_counter()
        if wait <= 0:
            self._repaint_now()
        else:
            self._repaint_timer.start(int(wait * 1000) + 1)

    def _repaint_now(self) -> None:
        dirty, self._dirty = self._dirty, QRegion()
        if not dirty.isEmpty():
            self.viewport().update(dirty)

    def set_placeholder(self, text: str) -> None:
        """A line shown in the empty viewport while there are no rows (e.g. a Find without matches)."""
        if text != self._placeholder:
            self._placeholder = text
            self.viewport().update()

    def placeholder_shown(self) -> str:
        """The placeholder line as painted now: empty while there are rows."""
        model = self.model()
        return self._placeholder if model is not None and model.rowCount() == 0 else ""

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Paint:
            return super().viewportEvent(event)
        self._full_repaint_since = -1.0
        start = time.perf_counter()
        with self.paint_budget.measure():
            handled = super().viewportEvent(event)
        text = self.placeholder_shown()
        if text:
            p = QPainter(self.viewport())
            p.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            room = self.viewport().rect().adjusted(12, 12, -12, -12)
            p.drawText(
                room,
                int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap),
                text,
            )
            p.end()
        end = time.perf_counter()
        # A smoothed paint cost decides how often live changes may repaint.
        self.paint_seconds = 0.7 * self.paint_seconds + 0.3 * (end - start)
        self._last_paint = end
        return handled
