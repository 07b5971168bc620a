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
CLOSE_JOINS = 10.0
"""Seconds closing may spend past the server's stop timeout joining the bridge's threads (2 x its JOIN_TIMEOUT)."""

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


def settle_gc() -> None:
    """Collect, then move every object alive now out of the cyclic collector's way (``gc.freeze``).

    A full collection walks every tracked object (~80,000 after start-up: modules, Qt wrappers,
    the tree's nodes) and took 100-300 ms on the GUI thread, triggered by whichever thread was
    allocating: under a fleet's stream of changes that was the longest pause the window had.
    Frozen objects are still freed when nothing refers to them; unfreezing first lets a later
    call collect cycles among them. Called once the window has loaded, and after each attach.
    """
    import gc

    gc.unfreeze()
    gc.collect()
    gc.freeze()


def run_gui(script: str | None = None, self_test: bool = False, attach: tuple[str, str] | None = None) -> int:
    """Open the main window running ``script`` (default: the demo) until it is closed; returns the exit code.

    ``attach``: (Redis URL, namespace) to open attached to a shared state instead of running a script
    (if Redis cannot be reached the window says why and stays open, File -> Attach to retry).
    """
    if self_test:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"
    )
    import qasync
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from desktop_app.engine.process_exit import EXIT_GRACE, exit_deadline, exit_now
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

    # However the window closes, the process ends: closing stops the server (jobs get its stop
    # timeout, then are abandoned on their daemon threads); if anything still holds the process
    # after that, exit_deadline ends it.
    closing: list[str] = []

    def arm_exit(why: str) -> None:
        if not closing:
            closing.append(why)
            stop_timeout = window.server.stop_timeout if window.server is not None else 5.0
            exit_deadline(stop_timeout + CLOSE_JOINS + EXIT_GRACE, 1, why)

    class CloseWatch(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Close:
                arm_exit("the window closed")
            return False

    close_watch = CloseWatch()
    window.installEventFilter(close_watch)

    # SIGTERM / SIGINT from outside close the window like Ctrl+Q; a second one exits at once.
    def on_signal(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if closing:
            log.warning("%s received again: exiting now without waiting for running jobs", name)
            exit_now(128 + signum)
        arm_exit(name)  # first: the next signal may interrupt this handler
        log.info("%s received, closing (send it again to exit at once)", name)
        QTimer.singleShot(0, window.close)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    wake_on_signals = _SignalWakeup()

    window.after_attach = settle_gc

    async def main() -> None:
        window.show()
        # The server (its imports, its script, the demo's first state) starts once the window has
        # painted, and so does attaching: a person sees the window at once, and its paint does not
        # compete for the GIL.
        await _first_paint(window)
        if attach is not None:
            await window.attach(*attach)
            await quit_event.wait()
            return
        last = window.settings.value("last_script") if script is None and not self_test else None
        target = script or (last if isinstance(last, str) and Path(last).is_file() else None)
        ok = await window.load_script(target)
        if not ok and target is not None and script is None:
            ok = await window.load_script(None)  # the remembered script broke: fall back to the demo
        settle_gc()
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
