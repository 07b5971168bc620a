"""The Jobs dock's tables: rows sampled from the server's timers, schedules and routes, and their models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPixmap

from desktop_app.ui.common.row_table import RowTableModel
from desktop_app.ui.jobs.job_format import format_age, format_countdown, format_duration, format_interval

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
    last_run: datetime | None = field(default=None, compare=False)
    """The later of the job's last scheduled run and its last *Run now* from this dock."""


class KeyedTableModel(RowTableModel):
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

    def cell(self, row: JobRow, col: int, role: int) -> Any:
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
        self.drop_rows(lambda row: row.key in wanted)
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
                changed = {c for c, (a, b) in enumerate(zip(old.cells, r.cells, strict=True)) if a != b}
                if old.errors != r.errors or old.state != r.state:
                    changed |= {self.errors_column, self.state_column}
                # One signal per cell: a countdown tick repaints its two cells, not the row between.
                for c in sorted(changed):
                    if c >= 0:
                        cell = self.index(at, c)
                        self.dataChanged.emit(cell, cell)
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
            if column == COL_LAST and row.last_run is not None:
                manual = row.last_run != getattr(job, "last_run", None)
                return f"{row.last_run:%Y-%m-%d %H:%M:%S}" + (" (Run now: not counted in Runs)" if manual else "")
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

    def __init__(self) -> None:
        # Run now is Pode's Invoke-PodeTimer: the engine leaves last_run alone (spec §7.3), yet a
        # person who just ran a job expects "Last run" to say so. Kept per (kind, name).
        self._manual_runs: dict[tuple[str, str], datetime] = {}

    def reset(self) -> None:
        """Forget the manual runs of the previous server (the engine keeps each job's outcome)."""
        self._manual_runs.clear()

    def note_manual_run(self, key: tuple[str, str], when: datetime) -> None:
        """A *Run now* of the job ``key`` started at ``when``."""
        self._manual_runs[key] = when

    def last_run(self, key: tuple[str, str], job: Any) -> datetime | None:
        scheduled: datetime | None = job.last_run
        manual = self._manual_runs.get(key)
        if manual is None or (scheduled is not None and scheduled >= manual):
            return scheduled
        return manual

    @staticmethod
    def failed(job: Any) -> bool:
        """True when the job's most recent finished run raised."""
        return getattr(job, "last_ok", None) is False

    def job_rows(self, server: Any, now: datetime) -> list[JobRow]:
        rows = []
        for kind, jobs in (("timer", server.timers.list()), ("schedule", server.schedules.list())):
            for job in jobs:
                key = (kind, job.name.casefold())
                last_run = self.last_run(key, job)
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
                    COL_LAST: format_age(last_run, now),
                    COL_DURATION: format_duration(job.last_duration),
                    COL_KIND: kind,
                }
                cells = tuple(texts[c] for c in range(len(JOB_COLUMNS)))
                rows.append(JobRow(key, cells, job.errors, state, job, last_run))
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
