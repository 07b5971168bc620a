"""The contention timeline widget: one lane per thread, a row per lock, waits hatched, holds solid, drawn with QPainter."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from operator import itemgetter

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QImage,
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
from desktop_app.ui.locks.contention_timeline import SETTLE
from desktop_app.ui.locks.timeline_data import Segment, SegmentKind, Timeline

# Okabe-Ito colours (safe for the common colour-vision deficiencies); each state also has its own
# pattern, so nothing depends on colour alone: holding = solid, holding while others wait = solid
# with a thick dark outline, waiting = diagonal hatching.
HOLD_COLOR = QColor("#56B4E9")
CONTENDED_COLOR = QColor("#E69F00")
CONTENDED_EDGE = QColor("#4A3000")
WAIT_COLOR = QColor("#D55E00")
WAIT_FILL = QColor("#F7D5C0")
DEADLOCK_COLOR = QColor("#C00000")
HIGHLIGHT_COLOR = QColor(0, 114, 178, 40)  # Okabe-Ito blue, faint: the lock under the mouse, in every lane

COMMIT_AGE = SETTLE + 0.05
"""Segments that ended this long before the right edge no longer change (the model settles them after
``SETTLE``): they are drawn into a row's pixel strip once, and only newer ones are drawn each frame."""
# Pixel codes in a strip: 1 hold, 2 contended hold, 3 wait; the highest wins a pixel.
_WAIT, _CONTENDED = SegmentKind.WAIT, SegmentKind.HOLD_CONTENDED

_wait_brush: QBrush | None = None


def wait_brush() -> QBrush:
    """Vermillion with light diagonal stripes: the pattern the timeline gives waits."""
    global _wait_brush
    if _wait_brush is None:
        tile = QImage(6, 6, QImage.Format.Format_ARGB32)
        for y in range(6):
            for x in range(6):
                tile.setPixelColor(x, y, WAIT_FILL if (x + y) % 6 < 2 else WAIT_COLOR)
        _wait_brush = QBrush(tile)
    return _wait_brush


def paint_segments(painter: QPainter, kind: SegmentKind, rects: Sequence[QRectF]) -> None:
    """Draw rectangles as the timeline draws a wide run of one segment kind (for the legend's swatches)."""
    if not rects:
        return
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    if kind is SegmentKind.HOLD:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(HOLD_COLOR)
        painter.drawRects(rects)
    elif kind is SegmentKind.HOLD_CONTENDED:
        pen = QPen(CONTENDED_EDGE, 2)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(pen)
        painter.setBrush(CONTENDED_COLOR)
        painter.drawRects([r.adjusted(1, 1, -1, -1) for r in rects])
    else:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(WAIT_COLOR)
        painter.drawRects(rects)
        painter.setBrush(wait_brush())
        painter.drawRects([r.adjusted(1, 0, -1, 0) for r in rects])


def _tick_step(window: float) -> float:
    for step in (0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0):
        if window / step <= 10:
            return step
    return 120.0


class _Row:
    """One painted row: a lane's lock, where it is, and its segments for hit testing."""

    __slots__ = ("_starts", "first", "lane", "lock", "segments", "thread", "top")

    def __init__(
        self, lane: int, thread: str, lock: str, top: float, segments: tuple[Segment, ...], first: bool
    ) -> None:
        self.lane = lane
        self.thread = thread
        self.lock = lock
        self.top = top
        self.segments = segments
        self.first = first
        self._starts: list[float] | None = None

    @property
    def starts(self) -> list[float]:
        if self._starts is None:
            self._starts = [s.start for s in self.segments]
        return self._starts


class _Strip:
    """A row's pixels on a grid fixed in time (``base`` is the grid index of ``pixels[0]``): 0 empty, else a kind code."""

    __slots__ = ("base", "committed", "pixels")

    def __init__(self, base: int) -> None:
        self.base = base
        self.committed = -math.inf
        self.pixels = bytearray()


def _stamp(pixels: bytearray, b0: int, b1: int, code: int) -> None:
    """Mark pixels [b0, b1) with ``code`` where it outranks what is there (waits over contended over plain holds)."""
    if b0 < 0:
        b0 = 0
    if b1 > len(pixels):
        b1 = len(pixels)
    if b1 <= b0:
        return
    if max(pixels[b0:b1]) <= code:
        pixels[b0:b1] = bytes((code,)) * (b1 - b0)
    else:
        for i in range(b0, b1):
            if pixels[i] < code:
                pixels[i] = code


_END = itemgetter(3)  # Segment.end, as a fast key for bisect


class ContentionView(QWidget):
    """Paints a ``Timeline``: lanes per thread, a row per lock; hover for details, click to pick the lock.

    Each row is a strip of pixels on a grid fixed in time: a segment is drawn into it once it can
    no longer change, and a frame only adds the newest segments and draws each strip as one image,
    so a frame costs about the same however many lock events there are. Where segments are
    narrower than a pixel the strongest state wins (waiting over contended over plain holding),
    as Tracy draws contended regions over uncontended ones when zoomed out.
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
        self._rows: list[_Row] = []
        self._row_tops: list[float] = []
        self._thread_w = 60.0
        self._lock_w = 40.0
        self._lane_boxes: list[tuple[QRectF, str]] = []
        self._content_height = 0
        self._gutter = 140.0
        # the pixel grid: grid index = floor((t - origin) * scale); reset when window, width or filter change
        self._grid: tuple[float, int, bool] | None = None
        self._origin = 0.0
        self._scale = 1.0
        self._first_px = 0  # grid index of the plot's left edge in this frame
        self._last_end = -math.inf
        self._strips: dict[tuple[str, str], _Strip] = {}
        # the strips' pixels as drawn: a ring of columns (grid column g at g mod width, and again + width)
        self._ring = QImage()
        self._ring_layout: object = None
        self._ring_plan: list[tuple[int, int] | None] = []
        self._ring_top = 0.0
        self._ring_done = 0
        self._image_data = b""
        self._masks_key: tuple[int, int] | None = None
        self._masks_value: tuple[int, list[int]] = (0, [])
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
        self._grid = None
        self._ring_layout = None
        self._strips = {}
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
        slack = 3.0 / self._scale
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
        self._paint_strips(p)
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
        rows: list[_Row] = []
        y = float(self._axis_h)
        for i, lane in enumerate(tl.lanes):
            y += self._lane_gap
            for j, (lock, segs) in enumerate(lane.rows):
                rows.append(_Row(i, lane.thread, lock, y, segs, j == 0))
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
        b0 = math.floor((seg.start - self._origin) * self._scale)
        b1 = max(b0 + 1, math.ceil((seg.end - self._origin) * self._scale))
        return self._gutter + b0 - self._first_px, self._gutter + b1 - self._first_px

    def _time_at(self, x: float) -> float:
        return self._origin + (x - self._gutter + self._first_px) / self._scale

    def _row_at(self, y: float) -> _Row | None:
        i = bisect_right(self._row_tops, y) - 1
        if i < 0:
            return None
        row = self._rows[i]
        return row if y < row.top + self._row_h else None

    def _ensure_geometry(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        tl = self._timeline
        width = self._plot_w()
        grid = (tl.window, width, tl.only_contended)
        full = False
        if grid != self._grid or tl.start < self._origin or tl.end < self._last_end:
            self._grid = grid
            self._origin = tl.start
            self._scale = width / (tl.window or 1.0)
            self._strips = {}
            full = True
        self._last_end = tl.end
        origin, scale = self._origin, self._scale
        first = self._first_px = math.floor((tl.start - origin) * scale)
        limit = tl.end - COMMIT_AGE
        h = self._row_h - 4
        layout = (tuple((r.thread, r.lock, r.top) for r in self._rows), h, width)
        if layout != self._ring_layout:
            full = True
        # Columns left of the last frame's commit line are final; redraw from just before it.
        g_hi = first + width
        g_lo = first if full else max(first, self._ring_done - 2)
        ctx = g_lo - 1  # one column of context, so runs crossing g_lo keep their inside look
        span = g_hi - ctx
        strips: dict[tuple[str, str], _Strip] = {}
        lines: list[bytes] = []
        floor, ceil = math.floor, math.ceil
        for row in self._rows:
            key = (row.thread, row.lock)
            strip = self._strips.get(key) or _Strip(first)
            strips[key] = strip
            segs = row.segments
            i0 = bisect_right(segs, strip.committed, key=_END)
            i1 = max(i0, bisect_right(segs, limit, key=_END))
            pixels, base = strip.pixels, strip.base
            for seg in segs[i0:i1]:
                kind = seg[0]
                b0 = floor((seg[2] - origin) * scale) - base
                b1 = ceil((seg[3] - origin) * scale) - base
                if b1 > len(pixels):
                    pixels.extend(bytes(b1 - len(pixels)))
                code = 3 if kind is _WAIT else 2 if kind is _CONTENDED else 1
                if b1 - b0 <= 1:  # most segments are a pixel or less wide
                    if b0 >= 0 and pixels[b0] < code:
                        pixels[b0] = code
                else:
                    _stamp(pixels, b0, b1, code)
            strip.committed = max(strip.committed, limit)
            start = ctx - base
            chunk = bytearray(pixels[max(0, start) : g_hi - base])
            if start < 0:
                chunk[:0] = bytes(-start)
            if len(chunk) < span:
                chunk.extend(bytes(span - len(chunk)))
            for seg in segs[i1:]:  # still open: drawn again each frame, never committed
                kind = seg[0]
                b0 = floor((seg[2] - origin) * scale) - ctx
                code = 3 if kind is _WAIT else 2 if kind is _CONTENDED else 1
                _stamp(chunk, b0, max(b0 + 1, ceil((seg[3] - origin) * scale) - ctx), code)
            if first - base > 2 * width:  # forget what scrolled out long ago
                del pixels[: first - base]
                strip.base = first
            lines.append(bytes(chunk))
        self._strips = strips
        self._draw_columns(lines, ctx, g_lo, g_hi, full, layout)
        self._ring_done = floor((limit - origin) * scale)
        lane_boxes: list[tuple[QRectF, str]] = []
        by_lane: dict[int, list[_Row]] = {}
        for row in self._rows:
            by_lane.setdefault(row.lane, []).append(row)
        for lane_rows in by_lane.values():
            top = lane_rows[0].top - self._lane_gap
            bottom = lane_rows[-1].top + self._row_h + self._lane_gap
            lane_boxes.append((QRectF(0, top, self.width(), bottom - top), lane_rows[0].thread))
        self._lane_boxes = lane_boxes
        self._dead_rects = self._deadlock_rects()

    def _draw_columns(
        self, lines: list[bytes], ctx: int, g_lo: int, g_hi: int, full: bool, layout: object
    ) -> None:
        """Draw grid columns [g_lo, g_hi) of every row into the ring image (column g at g mod width, twice)."""
        width = self._plot_w()
        h = self._row_h - 4
        rows = self._rows
        if full or self._ring.isNull():
            self._ring_layout = layout
            self._ring_top = rows[0].top + 2 if rows else 0.0
            ring_h = int(rows[-1].top + 2 + h - self._ring_top) if rows else 1
            # two copies side by side, so any window of ``width`` columns is one contiguous rectangle
            self._ring = QImage(2 * width, max(1, ring_h), QImage.Format.Format_ARGB32_Premultiplied)
            self._ring.fill(Qt.GlobalColor.transparent)
            # which row scanline each ring scanline shows (None: the gap between rows)
            plan: list[tuple[int, int] | None] = [None] * self._ring.height()
            for i, row in enumerate(rows):
                y0 = int(row.top + 2 - self._ring_top)
                for y in range(h):
                    plan[y0 + y] = (i, y)
            self._ring_plan = plan
        if not rows or g_hi <= g_lo:
            return
        chunk = self._strip_image(lines, g_hi - ctx, ctx)
        p = QPainter(self._ring)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        g = g_lo
        height = chunk.height()
        while g < g_hi:  # the ring wraps at most once per chunk
            col = g % width
            n = min(g_hi - g, width - col)
            for copy in (col, col + width):
                p.drawImage(QRectF(copy, 0, n, height), chunk, QRectF(g - ctx, 0, n, height))
            g += n
        p.end()

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

    def _strip_image(self, lines: list[bytes], width: int, first: int) -> QImage:
        """Rows of pixel codes (``first`` is the grid index of column 0) as an image in the ring's layout.

        Waits get light diagonal stripes inside (runs of 3 px or more), contended holds a dark
        edge (2 px top and bottom, 1 px at each end); plain holds stay solid. All rows are worked
        out at once as one big integer (a zero byte after each row keeps neighbours apart), so
        the cost depends on the number of columns, not on the number of segments.
        """
        h = self._row_h - 4
        stride = width + 1
        n = len(lines)
        ones, stripes = self._masks(width, n)
        px = int.from_bytes(b"\x00".join(lines) + b"\x00", "big")
        lo, hi = px & ones, (px >> 1) & ones
        wait = lo & hi  # code 3
        cont = hi ^ wait  # code 2
        inner_wait = wait & (wait >> 8) & (wait << 8)
        ends = cont & ~((cont >> 8) & (cont << 8))
        mid = px + 4 * ends  # 2 -> 6 (dark) at both ends of a contended run
        edge = px + 4 * cont  # the top and bottom scanlines of a contended run are dark
        size = stride * n
        # The top and bottom two scanlines are plain (solid waits there read as their outline);
        # the ones between cycle through six stripe phases.
        outline = memoryview(edge.to_bytes(size, "big"))
        phases: dict[int, memoryview] = {}
        per_y: list[memoryview] = []
        for y in range(h):
            if y < 2 or y >= h - 2:
                per_y.append(outline)
                continue
            k = (y + first) % 6
            if k not in phases:
                phases[k] = memoryview((mid + 2 * (inner_wait & stripes[k])).to_bytes(size, "big"))  # 3 -> 5
            per_y.append(phases[k])
        gap = bytes(stride)
        self._image_data = b"".join(
            gap if at is None else per_y[at[1]][at[0] * stride : (at[0] + 1) * stride]
            for at in self._ring_plan
        )
        image = QImage(self._image_data, width, len(self._ring_plan), stride, QImage.Format.Format_Indexed8)
        table = [0] * 8
        table[1], table[2], table[3] = HOLD_COLOR.rgba(), CONTENDED_COLOR.rgba(), WAIT_COLOR.rgba()
        table[5], table[6] = WAIT_FILL.rgba(), CONTENDED_EDGE.rgba()
        image.setColorTable(table)
        return image

    def _masks(self, width: int, rows: int) -> tuple[int, list[int]]:
        """0x01 in every pixel byte, and six stripe masks (one per scanline phase), for ``rows`` rows."""
        key = (width, rows)
        if self._masks_key != key:  # the chunk width varies a little from frame to frame
            pad = b"\x00"
            ones = int.from_bytes((b"\x01" * width + pad) * rows, "big")
            period = bytes(1 if x % 6 < 2 else 0 for x in range(6))
            stripes = []
            for k in range(6):
                row = (period * (width // 6 + 2))[k : k + width] + pad
                stripes.append(int.from_bytes(row * rows, "big"))
            self._masks_value, self._masks_key = (ones, stripes), key
        return self._masks_value

    def _paint_strips(self, p: QPainter) -> None:
        ring = self._ring
        if ring.isNull() or not self._rows:
            return
        width = ring.width() // 2
        h = self._row_h - 4
        c0 = self._first_px % width  # the ring column at the plot's left edge
        # row by row, so the gaps between rows cost nothing to blend
        for row in self._rows:
            y = row.top + 2
            p.drawImage(QRectF(self._gutter, y, width, h), ring, QRectF(c0, y - self._ring_top, width, h))

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


class TimelineLegend(QWidget):
    """Swatches for the three lock states and the deadlock outline, drawn exactly as the timeline draws them."""

    ENTRIES = (
        (SegmentKind.HOLD, "Holding"),
        (SegmentKind.HOLD_CONTENDED, "Holding, others waiting"),
        (SegmentKind.WAIT, "Waiting"),
        (None, "Deadlock"),
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setToolTip(
            "Holding: solid blue · Holding while other threads wait: solid orange, thick outline · "
            "Waiting: hatched · Deadlock: red outline"
        )

    def _layout(self) -> list[tuple[QRectF, QRectF, SegmentKind | None, str]]:
        fm = QFontMetrics(self.font())
        sw = max(18, fm.height() + 6)
        sh = max(12, fm.height() - 2)
        x = 2.0
        out = []
        for kind, label in self.ENTRIES:
            swatch = QRectF(x, (self._height() - sh) / 2, sw, sh)
            x += sw + 5
            tw = fm.horizontalAdvance(label)
            out.append((swatch, QRectF(x, 0, tw + 2, self._height()), kind, label))
            x += tw + 14
        return out

    def _height(self) -> int:
        return QFontMetrics(self.font()).height() + 8

    def sizeHint(self) -> QSize:
        last = self._layout()[-1][1]
        return QSize(int(last.right()) + 4, self._height())

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        for swatch, label_rect, kind, label in self._layout():
            if kind is None:
                pen = QPen(DEADLOCK_COLOR, 3)
                pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
                p.setPen(pen)
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(swatch.adjusted(1.5, 1.5, -1.5, -1.5))
            else:
                paint_segments(p, kind, [swatch])
            p.setPen(text)
            p.drawText(label_rect, Qt.AlignmentFlag.AlignVCenter, label)
        p.end()
