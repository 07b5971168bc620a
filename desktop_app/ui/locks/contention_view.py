"""The contention timeline widget: one lane per thread, a row per lock, waits hatched, holds solid, drawn with QPainter."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from desktop_app.engine.deadlock import DeadlockCycle
from desktop_app.ui.locks.timeline_data import Segment, Timeline
from desktop_app.ui.locks.timeline_raster import StripRaster, TimelineRow
from desktop_app.ui.locks.timeline_style import DEADLOCK_COLOR, HIGHLIGHT_COLOR


def _tick_step(window: float) -> float:
    for step in (0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0):
        if window / step <= 10:
            return step
    return 120.0


class ContentionView(QWidget):
    """Paints a ``Timeline``: lanes per thread, a row per lock; hover for details, click to pick the lock.

    The segments themselves are pixels kept between frames (``StripRaster``); this widget lays out
    the lanes, paints labels, axis and overlays, and answers hover and clicks.
    """

    lock_clicked = Signal(str)
    segment_clicked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setAutoFillBackground(False)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._timeline = Timeline(0.0, 10.0)
        self._deadlocks: tuple[DeadlockCycle, ...] = ()
        self._hover: Segment | None = None
        self._mouse: QPointF | None = None
        self._selected_lock: str | None = None
        self._rows: list[TimelineRow] = []
        self._row_tops: list[float] = []
        self._thread_w = 60.0
        self._lock_w = 40.0
        self._lane_boxes: list[tuple[QRectF, str]] = []
        self._content_height = 0
        self._gutter = 140.0
        self._raster = StripRaster()
        self._dead_rects: list[QRectF] = []
        self._elide_cache: dict[tuple[str, bool, int], str] = {}
        self._labels = QPixmap()
        self._labels_key: object = None
        self._axis_pixmap = QPixmap()
        self._axis_key: object = None
        self._dirty = True
        self.empty_text = "No lock activity in this window"
        self._update_metrics()

    # -- public ---------------------------------------------------------------------------------

    def set_timeline(self, timeline: Timeline) -> None:
        """Show these lanes; the geometry is brought up to date at the next paint."""
        self._timeline = timeline
        self._relayout()
        # keep the hover outline on whatever is under the mouse now (the timeline moves under it)
        self._hover = self.segment_at(self._mouse) if self._mouse is not None else None
        self.update()

    def timeline(self) -> Timeline:
        return self._timeline

    def reset(self) -> None:
        """Forget the pixels drawn so far (the data behind them was cleared, or belongs to another server)."""
        self._raster.reset()
        self._dirty = True
        self.update()

    def set_deadlocks(self, cycles: Sequence[DeadlockCycle]) -> None:
        """Outline in red the lanes and live segments of the threads in these cycles."""
        cycles = tuple(cycles)
        if cycles != self._deadlocks:
            self._deadlocks = cycles
            self._dirty = True
            self.update()

    def set_selected_lock(self, lock: str | None) -> None:
        """Tint the rows of this lock in every lane (the lock selected in the table)."""
        if lock != self._selected_lock:
            self._selected_lock = lock
            self.update()

    def segment_at(self, pos: QPoint | QPointF) -> Segment | None:
        """The segment under a point (within 3 px), or None."""
        self._ensure_geometry()
        x, y = float(pos.x()), float(pos.y())
        row = self._row_at(y)
        if row is None or x < self._gutter or not row.segments:
            return None
        t = self._time_at(x)
        slack = 3.0 / self._raster.scale
        i = bisect_right(row.starts, t + slack)
        best: Segment | None = None
        best_d = math.inf
        for seg in row.segments[max(0, i - 4) : i]:
            d = 0.0 if seg.start <= t <= seg.end else min(abs(seg.start - t), abs(seg.end - t))
            if d <= slack and (d < best_d or (d == best_d and seg.contended)):
                best, best_d = seg, d
        return best

    def segment_rect(self, seg: Segment) -> QRectF:
        """Where a segment is drawn; an empty rect if it is not shown."""
        self._ensure_geometry()
        for row in self._rows:
            if row.lock == seg.lock and row.thread == seg.thread:
                x0, x1 = self._span(seg)
                return QRectF(x0, row.top + 2, x1 - x0, self._row_h - 4)
        return QRectF()

    def tooltip_text_at(self, pos: QPoint | QPointF) -> str | None:
        """The tooltip for a point: the segment's detail, its thread, and what a click does."""
        seg = self.segment_at(pos)
        if seg is None:
            return None
        return f"{seg.detail}\nthread {seg.thread} · lock {seg.lock} · click to select the lock"

    def content_height(self) -> int:
        return self._content_height

    # -- Qt overrides ---------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(720, max(self._content_height, 160))

    def minimumSizeHint(self) -> QSize:
        return QSize(320, max(self._content_height, 120))

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._dirty = True
        super().resizeEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._elide_cache = {}
            self._update_metrics()
            self._relayout()
        super().changeEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            assert isinstance(event, QHelpEvent)
            text = self.tooltip_text_at(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._mouse = event.position()
        seg = self.segment_at(self._mouse)
        if seg != self._hover:
            self._hover = seg
            self.setCursor(Qt.CursorShape.PointingHandCursor if seg else Qt.CursorShape.ArrowCursor)
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._mouse = None
        if self._hover is not None:
            self._hover = None
            self.update()
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            seg = self.segment_at(event.position())
            if seg is not None:
                self.segment_clicked.emit(seg)
                self.lock_clicked.emit(seg.lock)
                event.accept()
                return
            row = self._row_at(event.position().y())
            if row is not None and event.position().x() < self._gutter:
                self.lock_clicked.emit(row.lock)
                event.accept()
                return
        super().mousePressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        self._ensure_geometry()
        p = QPainter(self)
        pal = self.palette()
        w, h = self.width(), self.height()
        p.fillRect(0, 0, w, h, pal.color(QPalette.ColorRole.Base))
        self._paint_lanes(p, pal)
        self._paint_axis(p, pal)
        self._raster.paint(p, self._rows, self._gutter, self._row_h)
        self._paint_overlays(p)
        if not self._timeline.lanes:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            body = QRectF(self._gutter, self._axis_h, max(0.0, w - self._gutter), max(0.0, h - self._axis_h))
            p.drawText(body, Qt.AlignmentFlag.AlignCenter, self.empty_text)
        p.end()

    # -- geometry -------------------------------------------------------------------------------

    def _update_metrics(self) -> None:
        fm = QFontMetrics(self.font())
        self._fm = fm
        self._row_h = max(16, fm.height() + 6)
        self._axis_h = fm.height() + 10
        self._lane_gap = 5
        bold = QFont(self.font())
        bold.setBold(True)
        self._bold = bold
        self._bold_fm = QFontMetrics(bold)
        small = QFont(self.font())
        if small.pointSizeF() > 0:
            small.setPointSizeF(max(6.0, small.pointSizeF() * 0.9))
        self._small = small
        self._small_fm = QFontMetrics(small)

    def _relayout(self) -> None:
        """Work out the rows, the gutter and the height; pixels wait for ``_ensure_geometry``."""
        tl = self._timeline
        thread_w = max((self._bold_fm.horizontalAdvance(ln.thread) for ln in tl.lanes), default=60)
        lock_w = max((self._small_fm.horizontalAdvance(lk) for ln in tl.lanes for lk in ln.locks), default=40)
        # +3: elidedText cuts text whose width equals the room exactly (fractional advances)
        self._thread_w = float(min(thread_w, 200) + 3)
        self._lock_w = float(min(lock_w, 120) + 3)
        self._gutter = float(round(8 + self._thread_w + 12 + self._lock_w + 8))
        rows: list[TimelineRow] = []
        y = float(self._axis_h)
        for i, lane in enumerate(tl.lanes):
            y += self._lane_gap
            for j, (lock, segs) in enumerate(lane.rows):
                rows.append(TimelineRow(i, lane.thread, lock, y, segs, j == 0))
                y += self._row_h
            y += self._lane_gap
        self._rows = rows
        self._row_tops = [r.top for r in rows]
        height = int(y + 2)
        if height != self._content_height:
            self._content_height = height
            self.setMinimumHeight(height)
            self.updateGeometry()
        self._dirty = True

    def _plot_w(self) -> int:
        return max(1, self.width() - int(self._gutter) - 8)

    def _span(self, seg: Segment) -> tuple[float, float]:
        """The pixels a segment covers (at least one), as the strips draw it."""
        return self._raster.span(seg, self._gutter)

    def _time_at(self, x: float) -> float:
        return self._raster.time_at(x, self._gutter)

    def _row_at(self, y: float) -> TimelineRow | None:
        i = bisect_right(self._row_tops, y) - 1
        if i < 0:
            return None
        row = self._rows[i]
        return row if y < row.top + self._row_h else None

    def _ensure_geometry(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self._raster.update(self._rows, self._timeline, self._plot_w(), self._row_h)
        lane_boxes: list[tuple[QRectF, str]] = []
        by_lane: dict[int, list[TimelineRow]] = {}
        for row in self._rows:
            by_lane.setdefault(row.lane, []).append(row)
        for lane_rows in by_lane.values():
            top = lane_rows[0].top - self._lane_gap
            bottom = lane_rows[-1].top + self._row_h + self._lane_gap
            lane_boxes.append((QRectF(0, top, self.width(), bottom - top), lane_rows[0].thread))
        self._lane_boxes = lane_boxes
        self._dead_rects = self._deadlock_rects()

    def _deadlock_rects(self) -> list[QRectF]:
        if not self._deadlocks:
            return []
        involved = {(e.waiter, e.lock) for c in self._deadlocks for e in c.edges}
        involved |= {(e.holder, e.lock) for c in self._deadlocks for e in c.edges}
        out = []
        for row in self._rows:
            if (row.thread, row.lock) not in involved:
                continue
            for seg in row.segments[-3:]:
                if seg.live:
                    x0, x1 = self._span(seg)
                    out.append(QRectF(x0, row.top + 2, x1 - x0, self._row_h - 4))
        return out

    # -- painting -------------------------------------------------------------------------------

    def _elided(self, text: str, bold: bool, width: float) -> str:
        key = (text, bold, int(width))
        found = self._elide_cache.get(key)
        if found is None:
            if len(self._elide_cache) > 2000:
                self._elide_cache.clear()
            fm, mode = (
                (self._bold_fm, Qt.TextElideMode.ElideMiddle)
                if bold
                else (self._small_fm, Qt.TextElideMode.ElideRight)
            )
            found = self._elide_cache[key] = fm.elidedText(text, mode, int(width))
        return found

    def _paint_lanes(self, p: QPainter, pal: QPalette) -> None:
        alt = pal.color(QPalette.ColorRole.AlternateBase)
        dead_threads = {t for c in self._deadlocks for t in c.threads}
        width = self.width()
        line = pal.color(QPalette.ColorRole.Midlight)
        for i, (box, _thread) in enumerate(self._lane_boxes):
            if i % 2:
                p.fillRect(box, alt)
            p.fillRect(QRect(0, int(box.bottom()) - 1, width, 1), line)  # 1 px rects: the fastest lines
        hover_lock = self._hover.lock if self._hover is not None else None
        if self._selected_lock is not None or hover_lock is not None:
            for row in self._rows:
                if row.lock == self._selected_lock or row.lock == hover_lock:
                    p.fillRect(
                        QRectF(self._gutter, row.top, width - self._gutter, self._row_h), HIGHLIGHT_COLOR
                    )
        p.drawPixmap(0, 0, self._gutter_labels(pal, dead_threads))
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.drawLine(QPointF(self._gutter - 0.5, 0), QPointF(self._gutter - 0.5, self.height()))

    def _gutter_labels(self, pal: QPalette, dead_threads: set[str]) -> QPixmap:
        """Thread and lock names, drawn once per layout (text is the slowest thing to paint)."""
        key = (
            tuple((row.thread, row.lock, row.top, row.first) for row in self._rows),
            frozenset(dead_threads),
            self._gutter,
            self.height(),
            pal.cacheKey(),
            self.font().key(),
        )
        if key == self._labels_key:
            return self._labels
        dpr = self.devicePixelRatioF()
        pixmap = QPixmap(max(1, math.ceil(self._gutter * dpr)), max(1, math.ceil(self.height() * dpr)))
        pixmap.setDevicePixelRatio(dpr)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        text = pal.color(QPalette.ColorRole.Text)
        p.setFont(self._bold)
        for row in self._rows:
            if row.first:
                p.setPen(DEADLOCK_COLOR if row.thread in dead_threads else text)
                p.drawText(
                    QRectF(8, row.top, self._thread_w + 2, self._row_h),
                    Qt.AlignmentFlag.AlignVCenter,
                    self._elided(row.thread, True, self._thread_w),
                )
        p.setFont(self._small)
        p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        right = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight
        for row in self._rows:
            rect = QRectF(self._gutter - 8 - self._lock_w, row.top, self._lock_w, self._row_h)
            p.drawText(rect, right, self._elided(row.lock, False, self._lock_w))
        p.end()
        self._labels, self._labels_key = pixmap, key
        return pixmap

    def _ticks(self) -> list[tuple[float, str]]:
        """(x, label) of each tick, counted back from now; they stay put while the timeline follows live."""
        window = self._timeline.window or 1.0
        step = _tick_step(window)
        right = self._gutter + self._plot_w()
        scale = self._plot_w() / window
        out = []
        for k in range(int(window / step + 1e-9) + 1):
            ago = k * step
            x = math.floor(right - ago * scale) + 0.5
            if x < self._gutter:
                break
            out.append((x, "now" if k == 0 else f"−{ago:g} s"))
        return out

    def _paint_axis(self, p: QPainter, pal: QPalette) -> None:
        ticks = self._ticks()
        mid, base = pal.color(QPalette.ColorRole.Mid), pal.color(QPalette.ColorRole.Base)
        # a pale line, opaque: blending a translucent one costs more on every paint
        grid = QColor(
            (mid.red() + 2 * base.red()) // 3,
            (mid.green() + 2 * base.green()) // 3,
            (mid.blue() + 2 * base.blue()) // 3,
        )
        top = self._axis_h - 3
        for x, _ in ticks:
            p.fillRect(QRect(int(x), top, 1, self.height() - top), grid)
        p.drawPixmap(0, 0, self._axis_labels(pal, ticks))
        p.setPen(QPen(mid, 1))
        p.drawLine(QPointF(self._gutter, self._axis_h - 0.5), QPointF(self.width(), self._axis_h - 0.5))

    def _axis_labels(self, pal: QPalette, ticks: list[tuple[float, str]]) -> QPixmap:
        key = (tuple(ticks), self.width(), self._gutter, pal.cacheKey(), self.font().key())
        if key == self._axis_key:
            return self._axis_pixmap
        dpr = self.devicePixelRatioF()
        pixmap = QPixmap(max(1, math.ceil(self.width() * dpr)), max(1, math.ceil(self._axis_h * dpr)))
        pixmap.setDevicePixelRatio(dpr)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        p.setFont(self._small)
        p.setPen(pal.color(QPalette.ColorRole.Text))
        for x, label in ticks:
            width = self._small_fm.horizontalAdvance(label)
            left = min(x - width / 2, self.width() - width - 4)
            if left >= self._gutter + 2:
                p.drawText(QRectF(left, 2, width + 2, self._axis_h - 6), Qt.AlignmentFlag.AlignVCenter, label)
        p.end()
        self._axis_pixmap, self._axis_key = pixmap, key
        return pixmap

    def _paint_overlays(self, p: QPainter) -> None:
        if self._dead_rects or self._deadlocks:
            dead_threads = {t for c in self._deadlocks for t in c.threads}
            pen = QPen(DEADLOCK_COLOR, 3)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            for box, thread in self._lane_boxes:
                if thread in dead_threads:
                    p.drawRect(box.adjusted(1.5, 1.5, -1.5, -1.5))
            p.drawRects(self._dead_rects)
        if self._hover is not None:
            r = self.segment_rect(self._hover)
            if not r.isEmpty():
                pen = QPen(self.palette().color(QPalette.ColorRole.Text), 2)
                p.setPen(pen)
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(r.adjusted(-1, -1, 1, 1))
