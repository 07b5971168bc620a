"""The slow waits kept by the Locks dock: newest first, bounded, with both stacks for the JSON export."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QWidget

from desktop_app.engine.locks import SlowWait, clock
from desktop_app.ui.common.row_table import RowTableModel
from desktop_app.ui.locks.timeline_data import format_duration, short_site

MAX_SLOW_WAITS = 500

SLOW_COLUMNS = ("Time", "Waiter", "Lock", "Waited", "Outcome", "Holder", "Holder site")


@dataclass(frozen=True)
class _SlowRow:
    wait: SlowWait
    wall: datetime


class SlowWaitModel(RowTableModel):
    """Slow waits, newest first, at most ``MAX_SLOW_WAITS``; new ones are inserted at the top."""

    columns = SLOW_COLUMNS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[_SlowRow] = []

    def add(self, waits: Sequence[SlowWait]) -> None:
        """Insert waits (any order) at the top, newest first, and drop the oldest beyond the bound."""
        if not waits:
            return
        offset = time.time() - clock()
        fresh = [
            _SlowRow(w, datetime.fromtimestamp(w.at + offset)) for w in sorted(waits, key=lambda w: -w.at)
        ]
        fresh = fresh[:MAX_SLOW_WAITS]
        self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
        self._rows[:0] = fresh
        self.endInsertRows()
        if len(self._rows) > MAX_SLOW_WAITS:
            self.beginRemoveRows(QModelIndex(), MAX_SLOW_WAITS, len(self._rows) - 1)
            del self._rows[MAX_SLOW_WAITS:]
            self.endRemoveRows()

    def wait_at(self, row: int) -> SlowWait:
        return self._rows[row].wait

    def as_json(self) -> list[dict[str, Any]]:
        """Every row as plain JSON data, newest first."""
        out = []
        for r in self._rows:
            w = r.wait
            out.append(
                {
                    "time": r.wall.isoformat(timespec="milliseconds"),
                    "lock": w.lock,
                    "waiter": w.thread,
                    "waited_ms": round(w.waited * 1000, 3),
                    "timed_out": w.timed_out,
                    "holder": w.holder,
                    "holder_site": w.holder_site,
                    "waiter_stack": [line.rstrip("\n") for line in w.waiter_stack],
                    "holder_stack": [line.rstrip("\n") for line in w.holder_stack],
                }
            )
        return out

    def cell(self, r: _SlowRow, col: int, role: int) -> Any:
        w = r.wait
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                r.wall.strftime("%H:%M:%S.%f")[:-3],
                w.thread,
                w.lock,
                format_duration(w.waited),
                "timed out" if w.timed_out else "acquired",
                w.holder or "?",
                short_site(w.holder_site) if w.holder_site else "?",
            )[col]
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 3:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and col == 6:
            return w.holder_site
        return None
