"""The main window's status bar: script, HTTP endpoint, entry count, change rate and the global lock's holder."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from desktop_app.engine.locks import Holder
from desktop_app.ui.common.plural import count

RATE_WINDOW = 10.0
"""Seconds the shown change rate is averaged over: a timer every 2 s reads as one rate, not 1, 0, 1, 0."""
RATE_STEADY = 0.15
"""The shown rate changes when the average moves by more than this share: a steady 1 change / 2 s does
not flicker between "/ 1.8 s" and "/ 2.2 s" as samples enter and leave the window (each flicker a
repaint of the status bar, the biggest cost left of an idle studio's status bar)."""


def _number(value: float) -> str:
    """``2.0`` -> ``2``, ``1.43`` -> ``1.4``, ``12.6`` -> ``13``."""
    return f"{value:,.0f}" if value >= 9.95 else f"{value:.1f}".removesuffix(".0")


def rate_text(rate: float) -> str:
    """Changes per second in words: ``3 changes/s``, ``1 change/s``, ``1 change / 2 s``, ``no changes``.

    Below one change a second the interval reads better than a fraction ("0.5 changes/s").
    """
    if rate < 0.005:
        return "no changes"
    if rate >= 0.95:
        shown = _number(rate)
        return f"{shown} change/s" if shown == "1" else f"{shown} changes/s"
    period = 1 / rate
    if period >= 60:
        return f"1 change / {_number(period / 60)} min"
    return f"1 change / {_number(period)} s"


RATE_TEXTS_WIDEST = ("1 change / 9.9 min", "1 change / 9.9 s", "99,999 changes/s", "no changes")
"""The widest texts the rate label usually shows: it is sized once for them."""


class RateMeter:
    """Averages the bridge's rate samples over the last ``window`` seconds, each weighted by its span.

    A sample is the rate since the one before, and the bridge sends them 1-2 s apart: weighting by
    the time between arrivals makes the average changes over time (a change every 2 s reads "/ 2 s"),
    where a plain mean of the rates overweights the short spans.
    """

    FIRST_SPAN = 1.0
    """The weight of a sample with none before it (about the bridge's pace)."""
    MIN_SPAN = 0.05

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self.window = window
        self._samples: deque[tuple[float, float, float]] = deque()  # (arrived, rate, span)

    def add(self, rate: float, now: float) -> float:
        """Record a sample arriving at ``now`` (monotonic seconds); returns the smoothed rate."""
        span = now - self._samples[-1][0] if self._samples else self.FIRST_SPAN
        self._samples.append((now, rate, min(max(span, self.MIN_SPAN), self.window)))
        while self._samples and self._samples[0][0] <= now - self.window:
            self._samples.popleft()
        return sum(r * s for _, r, s in self._samples) / sum(s for _, _, s in self._samples)

    def clear(self) -> None:
        self._samples.clear()


class StatusBar(QStatusBar):
    """Permanent facts on the left, the global lock on the right; ``showMessage`` for passing news."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.script_label = QLabel()
        self.url_label = QLabel()
        self.url_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.count_label = QLabel()
        self.rate_label = QLabel(rate_text(0))
        self.rate_label.setToolTip(f"Changes to the state, averaged over the last {RATE_WINDOW:g} s")
        # A fixed size: a label whose size can change lays out the status bar, and the status bar
        # the whole main window (every dock and toolbar, a QPropertyAnimation each), on every new
        # text - the costliest thing an idle studio did. Fixed, a new rate repaints just the label.
        self.rate_label.setFixedSize(
            max(self._label_width(self.rate_label, t) for t in RATE_TEXTS_WIDEST),
            self.rate_label.sizeHint().height(),
        )
        self.rate_meter = RateMeter()
        self._shown_rate = 0.0
        self.lock_label = QLabel("global: idle")
        for w in (self.script_label, self.url_label, self.count_label, self.rate_label):
            self.addWidget(w)
        self.addPermanentWidget(self.lock_label)

    def show_script(self, name: str) -> None:
        self.script_label.setText(f"Script: {name}")
        self.script_label.setToolTip("")
        self.script_label.setStyleSheet("")

    def show_attached(self, shown: str, *, connected: bool = True) -> None:
        """Attached to a shared state: its URL (never a password) and namespace, and whether Redis answers."""
        self.script_label.setText(f"Attached: {shown}" + ("" if connected else " — connection lost, retrying…"))
        self.script_label.setToolTip("File → Detach returns to the server in this window")
        self.script_label.setStyleSheet("" if connected else "color: #c62828; font-weight: bold;")

    def show_endpoint(self, server: Any) -> None:
        """The server's URLs while it runs, "stopped" when it does not, a warning for an endpoint that failed."""
        if server is None or not server.endpoints:
            self.url_label.setText("")
            return
        parts = []
        for ep in server.endpoints:
            if ep.error:
                parts.append(f"⚠ {ep.error}")
            elif server.running and ep.url:
                parts.append(ep.url)
        self.url_label.setText("  ".join(parts) if server.running else "stopped")

    def show_counts(self, n: int) -> None:
        self.count_label.setText(count(n, "entry"))

    def show_rate(self, rate: float) -> None:
        """A new per-second sample from the bridge; shows the average over the last RATE_WINDOW s."""
        smoothed = self.rate_meter.add(rate, time.monotonic())
        shown = self._shown_rate
        quiet, was_quiet = rate_text(smoothed) == rate_text(0), rate_text(shown) == rate_text(0)
        if quiet != was_quiet or abs(smoothed - shown) > RATE_STEADY * max(smoothed, shown):
            self._shown_rate = smoothed
            text = rate_text(smoothed)
            width = self._label_width(self.rate_label, text)
            if width > self.rate_label.width():  # wider than foreseen: grow (one layout), never clip
                self.rate_label.setFixedWidth(width)
            self.rate_label.setText(text)

    @staticmethod
    def _label_width(label: QLabel, text: str) -> int:
        """The width ``label`` needs to show ``text`` in full (its margins and frame included)."""
        margins = label.contentsMargins()
        extra = margins.left() + margins.right() + 2 * (label.margin() + label.frameWidth())
        return label.fontMetrics().horizontalAdvance(text) + extra + 2

    def show_lock_status(self, status: Any) -> None:
        holder: Holder | None = getattr(status, "holder", None)
        waiting = tuple(getattr(status, "waiting", ()))
        if holder is None:
            self.lock_label.setText("global: idle")
            self.lock_label.setToolTip("")
        elif waiting:
            self.lock_label.setText(
                f"global: contended — held by {holder.thread} ({len(waiting)} waiting)"
            )
            self.lock_label.setToolTip(f"held at {holder.site}\nwaiting: {', '.join(waiting)}")
        else:
            self.lock_label.setText(f"global: held by {holder.thread}")
            self.lock_label.setToolTip(f"held at {holder.site}")
