"""The main window: the live state tree in the middle, docks around it, menus, status bar, server control."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShowEvent, QUndoStack
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QWidget,
)

from desktop_app.engine import ScriptError, StateFileError, persistence
from desktop_app.engine.locks import Holder
from desktop_app.engine.paths import demo_script, resources_dir
from desktop_app.engine.server import Server
from desktop_app.ui.bridge import StateBridge
from desktop_app.ui.edit_commands import ReplaceStateCommand
from desktop_app.ui.jobs_dock import JobsDock
from desktop_app.ui.locks_dock import LocksDock
from desktop_app.ui.log_dock import LogDock
from desktop_app.ui.save_dialog import SaveOptionsDialog
from desktop_app.ui.snapshots_dock import SnapshotsDock
from desktop_app.ui.state_view import StateView

log = logging.getLogger("desktop_app.ui")
T = TypeVar("T")

APP_TITLE = "Shared State Studio"
MAX_RECENT = 10
BIG_FILE = 10 * 1024 * 1024
Entries = dict[str, tuple[Any, list[str]]]


class MainWindow(QMainWindow):
    """Hosts one Server at a time and shows its state live."""

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
        self._make_docks()
        self._make_actions()
        self._make_menus()
        self._make_status_bar()
        self.bridge.lock_status.connect(self._show_lock_status)
        self.bridge.rate_changed.connect(self._show_rate)
        self.bridge.entries_reset.connect(self._show_counts)
        self.bridge.entries_changed.connect(self._show_counts)
        self.bridge.start()
        self._restore_settings()
        self._update_title()

    # -- construction -----------------------------------------------------------------------------

    def _make_docks(self) -> None:
        self.log_dock = LogDock(self)
        logging.getLogger().addHandler(self.log_dock.handler)
        if logging.getLogger().level > logging.INFO or logging.getLogger().level == logging.NOTSET:
            logging.getLogger().setLevel(logging.INFO)
        self.locks_dock = LocksDock(self)
        # Its table + timeline ask for ~340 px; tabbed with the log it would take that from the tree.
        self.locks_dock.widget().setMinimumHeight(140)
        self.jobs_dock = JobsDock(self)
        self.snapshots_dock = SnapshotsDock(self.bridge, self.undo_stack, self)
        area = Qt.DockWidgetArea
        self.addDockWidget(area.RightDockWidgetArea, self.jobs_dock)
        self.addDockWidget(area.RightDockWidgetArea, self.snapshots_dock)
        self.tabifyDockWidget(self.jobs_dock, self.snapshots_dock)
        self.jobs_dock.raise_()
        self.addDockWidget(area.BottomDockWidgetArea, self.locks_dock)
        self.addDockWidget(area.BottomDockWidgetArea, self.log_dock)
        self.tabifyDockWidget(self.locks_dock, self.log_dock)
        self.log_dock.raise_()

    def _action(
        self, text: str, slot: Callable[[], Any], shortcut: QKeySequence | str | None = None, tip: str = ""
    ) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setStatusTip(tip)
        act.triggered.connect(lambda _checked=False: slot())
        return act

    def _make_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.open_script_action = self._action(
            "Open server script…", lambda: self.spawn(self.open_script_dialog()), "Ctrl+Shift+O"
        )
        self.open_state_action = self._action(
            "Open state file…", lambda: self.spawn(self.open_state_dialog()), K.Open, "Load a state file"
        )
        self.save_action = self._action("Save", lambda: self.spawn(self.save_state()), K.Save)
        self.save_as_action = self._action("Save As…", lambda: self.spawn(self.save_state_as()), K.SaveAs)
        self.quit_action = self._action("Quit", self.close, "Ctrl+Q")
        self.undo_action = self.undo_stack.createUndoAction(self, "Undo")
        self.undo_action.setShortcut(QKeySequence(K.Undo))
        self.redo_action = self.undo_stack.createRedoAction(self, "Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence(K.Redo)])
        self.start_action = self._action("Start", lambda: self.spawn(self.start_server()), "F5")
        self.stop_action = self._action("Stop", lambda: self.spawn(self.stop_server()), "Shift+F5")
        self.restart_action = self._action("Restart", lambda: self.spawn(self.restart_server()), "Ctrl+R")

    def _make_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open_script_action)
        demos = file_menu.addMenu("Open demo")
        for label, path in self._demos():
            demos.addAction(self._action(label, lambda p=path: self.spawn(self.load_script(p))))
        file_menu.addSeparator()
        file_menu.addAction(self.open_state_action)
        self.recent_menu = QMenu("Recent state files", self)
        file_menu.addMenu(self.recent_menu)
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.save_as_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit = bar.addMenu("&Edit")
        edit.addAction(self.undo_action)
        edit.addAction(self.redo_action)
        edit.addSeparator()
        for act in self.view.edit_actions():
            edit.addAction(act)
        view = bar.addMenu("&View")
        for act in self.view.view_actions():
            view.addAction(act)
        view.addSeparator()
        for dock in (self.log_dock, self.locks_dock, self.jobs_dock, self.snapshots_dock):
            view.addAction(dock.toggleViewAction())
        server = bar.addMenu("&Server")
        server.addAction(self.start_action)
        server.addAction(self.stop_action)
        server.addAction(self.restart_action)
        snapshots = bar.addMenu("S&napshots")
        snapshots.addAction(self.snapshots_dock.take_snapshot_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("About Shared State Studio", self._about))
        self._refresh_recent()

    def _make_status_bar(self) -> None:
        sb = self.statusBar()
        self.script_label = QLabel()
        self.url_label = QLabel()
        self.url_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.count_label = QLabel()
        self.rate_label = QLabel("0 changes/s")
        self.lock_label = QLabel("global: idle")
        for w in (self.script_label, self.url_label, self.count_label, self.rate_label):
            sb.addWidget(w)
        sb.addPermanentWidget(self.lock_label)

    @staticmethod
    def _demos() -> list[tuple[str, Path]]:
        demo_dir = resources_dir() / "demo"
        return [
            ("The seed's example (timer, routes, save/restore)", demo_dir / "server.py"),
            ("Lock contention", demo_dir / "contention.py"),
        ]

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
            server = await self.off_thread(Server.from_script, script)
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
        self.server = server
        self.script = script.resolve()
        self.settings.setValue("last_script", str(self.script))
        self.undo_stack.clear()
        await self.off_thread(server.start)
        self._attach(server)
        log.info("running %s", self.script)
        return True

    def _attach(self, server: Server | None) -> None:
        self.bridge.set_server(server)
        self.locks_dock.set_server(server)
        self.jobs_dock.set_server(server)
        self.snapshots_dock.set_server(server)
        self._update_title()
        self._show_endpoint()
        if getattr(self, "_expand_on_first_load", False):
            self._expand_on_first_load = False
            # A new user should see hash -> values grow without hunting for the arrow.
            QTimer.singleShot(700, self._expand_small_state)

    def _expand_small_state(self) -> None:
        nodes = self.view.model.top_nodes()
        if 0 < len(nodes) <= 20:
            for node in nodes:
                self.view.tree.expand(self.view.view_index(node))

    async def open_script_dialog(self) -> None:
        start = str(self.script.parent) if self.script else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open server script", start, "Python scripts (*.py)")
        if path:
            await self.load_script(path)

    async def start_server(self) -> None:
        if self.server is not None:
            await self.off_thread(self.server.start)
            self._show_endpoint()
            self.statusBar().showMessage("Server started", 3000)

    async def stop_server(self) -> None:
        if self.server is not None:
            stuck = await self.off_thread(self.server.stop)
            self._show_endpoint()
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

    # -- state files ------------------------------------------------------------------------------

    async def open_state_dialog(self) -> None:
        start = str(self.state_file.parent) if self.state_file else str(self.script.parent if self.script else "")
        path, _ = QFileDialog.getOpenFileName(
            self, "Open state file", start, "State files (*.json);;All files (*)"
        )
        if path:
            await self.open_state_file(path)

    def ask_merge(self, path: Path) -> bool | None:
        """True = merge, False = replace, None = cancelled."""
        box = QMessageBox(self)
        box.setWindowTitle("Open state file")
        box.setText(f"Load {path.name} into the live state?")
        box.setInformativeText(
            "Replace: the state becomes exactly the file.\n"
            "Merge: keys in the file overwrite the same keys; others stay.\n\nEither way, Undo brings it back."
        )
        replace = box.addButton("Replace", QMessageBox.ButtonRole.AcceptRole)
        merge = box.addButton("Merge", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(replace)
        box.exec()
        clicked = box.clickedButton()
        if clicked is merge:
            return True
        if clicked is replace:
            return False
        return None

    async def open_state_file(self, path: str | os.PathLike[str], merge: bool | None = None) -> bool:
        """Read a state file off the GUI thread and apply it as one undoable step."""
        file = Path(path)
        if self.server is None:
            return False
        if merge is None:
            merge = self.ask_merge(file)
            if merge is None:
                return False
        big = file.is_file() and file.stat().st_size > BIG_FILE
        try:
            loaded = await self._with_progress(f"Reading {file.name}…", persistence.read_file, file, big=big)
        except StateFileError as err:
            self._file_error("Cannot open state file", file, err)
            return False
        if loaded is None:
            self.notify("information", "Open state file", f"{file}\n\nThe file is missing or empty: nothing changed.")
            return False
        server = self.server
        before = await self.off_thread(_entries_of, server)
        cmd = ReplaceStateCommand(
            self.bridge,
            before,
            dict(loaded.entries),
            merge,
            f"{'Merge' if merge else 'Open'} {file.name}",
        )
        self.undo_stack.push(cmd)
        self.state_file, self.state_format = file.resolve(), (
            loaded.format if loaded.format in persistence.FORMATS else "pode"
        )
        self._add_recent(self.state_file)
        self._update_title()
        self.statusBar().showMessage(f"Loaded {file} ({loaded.format}, {len(loaded.entries)} entries)", 5000)
        return True

    async def save_state(self) -> bool:
        if self.state_file is None:
            return await self.save_state_as()
        return await self._save(self.state_file, {"format": self.state_format})

    async def save_state_as(self) -> bool:
        start = str(self.state_file) if self.state_file else str(Path.home() / "state.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save state as", start, "State files (*.json);;All files (*)")
        if not path:
            return False
        dialog = SaveOptionsDialog(self.state_format, self)
        if dialog.exec() != SaveOptionsDialog.DialogCode.Accepted:
            return False
        opts = dialog.options()
        if await self._save(Path(path), opts.save_kwargs()):
            self.state_file, self.state_format = Path(path).resolve(), opts.format
            self._add_recent(self.state_file)
            self._update_title()
            return True
        return False

    async def _save(self, path: Path, kwargs: dict[str, Any]) -> bool:
        if self.server is None:
            return False
        state = self.server.state
        big = len(state) > 50_000 or (path.is_file() and path.stat().st_size > BIG_FILE)
        try:
            await self._with_progress(f"Saving {path.name}…", lambda: state.save(path, **kwargs), big=big)
        except (StateFileError, ValueError) as err:
            self._file_error("Cannot save state", path, err)
            return False
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def _file_error(self, title: str, path: Path, err: Exception) -> None:
        log.error("%s: %s", title, err)
        self.notify("critical", title, f"{path}\n\n{err}\n\nThe live state and the file on disk are unchanged."
        )

    # -- recent files -----------------------------------------------------------------------------

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _add_recent(self, path: Path) -> None:
        items = [p for p in self.recent_files() if p != str(path)]
        self.settings.setValue("recent_files", [str(path), *items][:MAX_RECENT])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for p in files:
            self.recent_menu.addAction(self._action(p, lambda p=p: self.spawn(self.open_state_file(p))))
        self.recent_menu.setEnabled(bool(files))

    # -- status -----------------------------------------------------------------------------------

    def _update_title(self) -> None:
        name = self.script.name if self.script else "no script"
        self.setWindowTitle(f"{APP_TITLE} — {name}")
        self.script_label.setText(f"Script: {name}")

    def _show_endpoint(self) -> None:
        server = self.server
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

    def _show_counts(self, *_: Any) -> None:
        n = len(self.server.state) if self.server is not None else 0
        self.count_label.setText(f"{n:,} entries")

    def _show_rate(self, rate: float) -> None:
        self.rate_label.setText(f"{rate:.0f} changes/s" if rate >= 1 else f"{rate:.1f} changes/s")

    def _show_lock_status(self, status: Any) -> None:
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

    def _about(self) -> None:
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
            self.resize(1280, 820)
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
        self.resizeDocks([self.jobs_dock], [460], Qt.Orientation.Horizontal)
        self.resizeDocks([self.log_dock], [190], Qt.Orientation.Vertical)

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


def _entries_of(server: Server) -> Entries:
    """The whole live state as ``{name: (value, scope)}`` deep copies (taken under the global lockable)."""
    return {name: (e["Value"], list(e["Scope"])) for name, e in server.state.snapshot().items()}
