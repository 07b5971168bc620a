"""The banner over the tree while an attached Redis cannot be reached: what happened, that it retries, what still works."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QAbstractScrollArea, QLabel, QWidget

STALE_OPACITY = 0.5
"""How much of the tree shows through its veil while Redis is away: greyed, still readable and scrollable."""


class ConnectionBanner(QLabel):
    """Hidden while connected; ``show_lost`` / ``show_back`` follow the bridge's ``Connection`` reports."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ConnectionBanner")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setStyleSheet(
            "QLabel#ConnectionBanner { background: #b26a00; color: white; font-weight: bold; "
            "padding: 6px; border-radius: 3px; }"
        )
        self.hide()

    def show_lost(self, url: str, reason: str, retry_in: float, attempts: int) -> None:
        again = f"next try in {retry_in:.1f} s" if retry_in < 1.95 else f"next try in {retry_in:.0f} s"
        tries = f", {attempts} tries so far" if attempts > 1 else ""
        self.setText(
            f"⚠ Connection lost to {url}, retrying… ({again}{tries})\n"
            f"The tree shows the last state it received, greyed; edits are refused until Redis answers. "
            f"({reason})"
        )
        self.setToolTip(reason)
        self.show()

    def show_back(self) -> None:
        self.hide()
        self.setText("")


class StaleVeil(QWidget):
    """A translucent veil over a view's viewport: what is under it reads as out of date, yet stays legible.

    It lets the mouse through (scroll, select, copy still work) and follows the viewport's size.
    (A QGraphicsOpacityEffect on a scroll area paints stale pixels of other widgets into it.)
    """

    def __init__(self, viewport: QWidget) -> None:
        super().__init__(viewport)
        self.setObjectName("StaleVeil")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        viewport.installEventFilter(self)
        self.setGeometry(viewport.rect())
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and isinstance(watched, QWidget):
            self.setGeometry(watched.rect())
        return False

    def paintEvent(self, _event: QPaintEvent) -> None:
        colour = QColor(self.palette().color(QPalette.ColorRole.Base))
        colour.setAlpha(round(255 * (1 - STALE_OPACITY)))
        p = QPainter(self)
        p.fillRect(self.rect(), colour)
        p.end()


def grey_out(view: QAbstractScrollArea, stale: bool) -> None:
    """Veil ``view`` (the tree) while what it shows may be out of date; it stays readable and usable."""
    veil = view.viewport().findChild(StaleVeil, "StaleVeil")
    if veil is None:
        if not stale:
            return
        veil = StaleVeil(view.viewport())
    veil.setVisible(stale)
    if stale:
        veil.raise_()


def is_greyed(view: QAbstractScrollArea) -> bool:
    veil = view.viewport().findChild(StaleVeil, "StaleVeil")
    return veil is not None and veil.isVisible()
