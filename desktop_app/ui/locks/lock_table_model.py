"""The Locks dock's table: one row per lockable with its counters, rates, percentiles, holder and waiters."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QTableView, QWidget

from desktop_app.engine.locks import Lockable, LockStats
from desktop_app.ui.common.row_table import RowTableModel
from desktop_app.ui.locks.timeline_data import format_duration, short_site

RATE_SPAN = 2.0
"""Acquisitions per second are counted over this many seconds."""
SORT_ROLE = Qt.ItemDataRole.UserRole
LOCK_ROLE = Qt.ItemDataRole.UserRole + 1

_DASH = "—"


def _ms(seconds: float, count: int = 1) -> str:
    return format_duration(seconds) if count else _DASH


@dataclass(frozen=True)
class _Column:
    header: str
    tip: str
    numeric: bool = True


COLUMNS = (
    _Column("Lock", "The global lockable and each named lockable", numeric=False),
    _Column("Acquired", "Successful acquisitions since the counters were reset"),
    _Column("Per s", f"Acquisitions per second over the last {RATE_SPAN:g} s"),
    _Column("Contended", "Contentions: acquisitions that had to wait (timeouts included)"),
    _Column("Cont. %", "Contentions as a share of acquisitions"),
    _Column("Wait p50", "Median wait of contended acquisitions"),
    _Column("Wait p99", "99th percentile wait"),
    _Column("Wait max", "Longest wait"),
    _Column("Hold p50", "Median hold time"),
    _Column("Hold p99", "99th percentile hold time"),
    _Column("Hold max", "Longest hold"),
    _Column("Time lost", "Thread time lost: every waiter's wait, summed (Go 1.22 mutex profile style)"),
    _Column("Timeouts", "Acquires that gave up after their timeout"),
    _Column("Waiting", "Threads waiting for it now", numeric=False),
    _Column(
        "Holder",
        "The thread holding the lock now, for how long, and where it took it (file:line)",
        numeric=False,
    ),
)
COL_LOCK, COL_ACQ, COL_RATE, COL_CONT, COL_PCT = 0, 1, 2, 3, 4
COL_LOST, COL_TIMEOUTS, COL_WAITING, COL_HOLDER = 11, 12, 13, 14


class _LockRow:
    """A row of the table: one lockable (kept by identity, so a rename or a twin name never mixes rows)."""

    __slots__ = ("display", "history", "lock", "rate", "sort", "stats")

    def __init__(self, lock: Lockable) -> None:
        self.lock = lock
        self.stats: LockStats | None = None
        self.history: deque[tuple[float, int]] = deque()
        self.rate = 0.0
        self.display: tuple[str, ...] = ()
        self.sort: tuple[Any, ...] = ()

    def refresh(self, st: LockStats) -> bool:
        """Take a new sample; True if anything shown changed."""
        hist = self.history
        if hist and st.acquisitions < hist[-1][1]:
            hist.clear()  # counters were reset
        hist.append((st.taken_at, st.acquisitions))
        while len(hist) > 2 and hist[1][0] <= st.taken_at - RATE_SPAN:
            hist.popleft()
        t0, n0 = hist[0]
        span = st.taken_at - t0
        self.rate = (st.acquisitions - n0) / span if span > 0 else 0.0
        self.stats = st
        h = st.holder
        held = max(0.0, st.taken_at - h.since) if h else 0.0
        w, hd = st.wait, st.hold
        waiting = st.waiting
        sort = (
            st.name.casefold(),
            st.acquisitions,
            self.rate,
            st.contentions,
            st.contention_pct,
            w.p50,
            w.p99,
            w.max,
            hd.p50,
            hd.p99,
            hd.max,
            st.thread_time_lost,
            st.timeouts,
            len(waiting),
            held if h else -1.0,
        )
        display = (
            st.name,
            f"{st.acquisitions:,}",
            f"{self.rate:,.1f}",
            f"{st.contentions:,}",
            f"{st.contention_pct:.1f} %" if st.acquisitions else _DASH,
            _ms(w.p50, w.count),
            _ms(w.p99, w.count),
            _ms(w.max, w.count),
            _ms(hd.p50, hd.count),
            _ms(hd.p99, hd.count),
            _ms(hd.max, hd.count),
            format_duration(st.thread_time_lost) if st.contentions else _DASH,
            f"{st.timeouts:,}",
            f"{len(waiting)}: {', '.join(waiting)}" if waiting else "0",
            f"{h.thread} · {format_duration(held)} · {short_site(h.site)}" if h else _DASH,
        )
        changed = display != self.display
        self.display, self.sort = display, sort
        return changed


class LockTableModel(RowTableModel):
    """One row per lockable; a sample updates rows in place (``dataChanged``), never resets."""

    columns = tuple(c.header for c in COLUMNS)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[_LockRow] = []

    # -- updating -------------------------------------------------------------------------------

    def update_rows(self, samples: Sequence[tuple[Lockable, LockStats]]) -> None:
        """Apply a sample: insert new lockables, remove gone ones, signal changed rows."""
        wanted = {id(lock) for lock, _ in samples}
        self.drop_rows(lambda row: id(row.lock) in wanted)
        index = {id(r.lock): i for i, r in enumerate(self._rows)}
        changed: list[int] = []
        for lock, st in samples:
            at = index.get(id(lock))
            if at is None:
                row = _LockRow(lock)
                row.refresh(st)
                index[id(lock)] = len(self._rows)
                self.append_rows([row])
            elif self._rows[at].refresh(st):
                changed.append(at)
        if changed:
            last = len(COLUMNS) - 1
            # Contiguous runs become one signal each: cheap for views and proxies alike.
            changed.sort()
            start = prev = changed[0]
            for j in [*changed[1:], -1]:
                if j != prev + 1:
                    self.dataChanged.emit(self.index(start, 0), self.index(prev, last))
                    start = j
                prev = j

    def lock_at(self, row: int) -> Lockable:
        return self._rows[row].lock

    def stats_at(self, row: int) -> LockStats | None:
        return self._rows[row].stats

    def row_of(self, name: str) -> int:
        """The row of the lockable called ``name`` (case-insensitive), or -1."""
        key = name.casefold()
        for i, r in enumerate(self._rows):
            if r.lock.name.casefold() == key:
                return i
        return -1

    # -- Qt model API -----------------------------------------------------------------------------

    def cell(self, row: _LockRow, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return row.display[col]
        if role == SORT_ROLE:
            return row.sort[col]
        if role == LOCK_ROLE:
            return row.lock.name
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if COLUMNS[col].numeric:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            st = row.stats
            if st is None:
                return None
            if col == COL_HOLDER and st.holder is not None:
                return f"{st.holder.thread} holds {st.name} since {format_duration(st.taken_at - st.holder.since)} ago, at {st.holder.site}"
            if col == COL_WAITING and st.waiting:
                return "Waiting now: " + ", ".join(st.waiting)
            return COLUMNS[col].tip
        if role == Qt.ItemDataRole.BackgroundRole and col == COL_WAITING and row.sort[COL_WAITING]:
            return QColor(230, 159, 0, 70)
        return None

    def header_extra(self, section: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section].tip
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(
                (Qt.AlignmentFlag.AlignRight if COLUMNS[section].numeric else Qt.AlignmentFlag.AlignLeft)
                | Qt.AlignmentFlag.AlignVCenter
            )
        return None


def size_columns(table: QTableView) -> None:
    """Column widths that fit typical contents (a long lock name, a busy rate, a holder with its hold)."""
    fm = table.fontMetrics()
    header = table.horizontalHeader()
    samples = {
        COL_LOCK: "orders-cache",
        COL_ACQ: "99,999",
        COL_RATE: "999.9",
        COL_CONT: "9,999",
        COL_PCT: "99.9 %",
        COL_TIMEOUTS: "999",
        COL_HOLDER: "timer-refresh-cache, 99 ms",  # the last column stretches
        COL_WAITING: "1: timer-tick-2",
    }
    hfm = header.fontMetrics()
    for col, c in enumerate(COLUMNS):
        text = samples.get(col, "999 ms")
        # room for the header's sort arrow
        width = max(fm.horizontalAdvance(text) + 12, hfm.horizontalAdvance(c.header) + 14)
        table.setColumnWidth(col, width)
