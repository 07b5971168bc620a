"""The main window: the live state tree in the middle, docks around it, menus, status bar, server control."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QShowEvent, QUndoStack
from PySide6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QWidget,
)

from desktop_app.engine import ScriptError
from desktop_app.engine.paths import demo_script
from desktop_app.ui.bridge.fleet_monitor import FleetMonitor
from desktop_app.ui.bridge.state_bridge import StateBridge
from desktop_app.ui.common.plural import count
from desktop_app.ui.jobs.jobs_dock import JobsDock
from desktop_app.ui.locks.locks_dock import LocksDock
from desktop_app.ui.processes.processes_dock import ProcessesDock
from desktop_app.ui.shell.attach_flows import AttachFlows
from desktop_app.ui.shell.connection_banner import ConnectionBanner
from desktop_app.ui.shell.dock_layout import arrange_docks, first_run_geometry, size_docks
from desktop_app.ui.shell.log_dock import LogDock
from desktop_app.ui.shell.main_toolbar import build_toolbar
from desktop_app.ui.shell.shortcuts_dialog import ShortcutsDialog
from desktop_app.ui.shell.state_file_flows import StateFileFlows
from desktop_app.ui.shell.status_bar import StatusBar
from desktop_app.ui.shell.window_menus import build_menus, make_action, show_shortcuts
from desktop_app.ui.snapshots.snapshots_dock import SnapshotsDock
from desktop_app.ui.tree.state_view import StateView

if TYPE_CHECKING:
    from desktop_app.engine.server import Server

log = logging.getLogger("desktop_app.ui")
T = TypeVar("T")

APP_TITLE = "Shared State Studio"
FIRST_RUN_EXPAND_ROWS = 200
"""A state of at most this many rows (entries and everything nested) opens fully expanded on first run."""


class MainWindow(AttachFlows, StateFileFlows, QMainWindow):
    """Hosts one Server at a time and shows its state live, or shows a shared state on Redis (attached)."""

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.settings = settings if settings is not None else QSettings()
        self.server: Server | None = None
        self.script: Path | None = None
        self.state_file: Path | None = None
        self.state_format = "pode"
        # False for --self-test: problems go to the log and stderr instead of modal dialogs.
        self.interactive = True
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gui-io")
        self._tasks: set[asyncio.Future[Any]] = set()
        self.undo_stack = QUndoStack(self)
        self.bridge = StateBridge(None, self)
        self.view = StateView(self.bridge, self.undo_stack, self)
        self.setCentralWidget(self.view)
        self.banner = ConnectionBanner(self.view)
        self.view.layout().insertWidget(0, self.banner)  # type: ignore[union-attr]
        self.fleet = FleetMonitor(self)
        self._make_docks()
        self._make_actions()
        build_menus(self)
        self.toolbar = build_toolbar(self)
        self._refresh_recent()
        self.status_bar = StatusBar(self)
        self.setStatusBar(self.status_bar)
        sb = self.status_bar
        # the labels by name, for code and tests that read them
        self.script_label, self.url_label, self.count_label = sb.script_label, sb.url_label, sb.count_label
        self.rate_label, self.lock_label = sb.rate_label, sb.lock_label
        self.bridge.lock_status.connect(sb.show_lock_status)
        self.bridge.rate_changed.connect(sb.show_rate)
        self.snapshots_dock.snapshot_taken.connect(self._show_snapshot_taken)
        self._expand_on_first_load = False
        self.bridge.entries_reset.connect(self._expand_small_state)
        self.bridge.entries_changed.connect(self._expand_small_state)
        self._expand_when_filled: set[tuple[Any, ...]] = set()
        self.bridge.entries_changed.connect(self._expand_filled)
        self.bridge.entries_reset.connect(self._show_counts)
        self.bridge.entries_changed.connect(self._show_counts)
        self.bridge.entries_reset.connect(self._hint_if_empty)
        self.bridge.entries_changed.connect(self._hint_if_empty)
        self.bridge.connection_changed.connect(self._on_connection)
        self.fleet.processes_changed.connect(self.processes_dock.show_processes)
        self.fleet.updated.connect(self._on_fleet_updated)
        self.processes_dock.process_selected.connect(self._on_process_selected)
        self.bridge.start()
        self._restore_settings()
        self._update_title()
        self._show_server_state()

    # -- construction -----------------------------------------------------------------------------

    def _make_docks(self) -> None:
        self.log_dock = LogDock(self)
        logging.getLogger().addHandler(self.log_dock.handler)
        if logging.getLogger().level > logging.INFO or logging.getLogger().level == logging.NOTSET:
            logging.getLogger().setLevel(logging.INFO)
        self.locks_dock = LocksDock(self)
        self.jobs_dock = JobsDock(self)
        self.snapshots_dock = SnapshotsDock(self.bridge, self.undo_stack, self)
        self.processes_dock = ProcessesDock(self)
        arrange_docks(self)

    def _make_actions(self) -> None:
        K = QKeySequence.StandardKey
        spawn = self.spawn
        self.open_script_action = make_action(
            self, "Open server script…", lambda: spawn(self.open_script_dialog()), "Ctrl+Shift+O"
        )
        self.open_state_action = make_action(
            self, "Open state file…", lambda: spawn(self.open_state_dialog()), K.Open, "Load a state file"
        )
        self.save_action = make_action(self, "Save", lambda: spawn(self.save_state()), K.Save)
        self.save_as_action = make_action(self, "Save As…", lambda: spawn(self.save_state_as()), K.SaveAs)
        self.quit_action = make_action(self, "Quit", self.close, "Ctrl+Q")
        self.attach_action = make_action(
            self,
            "Attach to shared state…",
            lambda: self.attach_dialog(),
            "Ctrl+Shift+A",
            "Show a state that processes share through Redis: its tree, processes and locks",
        )
        self.detach_action = make_action(
            self, "Detach", lambda: spawn(self.detach()), None, "Back to the server in this window"
        )
        self.undo_action = self.undo_stack.createUndoAction(self, "Undo")
        self.undo_action.setShortcut(QKeySequence(K.Undo))
        self.redo_action = self.undo_stack.createRedoAction(self, "Redo")
        # The platform's Redo keys plus both common ones, each once: on X11 the platform's Redo *is*
        # Ctrl+Shift+Z, and a sequence registered twice on one action is "ambiguous" and does nothing.
        redo_keys = [*QKeySequence.keyBindings(K.Redo), QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")]
        self.redo_action.setShortcuts(list({k.toString(): k for k in redo_keys if not k.isEmpty()}.values()))
        self.start_action = make_action(self, "Start", lambda: spawn(self.start_server()), "F5")
        self.stop_action = make_action(self, "Stop", lambda: spawn(self.stop_server()), "Shift+F5")
        self.restart_action = make_action(self, "Restart", lambda: spawn(self.restart_server()), "Ctrl+R")

    # -- async plumbing ---------------------------------------------------------------------------

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Future[Any]:
        """Run a flow on the qasync loop; its errors land in a message box, never in a traceback."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        err = task.exception()
        if err is not None:
            log.error("unexpected error: %s", err, exc_info=err)
            self.notify("critical", APP_TITLE, f"Something went wrong:\n\n{type(err).__name__}: {err}")

    def notify(self, kind: str, title: str, text: str) -> None:
        """A message box (critical / warning / information), or a log line when nobody can click it."""
        if not self.interactive:
            level = {"critical": logging.ERROR, "warning": logging.WARNING}.get(kind, logging.INFO)
            log.log(level, "%s: %s", title, text.replace("\n\n", " — ").replace("\n", " "))
            return
        getattr(QMessageBox, kind)(self, title, text)

    async def off_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work (engine calls, file I/O) on a worker thread; the window keeps responding."""
        return await asyncio.wrap_future(self._pool.submit(fn, *args))

    async def _with_progress(self, label: str, fn: Callable[..., T], *args: Any, big: bool = True) -> T:
        progress = None
        if big:
            progress = QProgressDialog(label, "", 0, 0, self)
            progress.setCancelButton(None)
            progress.setWindowModality(Qt.WindowModality.WindowModal)
            progress.setMinimumDuration(300)
            progress.setValue(0)
        try:
            return await self.off_thread(fn, *args)
        finally:
            if progress is not None:
                progress.close()

    # -- server -----------------------------------------------------------------------------------

    async def load_script(self, path: str | os.PathLike[str] | None) -> bool:
        """Load a server script and switch to it; on failure the previous server keeps running."""
        script = Path(path) if path else demo_script()
        try:
            server = await self.off_thread(_server_from_script, script)
        except ScriptError as err:
            log.error("cannot load %s", err)
            line = f", line {err.line}" if err.line else ""
            self.notify("critical",
                "Cannot load server script",
                f"{err.path}{line}\n\n{err.reason}\n\n"
                + ("The previous server keeps running." if self.server else "No server is running."),
            )
            return False
        old = self.server
        if old is not None:
            await self.off_thread(old.stop)
        if self.attached is not None:
            self._leave_attached()
            self._local_server = None  # stopped when we attached; the new script replaces it
        self.server = server
        self.script = script.resolve()
        self.settings.setValue("last_script", str(self.script))
        self.undo_stack.clear()
        await self.off_thread(server.start)
        self._attach(server)
        log.info("running %s", self.script)
        return True

    async def open_demo(self, path: Path, dock: str | None = None) -> bool:
        """Load a bundled demo; then bring forward the dock (attribute name) that shows what it is about."""
        ok = await self.load_script(path)
        if ok and dock is not None:
            widget = getattr(self, dock)
            widget.show()
            widget.raise_()
        return ok

    def _attach(self, server: Server | None) -> None:
        self.bridge.set_server(server)
        # attached: the fleet's lockables (read without I/O), never the server's own (a round trip each)
        self.locks_dock.set_server(server, fleet=self.fleet.lockables if self.attached is not None else None)
        self.jobs_dock.set_server(server)
        self.snapshots_dock.set_server(server)
        self.status_bar.rate_meter.clear()  # the old server's rate says nothing about this one
        self._expand_when_filled.clear()  # paths in the old server's state
        self._update_title()
        self._show_server_state()
        self._expand_small_state()

    def _expand_filled(self, *_: Any) -> None:
        """First run: expand the containers that were empty then, as they get their first items."""
        for path in list(self._expand_when_filled):
            node = self.view.model.node_for_path(path, fetch=False)
            if node is None or not _is_empty_container(node.value):
                self._expand_when_filled.discard(path)
                if node is not None:
                    self.view.tree.expand(self.view.view_index(node))

    def _expand_small_state(self, *_: Any) -> None:
        """First run: a small state opens fully expanded, so a new user sees hash -> values grow.

        Tried on attach and on each update until the tree has the server's entries, then never again.
        """
        if not self._expand_on_first_load or self.server is None:
            return
        nodes = self.view.model.top_nodes()
        if not nodes:
            return
        self._expand_on_first_load = False
        budget = [FIRST_RUN_EXPAND_ROWS]
        if all(_fits(node.value, budget) for node in nodes):
            self.view.expand_all()
            # expand_all skips empty containers, yet the demo's values list starts empty and then
            # grows: open those once they have something to show.
            self._expand_when_filled = {
                node.path() for node in self.view.model.iter_nodes() if _is_empty_container(node.value)
            }
        elif len(nodes) <= 20:  # too big to open fully: at least the entries themselves
            for node in nodes:
                self.view.tree.expand(self.view.view_index(node))

    async def open_script_dialog(self) -> None:
        start = str(self.script.parent) if self.script else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open server script", start, "Python scripts (*.py)")
        if path:
            await self.load_script(path)

    def _server_busy(self) -> None:
        """While a start or stop runs, neither can be asked for again."""
        self.start_action.setEnabled(False)
        self.stop_action.setEnabled(False)

    async def start_server(self) -> None:
        server = self.server
        if server is None or server.running:
            return
        self._server_busy()
        try:
            await self.off_thread(server.start)
        finally:
            self._show_server_state()
        self.statusBar().showMessage("Server started", 3000)

    async def stop_server(self) -> None:
        server = self.server
        if server is not None and server.running:
            self._server_busy()
            try:
                stuck = await self.off_thread(server.stop)
            finally:
                self._show_server_state()
            if stuck:
                self.notify("warning",
                    "Jobs still running",
                    f"These jobs did not return within {self.server.stop_timeout:g} s and are still "
                    f"running (threads cannot be killed):\n\n{', '.join(stuck)}",
                )
            else:
                self.statusBar().showMessage("Server stopped", 3000)

    async def restart_server(self) -> None:
        if self.server is None:
            return
        try:
            await self.off_thread(self.server.restart)
        except ScriptError as err:
            self.notify("critical", "Restart failed", str(err))
        self.undo_stack.clear()
        self._attach(self.server)
        self.statusBar().showMessage("Server restarted", 3000)

    # -- status -----------------------------------------------------------------------------------

    def _update_title(self) -> None:
        if self.attached is not None:
            lost = self.bridge.connection is not None and not self.bridge.connection.ok
            self.setWindowTitle(f"{APP_TITLE} — attached to {self.attached.shown}" + (" (connection lost)" if lost else ""))
            self.status_bar.show_attached(self.attached.shown, connected=not lost)
            return
        name = self.script.name if self.script else "no script"
        self.setWindowTitle(f"{APP_TITLE} — {name}")
        self.status_bar.show_script(name)

    def _show_server_state(self) -> None:
        """The endpoint in the status bar, and Start / Stop enabled by whether the server runs."""
        server = self.server
        attached = self.attached is not None
        self.status_bar.show_endpoint(None if attached else server)
        running = server is not None and server.running
        # Attached, the window runs no server of its own: the processes run the jobs.
        self.start_action.setEnabled(server is not None and not running and not attached)
        self.stop_action.setEnabled(running and not attached)
        self.restart_action.setEnabled(server is not None and not attached)
        self.detach_action.setEnabled(attached)

    def _show_counts(self, *_: Any) -> None:
        if self.attached is not None:  # counted from the tree: len() of a Redis state is a round trip
            self.status_bar.show_counts(self.view.model.entry_count())
            return
        self.status_bar.show_counts(len(self.server.state) if self.server is not None else 0)

    def _show_snapshot_taken(self, info: Any) -> None:
        """A snapshot someone took (Ctrl+T) is seen: a status message, the dock in front, its row selected."""
        if info.auto:
            return  # every few minutes in the background: no dock jumping forward
        self.statusBar().showMessage(f"Took snapshot {info.title!r} ({count(info.entries, 'entry')})", 5000)
        self.snapshots_dock.show()
        self.snapshots_dock.raise_()

    def show_shortcuts(self) -> ShortcutsDialog:
        return show_shortcuts(self)

    def about(self) -> None:
        from desktop_app import __version__

        QMessageBox.about(
            self,
            "About Shared State Studio",
            f"<b>Shared State Studio</b> {__version__}<br>"
            "Pode's shared state for Python: a live, editable view of a thread-safe state, "
            "with snapshots, crash-safe saves and a lock contention view.",
        )

    # -- settings & shutdown ----------------------------------------------------------------------

    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            screen = self.screen() or QGuiApplication.primaryScreen()
            self.setGeometry(first_run_geometry(screen.availableGeometry()))
        state = self.settings.value("window_state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        else:
            # First run: the tree gets most of the room (applied once the window is shown).
            self._needs_first_layout = True
            self._expand_on_first_load = True
        self.view.restore_settings(self.settings)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if getattr(self, "_needs_first_layout", False):
            self._needs_first_layout = False
            QTimer.singleShot(0, self._first_run_layout)

    def _first_run_layout(self) -> None:
        size_docks(self)

    def save_settings(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.view.save_settings(self.settings)
        self.settings.sync()

    def shutdown(self) -> list[str]:
        """Stop the bridge and the server and join their threads. Returns jobs still running."""
        logging.getLogger().removeHandler(self.log_dock.handler)
        for dock in (self.locks_dock, self.jobs_dock, self.snapshots_dock):
            dock.set_server(None)
        self.fleet.stop()
        self.bridge.stop()
        stuck: list[str] = []
        if self.server is not None:
            stuck = self.server.stop()
        self._pool.shutdown(wait=True)
        return stuck

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        for task in list(self._tasks):
            task.cancel()
        self.shutdown()
        event.accept()
        QTimer.singleShot(0, self.deleteLater)


def _server_from_script(script: Path) -> Server:
    # Imported here, off the GUI thread and after the window is up: the engine's server brings
    # aiohttp, croniter and the job modules, a third of the start-up time before the first paint.
    from desktop_app.engine.server import Server

    return Server.from_script(script)


def _fits(value: Any, budget: list[int]) -> bool:
    """Count ``value``'s rows against ``budget[0]`` (spent in place); False once it runs out."""
    budget[0] -= 1
    if budget[0] < 0:
        return False
    if isinstance(value, dict):
        return all(_fits(v, budget) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return all(_fits(v, budget) for v in value)
    return True


def _is_empty_container(value: Any) -> bool:
    return isinstance(value, dict | list | tuple | set | frozenset) and not value
