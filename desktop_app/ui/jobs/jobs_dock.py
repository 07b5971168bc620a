"""The Jobs dock: timers, schedules and routes with live counters, and actions to pause, run, edit or remove a job."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QHideEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QLabel,
    QMenu,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop_app.ui.common.pace import PacedTimer
from desktop_app.ui.common.worker_lanes import WorkerLanes
from desktop_app.ui.jobs.job_dialogs import JobEditDialog, TracebackDialog
from desktop_app.ui.jobs.job_format import format_duration
from desktop_app.ui.jobs.job_tables import make_table, size_columns, titled
from desktop_app.ui.jobs.jobs_model import (
    COL_NAME,
    COL_TRIGGER,
    JobRow,
    JobSampler,
    JobsModel,
    KeyedTableModel,
    RoutesModel,
)

log = logging.getLogger("desktop_app.ui.jobs")

WIDE_RATIO = 2.5
"""Wider than this many times its height, the dock puts its tables side by side."""
SAMPLE_MS = 500
"""How often the tables are refreshed while the dock is visible (2 Hz: a countdown moves on every half
second; 4 Hz cost a quiet studio half a percent of a core, in repaints, for steps nobody reads).
Half as often while the app is in the background (``ui.common.pace``)."""


class _Body(QWidget):
    def sizeHint(self) -> QSize:
        # Wide enough for name, state, countdown, runs and errors when docked beside the tree.
        return QSize(self.fontMetrics().horizontalAdvance("x") * 84, 460)


class JobsDock(QDockWidget):
    """Timers and schedules in one table, routes in another, sampled at 2 Hz while the dock is visible.

    Every action that touches the engine (pause, resume, run now, edit, remove) runs on a worker
    thread; its result comes back through a queued signal, so a slow job never freezes the window.

    Signals:
        sampled(): a sample was applied to the tables.
        action_finished(str, str): ``(job name, message)`` after an action completed (or failed).
    """

    sampled = Signal()
    action_finished = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Jobs", parent)
        self.setObjectName("JobsDock")
        self.server: Any = None
        self._sampler = JobSampler()
        self._workers = WorkerLanes("jobs-dock", workers=4, parent=self)
        self.edit_dialog: JobEditDialog | None = None
        self.traceback_dialog: TracebackDialog | None = None

        self.jobs_model = JobsModel(self)
        self.routes_model = RoutesModel(self)
        self.jobs_view = make_table(self.jobs_model)
        self.routes_view = make_table(self.routes_model)
        # What each table needs to show every column (the last, stretching sections grow beyond it).
        self._needs = size_columns(self.jobs_view, self.routes_view)

        self._make_actions()
        body = _Body()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.setSpacing(4)
        self.toolbar = QToolBar("Job actions")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for act in self.job_actions():
            self.toolbar.addAction(act)
        layout.addWidget(self.toolbar)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        self._splitter = splitter
        splitter.addWidget(titled("Timers and schedules", self.jobs_view))
        splitter.addWidget(titled("Routes", self.routes_view))
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout.addWidget(splitter, 1)
        self.status = QLabel(" ")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        self.setWidget(body)

        self.timer = PacedTimer(SAMPLE_MS, self)
        self.timer.timeout.connect(self.sample)
        self.visibilityChanged.connect(self._visibility_changed)
        self.jobs_view.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.jobs_view.clicked.connect(self._cell_clicked)
        self.routes_view.clicked.connect(self._cell_clicked)
        self.jobs_view.customContextMenuRequested.connect(self._context_menu)
        self.jobs_view.doubleClicked.connect(self._double_clicked)
        self._update_actions()

    # -- construction ---------------------------------------------------------------------------

    def _make_actions(self) -> None:
        def make(text: str, slot: Callable[[], Any], tip: str, shortcut: str | None = None) -> QAction:
            act = QAction(text, self)
            act.setStatusTip(tip)
            act.setToolTip(tip)
            if shortcut:
                act.setShortcut(shortcut)
                act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(lambda _checked=False: slot())
            self.addAction(act)
            return act

        self.pause_action = make(
            "Pause", self.pause_selected, "Stop the selected job from running until resumed"
        )
        self.resume_action = make("Resume", self.resume_selected, "Let the selected job run again")
        self.run_now_action = make(
            "Run now",
            self.run_selected,
            "Run the selected job once now (not counted toward its limit)",
            "Ctrl+Return",
        )
        self.edit_action = make(
            "Edit…", self.edit_selected, "Change the interval or the cron expression", "F2"
        )
        self.remove_action = make("Remove", self.remove_selected, "Remove the selected job", "Del")
        self.show_error_action = make("Last error…", self.show_selected_error, "Show the last traceback")

    def job_actions(self) -> list[QAction]:
        """The actions on the selected job, in toolbar order."""
        return [
            self.pause_action,
            self.resume_action,
            self.run_now_action,
            self.edit_action,
            self.remove_action,
            self.show_error_action,
        ]

    # -- server ---------------------------------------------------------------------------------

    def set_server(self, server: Any) -> None:
        """Show ``server``'s jobs (None: empty tables, sampling stops).

        A server with ``read_only`` (another process's jobs, seen through its heartbeat) is shown
        but cannot be acted on: pause, run, edit and remove are off.
        """
        self.server = server
        self._sampler.reset()
        # "Resumed 'forever'" was about the previous server's job
        self.status.setText(
            f"Jobs of {getattr(server, 'key', 'another process')} — read-only: they run in that process"
            if self.read_only
            else " "
        )
        self.jobs_model.clear()
        self.routes_model.clear()
        for dialog in (self.edit_dialog, self.traceback_dialog):
            if dialog is not None:
                dialog.close()
        if server is None:
            self.timer.stop()
            self._workers.shutdown()
        else:
            self.sample()
            if self.isVisible():
                self.timer.start()
        self._update_actions()

    # -- sampling -------------------------------------------------------------------------------

    def _visibility_changed(self, visible: bool) -> None:
        if visible and self.server is not None:
            self.sample()
            self.timer.start()
        else:
            self.timer.stop()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._visibility_changed(True)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # Docked along the bottom (wide and low) the routes go beside the jobs, not under them,
        # where they would get a header and half a row.
        wide = event.size().width() > WIDE_RATIO * event.size().height()
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self._splitter.orientation() != orientation:
            self._splitter.setOrientation(orientation)
            # Side by side, a wider dock widens the jobs (the routes have what they need); stacked, 3:1.
            self._splitter.setStretchFactor(0, 1 if wide else 3)
            self._splitter.setStretchFactor(1, 0 if wide else 1)
            if wide:  # once the splitter has its new width (after this event's layout pass)
                QTimer.singleShot(0, self._share_width)

    def _share_width(self) -> None:
        """The jobs table as wide as its columns, the routes the rest (their Path column stretches)."""
        if self._splitter.orientation() != Qt.Orientation.Horizontal:
            return
        jobs, routes = self._needs
        total = sum(self._splitter.sizes())
        spare = total - jobs - routes
        # Short of room, the routes give up to a third of theirs first; beyond that both shrink.
        jobs_width = jobs + spare if spare > 0 else max(jobs + min(0, spare + routes // 3), total // 2)
        self._splitter.setSizes([jobs_width, total - jobs_width])

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._visibility_changed(False)

    @Slot()
    def sample(self) -> None:
        """Read every job's counters (lock-free attribute reads) and update the tables incrementally."""
        server = self.server
        if server is None:
            return
        now = datetime.now()
        self.jobs_model.update_rows(self._sampler.job_rows(server, now))
        self.routes_model.update_rows(self._sampler.route_rows(server))
        self._update_actions()
        self.sampled.emit()

    # -- selection ------------------------------------------------------------------------------

    def selected_row(self) -> JobRow | None:
        rows = self.jobs_view.selectionModel().selectedRows()
        return self.jobs_model.row_at(rows[0]) if rows else None

    def select_job(self, name: str) -> bool:
        """Select the job called ``name``; False if it is not shown."""
        row = self.jobs_model.find(name)
        if row < 0:
            return False
        self.jobs_view.selectRow(row)
        return True

    @property
    def read_only(self) -> bool:
        """True while the jobs shown belong to another process (they can be watched, not changed)."""
        return bool(getattr(self.server, "read_only", False))

    def _update_actions(self) -> None:
        row = self.selected_row()
        has = row is not None and self.server is not None
        shown = has
        has = has and not self.read_only
        job = row.job if row is not None else None
        paused = bool(getattr(job, "paused", False))
        self.pause_action.setEnabled(has and not paused and not getattr(job, "completed", False))
        self.resume_action.setEnabled(has and paused)
        self.run_now_action.setEnabled(has)
        self.edit_action.setEnabled(has)
        self.remove_action.setEnabled(has)
        self.show_error_action.setEnabled(shown and bool(getattr(job, "errors", 0)))

    def _context_menu(self, pos: QPoint) -> None:
        index = self.jobs_view.indexAt(pos)
        if not index.isValid():
            return
        self.jobs_view.selectRow(index.row())
        menu = QMenu(self)
        for act in self.job_actions():
            menu.addAction(act)
        menu.exec(self.jobs_view.viewport().mapToGlobal(pos))

    def _cell_clicked(self, index: QModelIndex) -> None:
        model = index.model()
        if not isinstance(model, KeyedTableModel) or index.column() != model.errors_column:
            return
        row = model.row_at(index)
        if row is not None and row.errors:
            self.show_traceback(row.job)

    def _double_clicked(self, index: QModelIndex) -> None:
        if index.column() in (COL_TRIGGER, COL_NAME):
            self.edit_selected()

    # -- off-thread plumbing --------------------------------------------------------------------

    def _submit(self, fn: Callable[[], Any], on_done: Callable[[Future[Any]], None]) -> Future[Any]:
        """Run ``fn`` on a worker thread; ``on_done(future)`` is called later on the GUI thread."""
        return self._workers.submit(fn, on_done)

    def _registry(self, row: JobRow) -> Any:
        return self.server.timers if row.key[0] == "timer" else self.server.schedules

    def _act(self, verb: str, call: Callable[[Any, str], Any]) -> Future[Any] | None:
        row = self.selected_row()
        if row is None or self.server is None or self.read_only:
            return None
        registry, name = self._registry(row), row.job.name

        def done(f: Future[Any]) -> None:
            err = f.exception()
            message = f"{verb} '{name}'" if err is None else f"Could not {verb.lower()} '{name}': {err}"
            self._report(name, message)

        return self._submit(lambda: call(registry, name), done)

    def _report(self, name: str, message: str) -> None:
        self.status.setText(message)
        self.sample()
        self.action_finished.emit(name, message)

    # -- actions --------------------------------------------------------------------------------

    def pause_selected(self) -> Future[Any] | None:
        return self._act("Paused", lambda reg, name: reg.pause(name))

    def resume_selected(self) -> Future[Any] | None:
        return self._act("Resumed", lambda reg, name: reg.resume(name))

    def remove_selected(self) -> Future[Any] | None:
        return self._act("Removed", lambda reg, name: reg.remove(name))

    def run_selected(self) -> Future[Any] | None:
        """Invoke the selected job once on a worker thread (not counted, as ``invoke`` is)."""
        row = self.selected_row()
        if row is None or self.server is None or self.read_only:
            return None
        job, registry = row.job, self._registry(row)
        name = job.name

        def run() -> tuple[int, float]:
            # Named for the job while it runs, so the lock views and logs say who took a lock.
            me = threading.current_thread()
            pool_name, me.name = me.name, f"run-now-{name}"
            try:
                errors = job.errors
                start = time.perf_counter()
                registry.invoke(name)
                return job.errors - errors, time.perf_counter() - start
            finally:
                me.name = pool_name

        def done(f: Future[Any]) -> None:
            err = f.exception()
            if err is not None:
                message = f"Could not run '{name}': {err}"
            else:
                failed, took = f.result()
                if failed:
                    message = (
                        f"Ran '{name}': it raised {job.last_error} (click its error count for the traceback)"
                    )
                else:
                    message = f"Ran '{name}' in {format_duration(took)}"
            self._report(name, message)

        self._sampler.note_manual_run(row.key, datetime.now())
        self.status.setText(f"Running '{name}'…")
        return self._submit(run, done)

    def edit_selected(self) -> JobEditDialog | None:
        """Open the interval / cron editor for the selected job (non-blocking; see JobEditDialog)."""
        row = self.selected_row()
        if row is None or self.server is None or self.read_only:
            return None
        kind, job = row.key[0], row.job
        current = f"{job.interval:g}" if kind == "timer" else " | ".join(getattr(job, "sources", []))
        if self.edit_dialog is not None:
            self.edit_dialog.close()
        dialog = JobEditDialog(kind, job.name, current, self)
        dialog.buttons.accepted.connect(lambda: self._apply_edit(dialog))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _result: self._forget_dialog(dialog))
        self.edit_dialog = dialog
        dialog.open()
        return dialog

    def _forget_dialog(self, dialog: QDialog) -> None:
        if self.edit_dialog is dialog:
            self.edit_dialog = None

    def _apply_edit(self, dialog: JobEditDialog) -> None:
        server = self.server
        if server is None:
            dialog.reject()
            return
        try:
            value = dialog.value()
        except ValueError as err:
            dialog.show_error(str(err))
            return
        name = dialog.job_name
        if dialog.kind == "timer":
            fn: Callable[[], Any] = lambda: server.timers.edit(name, interval=value)  # noqa: E731
        else:
            fn = lambda: server.schedules.edit(name, cron=value)  # noqa: E731
        dialog.set_busy(True)

        def done(f: Future[Any]) -> None:
            err = f.exception()
            if err is not None:
                text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
                if dialog.isVisible():
                    dialog.show_error(text)
                return
            if dialog.isVisible():
                dialog.accept()
            self._report(name, f"Edited '{name}'")

        self._submit(fn, done)

    def show_selected_error(self) -> TracebackDialog | None:
        row = self.selected_row()
        return self.show_traceback(row.job) if row is not None else None

    def show_traceback(self, job: Any) -> TracebackDialog | None:
        """Open a dialog with the job's last error and traceback (selectable text)."""
        if job is None or not getattr(job, "errors", 0):
            return None
        text = job.last_traceback or job.last_error or "(no traceback recorded)"
        title = f"Last error of {getattr(job, 'kind', 'job').lower()} '{job.name}' ({job.errors} in all)"
        if self.traceback_dialog is not None:
            self.traceback_dialog.close()
        dialog = TracebackDialog(title, text, self, headline=job.last_error or "")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: setattr(self, "traceback_dialog", None))
        self.traceback_dialog = dialog
        dialog.show()
        return dialog
