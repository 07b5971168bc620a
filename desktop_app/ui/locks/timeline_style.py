"""How the contention timeline looks: its colour-blind-safe colours and patterns, and the legend that shows them."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetrics, QImage, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop_app.ui.locks.timeline_data import SegmentKind

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
