"""Starting and stopping the GUI: QApplication + qasync loop, signals from outside, the self-test."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path

APP_ID = "io.github.sharedstatestudio.StateStudio"
ORG_NAME = "Shared State Studio"
APP_NAME = "state-studio"
SELF_TEST_TIMEOUT = 20.0

log = logging.getLogger("desktop_app.ui.shell.app")


def app_icon_path() -> Path:
    from desktop_app.engine.paths import resources_dir

    return resources_dir() / "icons" / f"{APP_ID}.svg"


def make_application() -> object:
    """The QApplication with the identity QSettings and the desktop use."""
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else APP_NAME])
    QApplication.setApplicationName(APP_NAME)
    QApplication.setOrganizationName(ORG_NAME)
    QApplication.setOrganizationDomain("sharedstatestudio.github.io")
    QGuiApplication.setDesktopFileName(APP_ID)
    icon = app_icon_path()
    if icon.is_file():
        QApplication.setWindowIcon(QIcon(str(icon)))
    return app


def run_gui(script: str | None = None, self_test: bool = False) -> int:
    """Open the main window running ``script`` (default: the demo) until it is closed; returns the exit code."""
    if self_test:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"
    )
    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop_app.ui.shell.main_window import MainWindow

    if script is not None and not Path(script).is_file():
        print(f"state-studio: {script}: no such server script", file=sys.stderr)
        return 2
    app = make_application()
    assert isinstance(app, QApplication)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow()
    window.interactive = not self_test
    quit_event = asyncio.Event()
    app.aboutToQuit.connect(quit_event.set)
    result = {"code": 0}

    # SIGTERM / SIGINT from outside close the window like Ctrl+Q.
    def on_signal(signum: int, _frame: object) -> None:
        log.info("%s received, closing", signal.Signals(signum).name)
        QTimer.singleShot(0, window.close)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    wake_on_signals = _SignalWakeup()

    async def main() -> None:
        window.show()
        # The server (its imports, its script, the demo's first state) starts once the window has
        # painted: a person sees the window at once, and its paint does not compete for the GIL.
        await _first_paint(window)
        last = window.settings.value("last_script") if script is None and not self_test else None
        target = script or (last if isinstance(last, str) and Path(last).is_file() else None)
        ok = await window.load_script(target)
        if not ok and target is not None and script is None:
            ok = await window.load_script(None)  # the remembered script broke: fall back to the demo
        if self_test:
            result["code"] = await _self_test(window, ok)
            window.close()
        await quit_event.wait()

    with loop:
        try:
            loop.run_until_complete(main())
        except RuntimeError as err:  # the loop was stopped by the last window closing
            if "Event loop stopped before Future completed" not in str(err):
                raise
        finally:
            wake_on_signals.close()
    return result["code"]


async def _first_paint(window: object, timeout: float = 2.0) -> None:
    """Return once ``window`` has finished its first paint (or after ``timeout``: offscreen, no display)."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    loop = asyncio.get_event_loop()
    painted: asyncio.Future[None] = loop.create_future()

    class Watch(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not painted.done():
                # after the paint event has been handled, and its pixels flushed
                QTimer.singleShot(0, lambda: painted.done() or painted.set_result(None))
            return False

    assert isinstance(window, QObject)
    watch = Watch()
    window.installEventFilter(watch)
    try:
        await asyncio.wait_for(painted, timeout)
    except TimeoutError:
        log.debug("no paint of the main window within %.1f s; starting anyway", timeout)
    finally:
        window.removeEventFilter(watch)


class _SignalWakeup:
    """Wakes the Qt loop when a signal arrives, so Python runs its handler at once.

    Qt sleeps in C, and Python runs a signal handler only when the interpreter next runs: a polling
    timer would wake an idle app five times a second for nothing. Instead the signal module writes
    each signal's number to a socket (``signal.set_wakeup_fd``) that a QSocketNotifier watches.
    """

    def __init__(self) -> None:
        from PySide6.QtCore import QSocketNotifier

        self._read, self._write = socket.socketpair()
        for sock in (self._read, self._write):
            sock.setblocking(False)
        self._previous = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._drain)

    def _drain(self) -> None:
        try:
            while self._read.recv(512):
                pass
        except OSError:  # drained (would block)
            pass

    def close(self) -> None:
        self._notifier.setEnabled(False)
        signal.set_wakeup_fd(self._previous)
        self._read.close()
        self._write.close()


async def _self_test(window: object, loaded: bool) -> int:
    from desktop_app.ui.common.plural import count
    from desktop_app.ui.shell.main_window import MainWindow

    assert isinstance(window, MainWindow)
    if not loaded or window.server is None:
        print("self-test: FAILED: the demo did not load", file=sys.stderr)
        return 1
    timer = window.server.timers.get("forever")
    if timer is None:
        print("self-test: FAILED: the demo has no 'forever' timer", file=sys.stderr)
        return 1
    ticks: list[int] = []
    window.bridge.entries_changed.connect(lambda delta: ticks.append(1))
    start = timer.count
    loop = asyncio.get_event_loop()
    deadline = loop.time() + SELF_TEST_TIMEOUT
    while loop.time() < deadline:
        if timer.count > start and ticks and window.view.model.rowCount() > 0:
            print(
                f"self-test: ok (timer ticked {timer.count - start}x, the tree shows "
                f"{count(window.view.model.rowCount(), 'entry')})",
                file=sys.stderr,
            )
            return 0
        await asyncio.sleep(0.05)
    print(f"self-test: FAILED: no timer tick reached the tree within {SELF_TEST_TIMEOUT:.0f} s", file=sys.stderr)
    return 1
