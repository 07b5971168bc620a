"""The Jobs dock: timers, schedules and routes with live counters, and actions to pause, run, edit or remove a job."""

from __future__ import annotations

import html
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QFont,
    QFontDatabase,
    QHideEvent,
    QIcon,
    QPainter,
    QPixmap,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop_app.ui.common.worker_lanes import WorkerLanes

log = logging.getLogger("desktop_app.ui.jobs")

SAMPLE_MS = 250
"""How often the tables are refreshed while the dock is visible (4 Hz: a countdown moves smoothly)."""

ModelIndex = QModelIndex | QPersistentModelIndex

# -- formatting ---------------------------------------------------------------------------------


def format_seconds(seconds: float) -> str:
    """``1.43`` -> ``1.4 s``; ``75`` -> ``1 min 15 s``; ``7260`` -> ``2 h 1 min``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def format_countdown(when: datetime | None, now: datetime) -> str:
    """Time until ``when``: ``in 1.4 s``, ``due`` once reached, ``—`` when there is none."""
    if when is None:
        return "—"
    left = (when - now).total_seconds()
    return "due" if left <= 0.05 else f"in {format_seconds(left)}"


def format_age(when: datetime | None, now: datetime) -> str:
    """Time since ``when``: ``2.1 s ago``; ``—`` when it never happened."""
    if when is None:
        return "—"
    return f"{format_seconds(max(0.0, (now - when).total_seconds()))} ago"


def format_duration(seconds: float | None) -> str:
    """``0.0032`` -> ``3.2 ms``; ``1.5`` -> ``1.50 s``; ``—`` for None."""
    if seconds is None:
        return "—"
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def format_interval(seconds: float) -> str:
    return f"every {seconds:g} s" if seconds < 60 else f"every {format_seconds(seconds)}"


# -- colours and icons ---------------------------------------------------------------------------

STATE_COLOURS = {
    "waiting": QColor("#7a7a7a"),
    "running": QColor("#2e9d3e"),
    "paused": QColor("#d08a00"),
    "completed": QColor("#3874c8"),
    "failed": QColor("#d03030"),
}
LINK_COLOUR = QColor("#2a6fdb")


def dot_icon(colour: QColor, size: int = 12) -> QIcon:
    """A filled circle: the state's colour next to its name (the word carries the meaning too)."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(colour.darker(130))
    p.setBrush(colour)
    p.drawEllipse(1, 1, size - 2, size - 2)
    p.end()
    return QIcon(pix)


# -- rows and models ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobRow:
    """One table row as sampled: display text per column and the live job object it came from."""

    key: tuple[str, str]
    cells: tuple[str, ...]
    errors: int = 0
    state: str = ""
    job: Any = field(default=None, compare=False)


class KeyedTableModel(QAbstractTableModel):
    """A table whose rows are identified by a key; ``update_rows`` applies a new sample incrementally.

    Rows that disappeared are removed, new ones are appended and changed cells get ``dataChanged``:
    selection and scroll position survive every refresh (no model reset).
    """

    columns: tuple[str, ...] = ()
    errors_column = -1
    state_column = -1

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[JobRow] = []
        self._icons: dict[str, QIcon] = {}

    # Qt overrides ------------------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row.cells[col]
        if col == self.errors_column and row.errors:
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(LINK_COLOUR)
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setUnderline(True)
                return font
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{getattr(row.job, 'last_error', '')}\nClick to see the last traceback."
        return self.extra_data(row, col, role)

    # helpers -----------------------------------------------------------------------------------

    def extra_data(self, row: JobRow, column: int, role: int) -> Any:
        return None

    def row_at(self, index: ModelIndex) -> JobRow | None:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        return self._rows[index.row()]

    def rows(self) -> list[JobRow]:
        return list(self._rows)

    def find(self, name: str) -> int:
        """Row number of the job called ``name`` (case-insensitive), or -1."""
        folded = name.casefold()
        for i, row in enumerate(self._rows):
            if row.key[1].casefold() == folded:
                return i
        return -1

    def clear(self) -> None:
        # A new server (or none): nothing of the old rows carries over, so a reset is right here.
        if not self._rows:
            return
        self.beginResetModel()
        self._rows = []
        self.endResetModel()

    def update_rows(self, rows: Sequence[JobRow]) -> None:
        """Apply a fresh sample: remove, update in place, append. Never resets the model."""
        wanted = {r.key for r in rows}
        for i in range(len(self._rows) - 1, -1, -1):
            if self._rows[i].key not in wanted:
                self.beginRemoveRows(QModelIndex(), i, i)
                del self._rows[i]
                self.endRemoveRows()
        position = {r.key: i for i, r in enumerate(self._rows)}
        new: list[JobRow] = []
        for r in rows:
            at = position.get(r.key)
            if at is None:
                new.append(r)
                continue
            old = self._rows[at]
            self._rows[at] = r  # keep the newest job object even when nothing shown changed
            if old != r:
                changed = [c for c, (a, b) in enumerate(zip(old.cells, r.cells, strict=True)) if a != b]
                if old.errors != r.errors or old.state != r.state:
                    changed += [self.errors_column, self.state_column]
                first, last = max(0, min(changed)), max(changed)
                self.dataChanged.emit(self.index(at, first), self.index(at, last))
        if new:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
            self._rows.extend(new)
            self.endInsertRows()

    def icon(self, state: str) -> QIcon:
        if state not in self._icons:
            self._icons[state] = dot_icon(STATE_COLOURS.get(state, STATE_COLOURS["waiting"]))
        return self._icons[state]


# The most watched columns first: a dock is often narrow.
JOB_COLUMNS = (
    "Name",
    "State",
    "Next run",
    "Runs",
    "Errors",
    "Every / cron",
    "Limit",
    "Last run",
    "Last duration",
    "Kind",
)
(
    COL_NAME,
    COL_STATE,
    COL_NEXT,
    COL_RUNS,
    COL_ERRORS,
    COL_TRIGGER,
    COL_LIMIT,
    COL_LAST,
    COL_DURATION,
    COL_KIND,
) = range(len(JOB_COLUMNS))
_NUMERIC_JOB_COLUMNS = {COL_RUNS, COL_LIMIT, COL_DURATION, COL_ERRORS}


class JobsModel(KeyedTableModel):
    """Timers and schedules, one row each."""

    columns = JOB_COLUMNS
    errors_column = COL_ERRORS
    state_column = COL_STATE

    def extra_data(self, row: JobRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMERIC_JOB_COLUMNS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if column == COL_STATE:
            if role == Qt.ItemDataRole.DecorationRole:
                return self.icon(row.state)
            if role == Qt.ItemDataRole.ToolTipRole and row.state == "failed":
                return f"The last run raised {getattr(row.job, 'last_error', '')}"
        if role == Qt.ItemDataRole.ToolTipRole:
            job = row.job
            if column == COL_NEXT and getattr(job, "next_run", None) is not None:
                return f"{job.next_run:%Y-%m-%d %H:%M:%S}"
            if column == COL_LAST and getattr(job, "last_run", None) is not None:
                return f"{job.last_run:%Y-%m-%d %H:%M:%S}"
            if column == COL_TRIGGER:
                return row.cells[COL_TRIGGER]
        return None


ROUTE_COLUMNS = ("Method", "Path", "Requests", "Errors", "p50", "p99")
COL_R_ERRORS = 3


class RoutesModel(KeyedTableModel):
    """HTTP routes, one row each."""

    columns = ROUTE_COLUMNS
    errors_column = COL_R_ERRORS
    state_column = COL_R_ERRORS

    def extra_data(self, row: JobRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class JobSampler:
    """Turns the server's timers, schedules and routes into rows. Reads counters only: no lock is taken."""

    def reset(self) -> None:
        """Nothing to forget: the engine keeps each job's outcome (``last_ok``)."""

    @staticmethod
    def failed(job: Any) -> bool:
        """True when the job's most recent finished run raised."""
        return getattr(job, "last_ok", None) is False

    def job_rows(self, server: Any, now: datetime) -> list[JobRow]:
        rows = []
        for kind, jobs in (("timer", server.timers.list()), ("schedule", server.schedules.list())):
            for job in jobs:
                key = (kind, job.name.casefold())
                state = job.state
                failed = self.failed(job)
                if failed and state in ("waiting", "completed"):
                    state = "failed"
                if kind == "timer":
                    trigger = format_interval(job.interval)
                else:
                    trigger = " | ".join(getattr(job, "sources", None) or [str(c) for c in job.crons])
                texts = {
                    COL_NAME: job.name,
                    COL_STATE: state,
                    COL_NEXT: format_countdown(job.next_run, now),
                    COL_RUNS: str(job.count),
                    COL_ERRORS: str(job.errors),
                    COL_TRIGGER: trigger,
                    COL_LIMIT: str(job.limit) if job.limit else "∞",
                    COL_LAST: format_age(job.last_run, now),
                    COL_DURATION: format_duration(job.last_duration),
                    COL_KIND: kind,
                }
                cells = tuple(texts[c] for c in range(len(JOB_COLUMNS)))
                rows.append(JobRow(key, cells, job.errors, state, job))
        return rows

    @staticmethod
    def route_rows(server: Any) -> list[JobRow]:
        http = getattr(server, "http", None)
        routes = list(getattr(http, "routes", ()) or ())
        rows = []
        for route in routes:
            p50 = p99 = None
            if route.count:
                try:
                    p50, p99 = route.p50, route.p99
                except RuntimeError:  # latencies appended while copied: the next sample has them
                    pass
            key = ("route", f"{route.method} {route.path}")
            cells = (
                route.method,
                route.path,
                str(route.count),
                str(route.errors),
                format_duration(p50),
                format_duration(p99),
            )
            rows.append(JobRow(key, cells, route.errors, "", route))
        return rows


# -- dialogs --------------------------------------------------------------------------------------


class TracebackDialog(QDialog):
    """The last error of a job with its traceback, as selectable monospace text."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None, headline: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(720, 420)
        layout = QVBoxLayout(self)
        self.headline = QLabel(
            f"<b>{html.escape(headline)}</b><br>{html.escape(title)}" if headline else title
        )
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.headline)
        self.text = QPlainTextEdit(text)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton("Copy")
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QApplication.clipboard().setText(self.text.toPlainText()))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class JobEditDialog(QDialog):
    """Edit a timer's interval or a schedule's cron expressions; the engine validates, errors show inline.

    The dialog stays open while the edit is applied off the GUI thread, and on an error it shows the
    engine's message under the field: the job is left as it was.
    """

    def __init__(self, kind: str, name: str, current: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.job_name = name
        self.setWindowTitle(f"Edit {kind} '{name}'")
        layout = QVBoxLayout(self)
        if kind == "timer":
            prompt = "Interval in seconds (greater than 0):"
        else:
            prompt = "Cron expression (several: separate them with | or ;):"
        layout.addWidget(QLabel(prompt))
        self.field = QLineEdit(current)
        self.field.selectAll()
        layout.addWidget(self.field)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828;")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.field.textEdited.connect(lambda _text: self.error.hide())
        self.setMinimumWidth(460)
        self.resize(460, self.sizeHint().height())

    @property
    def ok_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def value(self) -> float | list[str]:
        """The typed value: a float interval, or the list of cron expressions.

        Raises:
            ValueError: not a number / no expression (said in words for the error line).
        """
        text = self.field.text().strip()
        if self.kind == "timer":
            try:
                return float(text)
            except ValueError:
                raise ValueError(f"'{text}' is not a number of seconds") from None
        exprs = [part.strip() for part in text.replace(";", "|").split("|") if part.strip()]
        if not exprs:
            raise ValueError("enter at least one cron expression, e.g. */5 * * * *")
        return exprs

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
        self.set_busy(False)
        self.field.setFocus()
        self.adjustSize()  # room for a wrapped message

    def set_busy(self, busy: bool) -> None:
        self.ok_button.setEnabled(not busy)
        self.field.setReadOnly(busy)


# -- the dock -------------------------------------------------------------------------------------


class _Body(QWidget):
    def sizeHint(self) -> QSize:
        # Wide enough for name, state, countdown, runs and errors when docked beside the tree.
        return QSize(self.fontMetrics().horizontalAdvance("x") * 84, 460)


class JobsDock(QDockWidget):
    """Timers and schedules in one table, routes in another, sampled at 4 Hz while the dock is visible.

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
        self.jobs_view = self._table(self.jobs_model)
        self.routes_view = self._table(self.routes_model)
        self._size_columns()

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
        splitter.addWidget(self._titled("Timers and schedules", self.jobs_view))
        splitter.addWidget(self._titled("Routes", self.routes_view))
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout.addWidget(splitter, 1)
        self.status = QLabel(" ")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        self.setWidget(body)

        self.timer = QTimer(self)
        self.timer.setInterval(SAMPLE_MS)
        self.timer.timeout.connect(self.sample)
        self.visibilityChanged.connect(self._visibility_changed)
        self.jobs_view.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.jobs_view.clicked.connect(self._cell_clicked)
        self.routes_view.clicked.connect(self._cell_clicked)
        self.jobs_view.customContextMenuRequested.connect(self._context_menu)
        self.jobs_view.doubleClicked.connect(self._double_clicked)
        self._update_actions()

    # -- construction ---------------------------------------------------------------------------

    def _table(self, model: KeyedTableModel) -> QTableView:
        view = QTableView()
        view.setModel(model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.setAlternatingRowColors(True)
        view.setWordWrap(False)
        view.verticalHeader().hide()
        view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
        header = view.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        return view

    def _size_columns(self) -> None:
        # Fixed widths from the font (a countdown must not make columns jump 4 times a second).
        fm = self.fontMetrics()
        pad = 18
        widths = {
            COL_NAME: fm.horizontalAdvance("a-timer-name") + pad,
            COL_STATE: fm.horizontalAdvance("completed") + pad + 18,
            COL_KIND: fm.horizontalAdvance("schedule") + pad,
            COL_TRIGGER: fm.horizontalAdvance("*/5 * * * * | @hourly") + pad,
            COL_RUNS: fm.horizontalAdvance("Runs 999") + pad,
            COL_LIMIT: fm.horizontalAdvance("Limit") + pad,
            COL_NEXT: fm.horizontalAdvance("in 59 min 59 s") + pad,
            COL_LAST: fm.horizontalAdvance("59 min 59 s ago") + pad,
            COL_DURATION: fm.horizontalAdvance("Last duration") + pad,
            COL_ERRORS: fm.horizontalAdvance("Errors") + pad,
        }
        for col, width in widths.items():
            self.jobs_view.setColumnWidth(col, width)
        for col, sample in enumerate(
            ("DELETE", "/api/some/path", "Requests", "Errors", "999.9 ms", "999.9 ms")
        ):
            self.routes_view.setColumnWidth(col, fm.horizontalAdvance(sample) + pad)
        header = self.routes_view.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # the path takes the spare width

    @staticmethod
    def _titled(title: str, view: QWidget) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        label = QLabel(title)
        font = label.font()
        font.setBold(True)
        label.setFont(font)
        layout.addWidget(label)
        layout.addWidget(view, 1)
        return box

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
        """Show ``server``'s jobs (None: empty tables, sampling stops)."""
        self.server = server
        self._sampler.reset()
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

    def _update_actions(self) -> None:
        row = self.selected_row()
        has = row is not None and self.server is not None
        job = row.job if row is not None else None
        paused = bool(getattr(job, "paused", False))
        self.pause_action.setEnabled(has and not paused and not getattr(job, "completed", False))
        self.resume_action.setEnabled(has and paused)
        self.run_now_action.setEnabled(has)
        self.edit_action.setEnabled(has)
        self.remove_action.setEnabled(has)
        self.show_error_action.setEnabled(has and bool(getattr(job, "errors", 0)))

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
        if row is None or self.server is None:
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
        if row is None or self.server is None:
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

        self.status.setText(f"Running '{name}'…")
        return self._submit(run, done)

    def edit_selected(self) -> JobEditDialog | None:
        """Open the interval / cron editor for the selected job (non-blocking; see JobEditDialog)."""
        row = self.selected_row()
        if row is None or self.server is None:
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
