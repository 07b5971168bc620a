"""The Locks dock: a live table of lockables, the contention timeline, slow waits with stacks, and deadlocks."""

from __future__ import annotations

import json
import logging
import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFontDatabase, QHideEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.engine.deadlock import DeadlockCycle, detect_deadlocks
from desktop_app.engine.locks import Lockable, LockStats, SlowWait, clock
from desktop_app.ui.locks.contention_timeline import (
    WINDOWS,
    LockSnapshot,
    TimelineBuilder,
    build_timeline,
    format_duration,
    short_site,
    snapshot_lockables,
)
from desktop_app.ui.locks.contention_view import DEADLOCK_COLOR, ContentionView, TimelineLegend

if TYPE_CHECKING:
    from desktop_app.engine.server import Server

deadlock_log = logging.getLogger("desktop_app.engine.deadlock")

SAMPLE_MS = 125
"""Sampling period while the dock is visible (8 Hz): stats, timeline and deadlock check."""
TIMELINE_SHARE = 10.0
"""A timeline refresh that took t seconds waits at least TIMELINE_SHARE * t before the next one."""
RATE_SPAN = 2.0
"""Acquisitions per second are counted over this many seconds."""
MAX_SLOW_WAITS = 500
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


class LockTableModel(QAbstractTableModel):
    """One row per lockable; a sample updates rows in place (``dataChanged``), never resets."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[_LockRow] = []

    # -- updating -------------------------------------------------------------------------------

    def update_rows(self, samples: Sequence[tuple[Lockable, LockStats]]) -> None:
        """Apply a sample: insert new lockables, remove gone ones, signal changed rows."""
        wanted = {id(lock) for lock, _ in samples}
        for i in range(len(self._rows) - 1, -1, -1):
            if id(self._rows[i].lock) not in wanted:
                self.beginRemoveRows(QModelIndex(), i, i)
                del self._rows[i]
                self.endRemoveRows()
        index = {id(r.lock): i for i, r in enumerate(self._rows)}
        changed: list[int] = []
        for lock, st in samples:
            at = index.get(id(lock))
            if at is None:
                row = _LockRow(lock)
                row.refresh(st)
                n = len(self._rows)
                self.beginInsertRows(QModelIndex(), n, n)
                self._rows.append(row)
                self.endInsertRows()
                index[id(lock)] = n
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

    def clear(self) -> None:
        if self._rows:
            self.beginRemoveRows(QModelIndex(), 0, len(self._rows) - 1)
            self._rows.clear()
            self.endRemoveRows()

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

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        col = index.column()
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

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].header
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section].tip
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(
                (Qt.AlignmentFlag.AlignRight if COLUMNS[section].numeric else Qt.AlignmentFlag.AlignLeft)
                | Qt.AlignmentFlag.AlignVCenter
            )
        return None


SLOW_COLUMNS = ("Time", "Waiter", "Lock", "Waited", "Outcome", "Holder", "Holder site")


@dataclass(frozen=True)
class _SlowRow:
    wait: SlowWait
    wall: datetime


class SlowWaitModel(QAbstractTableModel):
    """Slow waits, newest first, at most ``MAX_SLOW_WAITS``; new ones are inserted at the top."""

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

    def clear(self) -> None:
        if self._rows:
            self.beginRemoveRows(QModelIndex(), 0, len(self._rows) - 1)
            self._rows.clear()
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

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(SLOW_COLUMNS)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        w, col = r.wait, index.column()
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

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return SLOW_COLUMNS[section] if 0 <= section < len(SLOW_COLUMNS) else None
        return None


class LocksDock(QDockWidget):
    """Lock contention, live: table, timeline, slow waits and deadlocks of one server's lockables.

    It samples on a timer in the GUI thread, only while visible. Every read is lock-free (stats,
    event rings, holders, waiters): the GUI thread never takes an engine lock.
    """

    deadlock_found = Signal(object)
    """Emitted once per distinct deadlock, with its ``DeadlockCycle``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Locks", parent)
        self.setObjectName("LocksDock")
        self._server: Server | None = None
        self._slow_seen: dict[int, dict[int, SlowWait]] = {}
        self._suspects: dict[tuple[Any, ...], DeadlockCycle] = {}
        self._reported: dict[tuple[Any, ...], None] = {}  # keys of deadlocks already logged, oldest first
        self.deadlocks: list[DeadlockCycle] = []
        self._builder = TimelineBuilder()
        self._overrun_seen = -math.inf
        self._next_timeline = 0.0
        self._last_snaps: list[LockSnapshot] = []
        self._last_now = clock()
        self._timer = QTimer(self)
        self._timer.setInterval(SAMPLE_MS)
        self._timer.timeout.connect(self._sample)
        self._build()

    # -- construction -----------------------------------------------------------------------------

    def _build(self) -> None:
        body = QWidget()
        outer = QVBoxLayout(body)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.setSpacing(4)

        self.banner = QLabel()
        self.banner.setObjectName("DeadlockBanner")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setStyleSheet(
            f"QLabel#DeadlockBanner {{ background: {DEADLOCK_COLOR.name()}; color: white; "
            "font-weight: bold; padding: 6px; border-radius: 3px; }"
        )
        self.banner.hide()
        outer.addWidget(self.banner)

        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        outer.addWidget(split, 1)
        self._split = split
        self._sized = False

        # table
        table_box = QWidget()
        tl = QVBoxLayout(table_box)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(2)
        bar = QHBoxLayout()
        self.summary = QLabel("No server")
        bar.addWidget(self.summary, 1)
        self.reset_button = QPushButton("Reset counters")
        self.reset_button.setToolTip("Zero every lockable's counters, histograms, timeline and slow waits")
        self.reset_button.clicked.connect(self.reset_counters)
        bar.addWidget(self.reset_button)
        tl.addLayout(bar)
        self.model = LockTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setDynamicSortFilter(True)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.DescendingOrder)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self._size_columns()
        self.table.selectionModel().currentRowChanged.connect(self._on_table_row)
        tl.addWidget(self.table)
        split.addWidget(table_box)

        # timeline + slow waits
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._build_timeline(), "Timeline")
        self.tabs.addTab(self._build_slow_waits(), "Slow waits")
        split.addWidget(self.tabs)
        # Growing or shrinking the dock changes the timeline; the table keeps the rows it was given.
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        self.setWidget(body)

    def _build_timeline(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(4)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Window:"))
        self.window_combo = QComboBox()
        for seconds in WINDOWS:
            self.window_combo.addItem(f"{seconds:g} s", seconds)
        self.window_combo.setCurrentIndex(WINDOWS.index(10.0))
        self.window_combo.setToolTip("How much of the recent past the timeline shows")
        self.window_combo.currentIndexChanged.connect(lambda _=0: self._on_view_options())
        bar.addWidget(self.window_combo)
        self.live_check = QCheckBox("Live")
        self.live_check.setChecked(True)
        self.live_check.setToolTip("Follow the present; untick to freeze the timeline and inspect it")
        self.live_check.toggled.connect(lambda _=False: self._on_view_options())
        bar.addWidget(self.live_check)
        self.only_contended = QCheckBox("Only contended")
        self.only_contended.setToolTip("Hide plain holds, and threads that never waited or made anyone wait")
        self.only_contended.toggled.connect(lambda _=False: self._on_view_options())
        bar.addWidget(self.only_contended)
        self.overrun_note = QLabel("Gaps: events come faster than the engine keeps them")
        self.overrun_note.setToolTip(
            "Each lockable keeps its last 4,096 uses. More than that happened between two samples,\n"
            "so some are missing from the timeline; the table's counters are still exact."
        )
        self.overrun_note.setStyleSheet("color: palette(placeholder-text); font-style: italic;")
        self.overrun_note.hide()
        self.overrun_note.setWordWrap(True)  # shown, it must not widen the dock
        bar.addWidget(self.overrun_note, 1)
        bar.addStretch(1)
        layout.addLayout(bar)
        # The legend has a row of its own: beside the controls it made the dock at least 740 px wide,
        # more than a column beside the tree can give (1,070 px while the gaps note showed).
        legend_row = QHBoxLayout()
        self.legend = TimelineLegend()
        legend_row.addWidget(self.legend)
        legend_row.addStretch(1)
        layout.addLayout(legend_row)
        self.view = ContentionView()
        self.view.lock_clicked.connect(self.select_lock)
        self.timeline_scroll = QScrollArea()
        self.timeline_scroll.setWidgetResizable(True)
        self.timeline_scroll.setWidget(self.view)
        self.timeline_scroll.setFrameShape(QScrollArea.Shape.StyledPanel)
        layout.addWidget(self.timeline_scroll, 1)
        return page

    def _build_slow_waits(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(4)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Keep waits over"))
        self.threshold = QSpinBox()
        self.threshold.setRange(1, 60_000)
        self.threshold.setSuffix(" ms")
        self.threshold.setValue(round(Lockable.slow_wait_threshold * 1000))
        self.threshold.setToolTip(
            "Waits at least this long are kept with the waiter's and the holder's stacks"
        )
        self.threshold.valueChanged.connect(self._set_threshold)
        bar.addWidget(self.threshold)
        self.slow_count = QLabel("")
        bar.addWidget(self.slow_count, 1)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the slow waits and their stacks as JSON")
        self.export_button.clicked.connect(lambda: self.export_slow_waits())
        bar.addWidget(self.export_button)
        layout.addLayout(bar)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        self.slow_model = SlowWaitModel(self)
        self.slow_table = QTableView()
        self.slow_table.setModel(self.slow_model)
        self.slow_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.slow_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.slow_table.setAlternatingRowColors(True)
        self.slow_table.verticalHeader().hide()
        self.slow_table.verticalHeader().setDefaultSectionSize(self.slow_table.fontMetrics().height() + 6)
        self.slow_table.horizontalHeader().setStretchLastSection(True)
        fm = self.slow_table.fontMetrics()
        samples = (
            "00:00:00.000",
            "timer-refresh-cache",
            "orders-xx",
            "999 ms",
            "timed out",
            "timer-refresh-cache",
        )
        for col, sample in enumerate(samples):
            self.slow_table.setColumnWidth(col, fm.horizontalAdvance(sample) + 24)
        self.slow_table.selectionModel().currentRowChanged.connect(self._show_stacks)
        split.addWidget(self.slow_table)
        stacks = QSplitter(Qt.Orientation.Horizontal)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.waiter_stack = QPlainTextEdit()
        self.holder_stack = QPlainTextEdit()
        self.waiter_title = QLabel("Waiter's stack")
        self.holder_title = QLabel("Holder's stack")
        for edit, title in ((self.waiter_stack, self.waiter_title), (self.holder_stack, self.holder_title)):
            edit.setReadOnly(True)
            edit.setFont(mono)
            edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            edit.setPlaceholderText(f"Select a slow wait to see the {title.text().lower()}")
            box = QWidget()
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            column.addWidget(title)
            column.addWidget(edit, 1)
            stacks.addWidget(box)
        split.addWidget(stacks)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        layout.addWidget(split, 1)
        return page

    def _size_columns(self) -> None:
        fm = self.table.fontMetrics()
        header = self.table.horizontalHeader()
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
            self.table.setColumnWidth(col, width)

    # -- public ---------------------------------------------------------------------------------

    @property
    def server(self) -> Server | None:
        return self._server

    def set_server(self, server: Server | None) -> None:
        """Show this server's lockables (None: show nothing); samples at once if visible."""
        self._server = server
        self._builder.clear()
        self.view.reset()
        self._next_timeline = 0.0
        self.model.clear()
        self.slow_model.clear()
        self._slow_seen.clear()
        self._suspects.clear()
        self.deadlocks = []
        self.banner.hide()
        self.view.set_deadlocks(())
        self.waiter_stack.clear()
        self.holder_stack.clear()
        if server is None:
            self.summary.setText("No server")
            self._last_snaps, self._last_now = [], clock()
            self.view.set_timeline(build_timeline([], self._last_now, self._view_options()[0]))
        elif self.isVisible():
            self.sample_now()

    def lockables(self) -> list[Lockable]:
        return self._server.all_lockables() if self._server is not None else []

    def sample_now(self) -> None:
        """Read every lockable once (lock-free) and update the table, timeline, slow waits and deadlocks."""
        self._sample(throttle=False)

    def _sample(self, *, throttle: bool = True) -> None:
        locks = self.lockables()
        samples = [(lk, lk.stats()) for lk in locks]
        self.model.update_rows(samples)
        self._update_summary(samples)
        self._refresh_timeline(locks=locks, force=not throttle)
        self._collect_slow_waits(locks)
        self._check_deadlocks(locks)

    def select_lock(self, name: str) -> None:
        """Select the lockable called ``name`` in the table (what clicking a timeline segment does)."""
        row = self.model.row_of(name)
        if row < 0:
            return
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.scrollTo(index)

    def selected_lock(self) -> str | None:
        index = self.table.selectionModel().currentIndex()
        return str(index.data(LOCK_ROLE)) if index.isValid() else None

    def reset_counters(self) -> None:
        """Zero every lockable's counters (the engine clears its event ring and slow waits too)."""
        for lk in self.lockables():
            lk.reset_stats()
        self._builder.clear()
        self.view.reset()
        self._next_timeline = 0.0
        self.slow_model.clear()
        self._slow_seen.clear()
        self.waiter_stack.clear()
        self.holder_stack.clear()
        self.sample_now()

    def export_slow_waits(self, path: str | Path | None = None) -> Path | None:
        """Write the slow waits with both stacks as JSON; asks for a file when ``path`` is None.

        Returns the file written, or None when cancelled or on an error (shown in a message box).
        """
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Export slow waits", "slow-waits.json", "JSON files (*.json);;All files (*)"
            )
            if not chosen:
                return None
            path = chosen
        target = Path(path)
        data = {
            "exported": datetime.now().isoformat(timespec="seconds"),
            "threshold_ms": self.threshold.value(),
            "slow_waits": self.slow_model.as_json(),
        }
        try:
            target.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        except OSError as err:
            QMessageBox.critical(
                self,
                "Export slow waits",
                f"Could not write {target}:\n{err.strerror or err}\n\nChoose another folder or file name.",
            )
            return None
        return target

    # -- sampling -------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._timer.isActive():
            self.sample_now()
            self._timer.start()
        self._fit_table()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_table()  # the first show may come before the window gives the dock its size

    def _fit_table(self) -> None:
        """Once, when there is room: the table gets the few rows it needs, the timeline the rest."""
        if self._sized or not self.isVisible():
            return
        rows = max(3, min(self.model.rowCount(), 6))
        wanted = (
            self.reset_button.sizeHint().height()
            + self.table.horizontalHeader().sizeHint().height()
            + rows * self.table.verticalHeader().defaultSectionSize()
            + self.table.horizontalScrollBar().sizeHint().height()
            + 12
        )
        total = sum(self._split.sizes())
        if total > wanted * 2:
            self._sized = True
            self._split.setSizes([wanted, total - wanted])

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)

    def is_sampling(self) -> bool:
        return self._timer.isActive()

    def _update_summary(self, samples: Sequence[tuple[Lockable, LockStats]]) -> None:
        if self._server is None:
            return
        held = sum(1 for _, st in samples if st.holder is not None)
        waiting = sum(len(st.waiting) for _, st in samples)
        lost = sum(st.thread_time_lost for _, st in samples)
        self.summary.setText(
            f"{len(samples)} lockable{'s' if len(samples) != 1 else ''} · {held} held · "
            f"{waiting} thread{'s' if waiting != 1 else ''} waiting · {format_duration(lost)} thread time lost"
        )

    def _on_view_options(self) -> None:
        if self.live_check.isChecked():
            self._refresh_timeline(force=True)
            return
        # Frozen: cut the last sample again for the new window or filter, keeping its right edge.
        window, only = self._view_options()
        self.view.set_timeline(build_timeline(self._last_snaps, self._last_now, window, only_contended=only))

    def _view_options(self) -> tuple[float, bool]:
        window = float(self.window_combo.currentData() or 10.0)
        only = self.only_contended.isChecked()
        self.view.empty_text = (
            f"No contention in the last {window:g} s"
            if only
            else f"No lock activity in the last {window:g} s"
        )
        return window, only

    def _refresh_timeline(self, *, locks: list[Lockable] | None = None, force: bool = False) -> None:
        if not self.live_check.isChecked():
            return
        started = time.perf_counter()
        if not force and started < self._next_timeline:
            return
        window, only = self._view_options()
        now = clock()
        snaps = snapshot_lockables(self.lockables() if locks is None else locks)
        self._last_snaps, self._last_now = snaps, now
        timeline = self._builder.update(snaps, now, window, only_contended=only)
        self.view.set_timeline(timeline)
        self._overrun_seen = now if timeline.overrun else self._overrun_seen
        self.overrun_note.setVisible(now - self._overrun_seen < 3.0)
        # At extreme event rates a refresh costs more; keep it to about a tenth of the GUI thread's
        # time by refreshing less often (the table keeps its rate).
        cost = time.perf_counter() - started
        # When events outrun the rings the timeline has gaps anyway: refresh it less eagerly still.
        share = TIMELINE_SHARE * (4 if timeline.overrun else 1)
        self._next_timeline = started + min(2.0, cost * share)

    def _collect_slow_waits(self, locks: list[Lockable]) -> None:
        fresh: list[SlowWait] = []
        seen_now: dict[int, dict[int, SlowWait]] = {}
        for lk in locks:
            known = self._slow_seen.get(id(lk), {})
            current = {id(w): w for w in list(lk.slow_waits)}
            fresh.extend(w for key, w in current.items() if key not in known)
            seen_now[id(lk)] = current  # holding them keeps their ids unique
        self._slow_seen = seen_now
        self.slow_model.add(fresh)
        n = self.slow_model.rowCount()
        self.slow_count.setText(f"{n} kept" if n else "none yet")
        self.tabs.setTabText(1, f"Slow waits ({n})" if n else "Slow waits")

    def _check_deadlocks(self, locks: list[Lockable]) -> None:
        found = detect_deadlocks(locks)
        # A ring is believed when a second look sees the very same waits (lock-free reads can
        # catch a ring that is coming apart); each distinct deadlock is logged once.
        confirmed = [c for c in found if c.key in self._suspects]
        self._suspects = {c.key: c for c in found}
        for cycle in confirmed:
            if cycle.key not in self._reported:
                self._reported[cycle.key] = None
                if len(self._reported) > 256:
                    del self._reported[next(iter(self._reported))]
                deadlock_log.error("Deadlock: %s", cycle.describe())
                self.deadlock_found.emit(cycle)
        if confirmed != self.deadlocks:
            self.deadlocks = confirmed
            self.view.set_deadlocks(confirmed)
            if confirmed:
                lines = [
                    f"⚠ Deadlock: {' → '.join(c.threads)} → {c.threads[0]} wait for each other "
                    f"on {', '.join(repr(lk) for lk in dict.fromkeys(c.locks))}. {c.describe()}."
                    for c in confirmed
                ]
                self.banner.setText("\n".join(lines))
                self.banner.show()
            else:
                self.banner.hide()

    # -- reactions ------------------------------------------------------------------------------

    def _on_table_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.view.set_selected_lock(str(current.data(LOCK_ROLE)) if current.isValid() else None)

    def _set_threshold(self, ms: int) -> None:
        Lockable.slow_wait_threshold = ms / 1000.0

    def _show_stacks(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self.waiter_stack.clear()
            self.holder_stack.clear()
            self.waiter_title.setText("Waiter's stack")
            self.holder_title.setText("Holder's stack")
            return
        w = self.slow_model.wait_at(current.row())
        outcome = "gave up after" if w.timed_out else "waited"
        self.waiter_title.setText(
            f"Waiter's stack: <b>{w.thread}</b> {outcome} {format_duration(w.waited)} for {w.lock}"
        )
        where = f" at {escape(short_site(w.holder_site))}" if w.holder_site else ""
        self.holder_title.setText(
            f"Holder's stack: <b>{escape(w.holder or '?')}</b> held {escape(w.lock)}{where}"
        )
        self.waiter_stack.setPlainText(
            f"# {w.thread} waited {format_duration(w.waited)} for {w.lock}"
            f"{' and gave up' if w.timed_out else ''}\n" + "".join(w.waiter_stack)
        )
        head = f"# {w.holder or '?'} held {w.lock} at {w.holder_site or '?'}\n"
        if w.holder_stack:
            self.holder_stack.setPlainText(head + "".join(w.holder_stack))
        else:
            self.holder_stack.setPlainText(
                head + "# (no stack: the holder had released the lock before it could be captured)\n"
            )
        # The innermost frames (where the lock was taken) are the interesting end.
        for edit in (self.waiter_stack, self.holder_stack):
            bar = edit.verticalScrollBar()
            bar.setValue(bar.maximum())
