"""The contention timeline's pixels: a strip per row on a grid fixed in time, drawn into a ring image."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from operator import itemgetter

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter

from desktop_app.ui.locks.contention_timeline import SETTLE
from desktop_app.ui.locks.timeline_data import Segment, SegmentKind, Timeline
from desktop_app.ui.locks.timeline_style import (
    CONTENDED_COLOR,
    CONTENDED_EDGE,
    HOLD_COLOR,
    WAIT_COLOR,
    WAIT_FILL,
)

COMMIT_AGE = SETTLE + 0.05
"""Segments that ended this long before the right edge no longer change (the model settles them after
``SETTLE``): they are drawn into a row's pixel strip once, and only newer ones are drawn each frame."""
# Pixel codes in a strip: 1 hold, 2 contended hold, 3 wait; the highest wins a pixel.
_WAIT, _CONTENDED = SegmentKind.WAIT, SegmentKind.HOLD_CONTENDED


class TimelineRow:
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


class StripRaster:
    """The rows' pixels, kept between frames.

    Each row is a strip of pixels on a grid fixed in time: a segment is drawn into it once it can
    no longer change, and a frame only adds the newest segments and draws each strip as one image,
    so a frame costs about the same however many lock events there are. Where segments are
    narrower than a pixel the strongest state wins (waiting over contended over plain holding),
    as Tracy draws contended regions over uncontended ones when zoomed out.
    """

    def __init__(self) -> None:
        # the pixel grid: grid index = floor((t - origin) * scale); reset when window, width or filter change
        self._grid: tuple[float, int, bool] | None = None
        self.origin = 0.0
        self.scale = 1.0
        self.first_px = 0  # grid index of the plot's left edge in this frame
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

    def reset(self) -> None:
        """Forget the pixels drawn so far."""
        self._grid = None
        self._ring_layout = None
        self._strips = {}

    def span(self, seg: Segment, gutter: float) -> tuple[float, float]:
        """The pixels a segment covers (at least one), as the strips draw it."""
        b0 = math.floor((seg.start - self.origin) * self.scale)
        b1 = max(b0 + 1, math.ceil((seg.end - self.origin) * self.scale))
        return gutter + b0 - self.first_px, gutter + b1 - self.first_px

    def time_at(self, x: float, gutter: float) -> float:
        return self.origin + (x - gutter + self.first_px) / self.scale

    def update(self, rows: Sequence[TimelineRow], tl: Timeline, width: int, row_h: int) -> None:
        """Bring the strips and the ring image up to ``tl``, for a plot ``width`` pixels wide."""
        grid = (tl.window, width, tl.only_contended)
        full = False
        if grid != self._grid or tl.start < self.origin or tl.end < self._last_end:
            self._grid = grid
            self.origin = tl.start
            self.scale = width / (tl.window or 1.0)
            self._strips = {}
            full = True
        self._last_end = tl.end
        origin, scale = self.origin, self.scale
        first = self.first_px = math.floor((tl.start - origin) * scale)
        limit = tl.end - COMMIT_AGE
        h = row_h - 4
        layout = (tuple((r.thread, r.lock, r.top) for r in rows), h, width)
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
        for row in rows:
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
        self._draw_columns(rows, lines, ctx, g_lo, g_hi, full, layout, width, h)
        self._ring_done = floor((limit - origin) * scale)

    def _draw_columns(
        self,
        rows: Sequence[TimelineRow],
        lines: list[bytes],
        ctx: int,
        g_lo: int,
        g_hi: int,
        full: bool,
        layout: object,
        width: int,
        h: int,
    ) -> None:
        """Draw grid columns [g_lo, g_hi) of every row into the ring image (column g at g mod width, twice)."""
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
        chunk = self._strip_image(lines, g_hi - ctx, ctx, h)
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

    def _strip_image(self, lines: list[bytes], width: int, first: int, h: int) -> QImage:
        """Rows of pixel codes (``first`` is the grid index of column 0) as an image in the ring's layout.

        Waits get light diagonal stripes inside (runs of 3 px or more), contended holds a dark
        edge (2 px top and bottom, 1 px at each end); plain holds stay solid. All rows are worked
        out at once as one big integer (a zero byte after each row keeps neighbours apart), so
        the cost depends on the number of columns, not on the number of segments.
        """
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

    def paint(self, p: QPainter, rows: Sequence[TimelineRow], gutter: float, row_h: int) -> None:
        """Draw every row's strip at the plot's left edge ``gutter``."""
        ring = self._ring
        if ring.isNull() or not rows:
            return
        width = ring.width() // 2
        h = row_h - 4
        c0 = self.first_px % width  # the ring column at the plot's left edge
        # row by row, so the gaps between rows cost nothing to blend
        for row in rows:
            y = row.top + 2
            p.drawImage(QRectF(gutter, y, width, h), ring, QRectF(c0, y - self._ring_top, width, h))
