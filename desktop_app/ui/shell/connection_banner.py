"""The banner over the tree while an attached Redis cannot be reached: what happened, that it retries, what still works."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsOpacityEffect, QLabel, QWidget

STALE_OPACITY = 0.45
"""The tree while Redis is away: the last known state, greyed, still readable and scrollable."""


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


def grey_out(widget: QWidget, stale: bool) -> None:
    """Dim ``widget`` (the tree) while what it shows may be out of date; it stays readable and usable."""
    if stale:
        effect = QGraphicsOpacityEffect(widget)
        effect.setOpacity(STALE_OPACITY)
        widget.setGraphicsEffect(effect)
    else:
        widget.setGraphicsEffect(None)  # type: ignore[arg-type]
