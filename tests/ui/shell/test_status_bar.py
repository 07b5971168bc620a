"""The status bar's change rate: smoothed over 10 s and said in words a person reads at a glance."""

from __future__ import annotations

import time
from typing import Any

import pytest

from desktop_app.ui.shell.status_bar import RateMeter, StatusBar, rate_text


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        (0.0, "no changes"),
        (0.5, "1 change / 2 s"),
        (0.1, "1 change / 10 s"),
        (0.7, "1 change / 1.4 s"),
        (1 / 120, "1 change / 2 min"),
        (1.0, "1 change/s"),
        (1.5, "1.5 changes/s"),
        (2.0, "2 changes/s"),
        (37.4, "37 changes/s"),
        (12_345.0, "12,345 changes/s"),
    ],
)
def test_rate_text(rate: float, text: str) -> None:
    assert rate_text(rate) == text


def test_rate_meter_averages_over_ten_seconds() -> None:
    meter = RateMeter(window=10.0)
    # one change every 2 s, sampled each second: 1, 0, 1, 0, ...
    smoothed = [meter.add(float(i % 2 == 0), now=float(i)) for i in range(30)]
    assert smoothed[-1] == pytest.approx(0.5)
    assert all(0.4 <= r <= 0.6 for r in smoothed[10:])
    # old samples leave the window: a quiet state reads as quiet within 10 s
    for i in range(30, 41):
        last = meter.add(0.0, now=float(i))
    assert last == 0.0


def test_rate_meter_weights_each_sample_by_its_span() -> None:
    # A change every 2 s, sampled at uneven gaps (1 s, then 3 s): the rates are 1.0 and 0.33, and a
    # plain mean of them (0.67) would read "1 change / 1.5 s".
    meter = RateMeter(window=30.0)
    now = 0.0
    meter.add(0.5, now)
    for _ in range(5):
        now += 1.0
        meter.add(1.0, now)
        now += 3.0
        smoothed = meter.add(1 / 3, now)
    assert rate_text(smoothed) == "1 change / 2 s"


def test_status_bar_shows_the_smoothed_rate_not_the_last_second(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    bar = StatusBar()
    qtbot.addWidget(bar)
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    for rate in (1.0, 0.0, 1.0, 0.0):
        now[0] += 1.0
        bar.show_rate(rate)
    assert bar.rate_label.text() == "1 change / 2 s"


def test_a_steady_rate_keeps_its_text(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    bar = StatusBar()
    qtbot.addWidget(bar)
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    texts = []
    for i in range(40):  # one change every 2 s, sampled about once a second (jitter: 9 or 10 in the window)
        now[0] += 1.0 + (0.05 if i % 3 == 0 else -0.03)
        bar.show_rate(float(i % 2 == 0))
        texts.append(bar.rate_label.text())
    assert set(texts[12:]) == {"1 change / 2 s"}, set(texts)
    for _ in range(12):  # and when the changes stop, it says so
        now[0] += 1.0
        bar.show_rate(0.0)
    assert bar.rate_label.text() == "no changes"


def test_a_new_rate_repaints_only_its_label(qtbot: Any) -> None:
    # A status bar label that may change size lays out the status bar, and the status bar the main
    # window with every dock in it: a rate that changes every few seconds must not cost that.
    from PySide6.QtCore import QCoreApplication, QEvent, QObject
    from PySide6.QtWidgets import QMainWindow

    window = QMainWindow()
    qtbot.addWidget(window)
    bar = StatusBar(window)
    window.setStatusBar(bar)
    window.show()
    qtbot.waitExposed(window)
    QCoreApplication.sendPostedEvents()

    class Layouts(QObject):
        seen = 0

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.LayoutRequest:
                self.seen += 1
            return False

    layouts = Layouts()
    for widget in (window, bar):
        widget.installEventFilter(layouts)
    texts = set()
    for rate in (0.5, 0.0, 3.0, 40.0, 12_345.0, 1 / 120):
        bar.rate_meter.clear()
        bar.show_rate(rate)
        texts.add(bar.rate_label.text())
        QCoreApplication.sendPostedEvents()
        assert layouts.seen == 0, f"{bar.rate_label.text()!r} laid out the window"
        assert bar.rate_label.width() >= bar.rate_label.sizeHint().width(), "the text is clipped"
    assert len(texts) == 6
