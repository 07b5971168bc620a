"""The processes ``bench.studio_cost`` starts for S1 (launch to first paint) and I1 (idle CPU).

``python -m bench.launch_child app T0`` starts the studio as ``state-studio`` does (the demo, a real
window) and ``bare T0`` a bare PySide6 ``QMainWindow``; both print ``PAINTED <seconds since T0>`` once
their window has finished its first paint (``T0`` is the parent's ``time.monotonic()`` just before it
started this process, the same clock system-wide on Linux, so interpreter start-up is counted). With
``--stay`` the process keeps running (I1's bare-window baseline); otherwise it exits right away.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

PAINTED = "PAINTED"


def _watch_first_paint(app: Any, t0: float, stay: bool) -> None:
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QMainWindow

    class FirstPaint(QObject):
        """Reports after the first paint of the main window (a zero timer runs once the paint is done)."""

        def __init__(self) -> None:
            super().__init__()
            self.armed = False

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if (
                not self.armed
                and event.type() == QEvent.Type.Paint
                and isinstance(watched, QMainWindow)
            ):
                self.armed = True
                QTimer.singleShot(0, self.report)
            return False

        def report(self) -> None:
            print(f"{PAINTED} {time.monotonic() - t0:.4f}", flush=True)
            app.removeEventFilter(self)
            if not stay:
                os._exit(0)  # the demo's threads and the loop need no orderly goodbye here

    watcher = FirstPaint()
    app.installEventFilter(watcher)
    app._first_paint_watch = watcher  # kept alive with the application


def run_app(t0: float, stay: bool) -> int:
    import desktop_app.ui.shell.app as shell_app

    make = shell_app.make_application

    def make_and_watch() -> object:
        app = make()
        _watch_first_paint(app, t0, stay)
        return app

    shell_app.make_application = make_and_watch
    from desktop_app.__main__ import main

    sys.argv = ["state-studio"]
    return main()


def run_bare(t0: float, stay: bool) -> int:
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication(["bare"])
    _watch_first_paint(app, t0, stay)
    window = QMainWindow()
    window.resize(1280, 800)
    window.show()
    return app.exec()


if __name__ == "__main__":
    mode, start = sys.argv[1], float(sys.argv[2])
    keep = "--stay" in sys.argv[3:]
    sys.exit(run_app(start, keep) if mode == "app" else run_bare(start, keep))
