"""The Processes table: one row per process on the namespace (``HOST:PID``), updated in place from heartbeats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QBrush, QColor, QPalette
from PySide6.QtWidgets import QApplication

from desktop_app.ui.bridge.fleet_monitor import ProcessInfo
from desktop_app.ui.common.plural import count
from desktop_app.ui.common.row_table import RowTableModel

COLUMNS = ("Process", "Status", "Script", "Started", "Last beat", "Jobs", "Runs", "Errors", "Holding")
(
    COL_PROCESS,
    COL_STATUS,
    COL_SCRIPT,
    COL_STARTED,
    COL_BEAT,
    COL_JOBS,
    COL_RUNS,
    COL_ERRORS,
    COL_HOLDING,
) = range(len(COLUMNS))
TIPS = {
    COL_PROCESS: "HOST:PID — how lock holders and timeline lanes name this process's threads",
    COL_STATUS: "alive: its heartbeat changes every 2 s; stopped: it stopped beating or exited",
    COL_BEAT: "When its heartbeat last changed, as this studio saw it",
    COL_JOBS: "Its timers, schedules and routes (select the row to see them in the Jobs dock)",
    COL_RUNS: "Timer and schedule runs plus route requests",
    COL_HOLDING: "Lockables one of its threads holds now",
}
KEY_ROLE = Qt.ItemDataRole.UserRole
STOPPED_COLOUR = QColor("#c62828")
ALIVE_COLOUR = QColor("#2e7d32")


def _ago(seconds: float) -> str:
    if seconds < 1:
        return "just now"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    return f"{seconds / 60:.0f} min ago"


def _jobs_text(jobs: Sequence[dict[str, Any]]) -> str:
    parts = []
    for kind in ("timer", "schedule", "route"):
        n = sum(1 for j in jobs if j.get("kind") == kind)
        if n:
            parts.append(count(n, kind))
    return " · ".join(parts) or "none"


@dataclass(frozen=True)
class ProcessRow:
    """A row as shown: texts per column, whether it is alive, and the process it came from."""

    key: str
    cells: tuple[str, ...]
    alive: bool
    errors: int
    info: ProcessInfo

    @classmethod
    def of(cls, info: ProcessInfo) -> ProcessRow:
        runs = sum(int(j.get("count", 0)) for j in info.jobs)
        errors = sum(int(j.get("errors", 0)) for j in info.jobs)
        if info.alive:
            status = "● alive"
        elif info.gone:
            status = "✕ stopped"
        else:
            status = f"✕ stopped beating ({info.silent_for:.0f} s)"
        started = datetime.fromtimestamp(info.started).strftime("%H:%M:%S") if info.started else "—"
        cells = (
            info.key,
            status,
            PurePath(info.script).name if info.script else "—",
            started,
            _ago(info.silent_for),
            _jobs_text(info.jobs),
            f"{runs:,}",
            f"{errors:,}",
            ", ".join(info.holding) or "—",
        )
        return cls(info.key, cells, info.alive, errors, info)


class ProcessesModel(RowTableModel):
    """The processes, keyed by ``HOST:PID``: rows are added, updated and removed in place (never reset)."""

    columns = COLUMNS

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ProcessRow] = []

    # -- updating -----------------------------------------------------------------------------------

    def update_processes(self, infos: Sequence[ProcessInfo]) -> None:
        """Apply the fleet's processes: new ones appended, changed ones updated, missing ones removed."""
        wanted = {i.key for i in infos}
        self.drop_rows(lambda row: row.key in wanted)
        at = {row.key: r for r, row in enumerate(self._rows)}
        new = []
        for info in infos:
            row = ProcessRow.of(info)
            r = at.get(info.key)
            if r is None:
                new.append(row)
            elif self._rows[r] != row:
                old, self._rows[r] = self._rows[r], row
                changed = [
                    c for c, (a, b) in enumerate(zip(old.cells, row.cells, strict=True)) if a != b
                ] or [0]
                self.dataChanged.emit(self.index(r, min(changed)), self.index(r, len(COLUMNS) - 1))
        self.append_rows(new)

    # -- reading ------------------------------------------------------------------------------------

    def row_of(self, key: str) -> int:
        return next((r for r, row in enumerate(self._rows) if row.key == key), -1)

    def info_at(self, row: int) -> ProcessInfo | None:
        return self._rows[row].info if 0 <= row < len(self._rows) else None

    def rows(self) -> list[ProcessRow]:
        return list(self._rows)

    def alive_count(self) -> int:
        return sum(1 for r in self._rows if r.alive)

    # -- Qt -----------------------------------------------------------------------------------------

    def header_extra(self, section: int, role: int) -> Any:
        return TIPS.get(section) if role == Qt.ItemDataRole.ToolTipRole else None

    def cell(self, row: ProcessRow, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return row.cells[col]
        if role == KEY_ROLE:
            return row.key
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_STATUS:
                return QBrush(ALIVE_COLOUR if row.alive else STOPPED_COLOUR)
            if not row.alive:  # a stopped process reads as history: dimmed, still legible
                return QBrush(QApplication.palette().color(QPalette.ColorRole.PlaceholderText))
            if col == COL_ERRORS and row.errors:
                return QBrush(STOPPED_COLOUR)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_RUNS, COL_ERRORS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            info = row.info
            if col == COL_STATUS and not info.alive:
                seen = datetime.fromtimestamp(info.last_seen).strftime("%H:%M:%S") if info.last_seen else "?"
                why = (
                    "its heartbeat key is gone" if info.gone else f"no heartbeat for {info.silent_for:.0f} s"
                )
                return f"Stopped: {why} (last heartbeat written at {seen})"
            if col == COL_SCRIPT and info.script:
                return info.script
            if col == COL_STARTED and info.started:
                return datetime.fromtimestamp(info.started).strftime("%Y-%m-%d %H:%M:%S")
            return TIPS.get(col)
        return None
