"""The Locks dock: a live table of lockables, the contention timeline, slow waits with stacks, and deadlocks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QHideEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.engine.deadlock import DeadlockCycle
from desktop_app.engine.locks import Lockable, LockStats, clock
from desktop_app.ui.bridge.fleet_locks import TIMELINE_LAG
from desktop_app.ui.common.pace import PacedTimer, WorkBudget, paced
from desktop_app.ui.common.row_table import RowSortProxy
from desktop_app.ui.locks.contention_timeline import TimelineBuilder, build_timeline, snapshot_lockables
from desktop_app.ui.locks.contention_view import ContentionView
from desktop_app.ui.locks.deadlock_watch import DeadlockWatch, banner_text
from desktop_app.ui.locks.lock_sampling import observer_tip, sample_signature, set_text, summary_text
from desktop_app.ui.locks.lock_table_model import LOCK_ROLE, SORT_ROLE, LockTableModel, size_columns
from desktop_app.ui.locks.process_figures import ProcessFiguresPanel
from desktop_app.ui.locks.slow_waits_panel import SlowWaitsPanel
from desktop_app.ui.locks.timeline_data import WINDOWS, LockSnapshot
from desktop_app.ui.locks.timeline_style import DEADLOCK_COLOR, TimelineLegend

if TYPE_CHECKING:
    from desktop_app.engine.server import Server

SAMPLE_MS = 125
"""Sampling period while the dock is visible and the locks are in use (8 Hz): stats, timeline, deadlocks.
The sampling periods are 4x, the quiet refresh 2x, while the app is in the background (``ui.common.pace``)."""
QUIET_SAMPLE_MS = 500
"""Sampling period once nothing has happened for QUIET_AFTER seconds: a quiet lock costs almost nothing."""
QUIET_AFTER = 0.5
QUIET_REFRESH = 1.0
"""While nothing happens, the table's recent rates and the timeline move along this often (if it shows anything)."""
SAMPLE_SHARE = 0.05
SAMPLE_CONTENDED_SHARE = 0.005
"""Sampling takes at most this share of a core (CPU), and while other Python threads keep the GIL busy
the contended one: the dock then samples less often rather than slow down the threads it shows."""
TIMELINE_SHARE = 10.0
"""A timeline refresh that took t seconds waits at least TIMELINE_SHARE * t before the next one."""


class LocksDock(QDockWidget):
    """Lock contention, live: table, timeline, slow waits and deadlocks of one server's lockables.

    It samples on a timer in the GUI thread, only while visible, and slowly while nothing happens.
    Every read is lock-free (stats, event rings, holders, waiters): the GUI thread never takes an
    engine lock, and watching does not change the figures it shows. The studio's own bridge is
    counted apart by the engine; its figures are in the summary's tooltip, not in the table.
    """

    deadlock_found = Signal(object)
    """Emitted once per distinct deadlock, with its ``DeadlockCycle``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Locks", parent)
        self.setObjectName("LocksDock")
        self._server: Server | None = None
        self._fleet: Callable[[], list[Any]] | None = None
        """Attached to a Redis namespace: the fleet's lockables (read without I/O), instead of the server's."""
        self._deadlock_watch = DeadlockWatch()
        self.deadlocks: list[DeadlockCycle] = []
        self._builder = TimelineBuilder()
        self._overrun_seen = -math.inf
        self._next_timeline = 0.0
        self._last_snaps: list[LockSnapshot] = []
        self._last_now = clock()
        self._signature: tuple[Any, ...] | None = None
        self._active_at = -math.inf
        self._next_quiet_refresh = 0.0
        self._budget = WorkBudget(SAMPLE_SHARE, SAMPLE_CONTENDED_SHARE)
        self.samples_applied = 0
        """Samples that found something new and refreshed the dock (for tests: a quiet lock adds none)."""
        # In the background a quarter as often: a table and a timeline nobody is reading.
        self._timer = PacedTimer(SAMPLE_MS, self, slowdown=4)
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
        self.proxy = RowSortProxy(self)
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
        size_columns(self.table)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_row)
        tl.addWidget(self.table)
        self.per_process = ProcessFiguresPanel()
        self.per_process.hide()  # only for a fleet (attached to Redis)
        tl.addWidget(self.per_process)
        split.addWidget(table_box)

        # timeline + slow waits
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._build_timeline(), "Timeline")
        self.slow_waits = SlowWaitsPanel()
        # the slow-waits tab's parts, by the names the dock has always offered
        self.slow_model = self.slow_waits.slow_model
        self.slow_table = self.slow_waits.slow_table
        self.threshold = self.slow_waits.threshold
        self.slow_count = self.slow_waits.slow_count
        self.export_button = self.slow_waits.export_button
        self.waiter_stack = self.slow_waits.waiter_stack
        self.holder_stack = self.slow_waits.holder_stack
        self.tabs.addTab(self.slow_waits, "Slow waits")
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
        self.lag_note = QLabel(f"Attached: {TIMELINE_LAG:.1f} s behind")
        self.lag_note.setToolTip(
            "Each process sends its lock uses in batches every quarter second; the timeline waits until\n"
            "every process's uses of a moment have arrived, then draws it (holders in the table are live)."
        )
        self.lag_note.setStyleSheet("color: palette(placeholder-text); font-style: italic;")
        self.lag_note.hide()
        legend_row.addWidget(self.lag_note)
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

    # -- public ---------------------------------------------------------------------------------

    @property
    def server(self) -> Server | None:
        return self._server

    def set_server(self, server: Server | None, fleet: Callable[[], list[Any]] | None = None) -> None:
        """Show this server's lockables (None: show nothing); samples at once if visible.

        ``fleet``: attached to a Redis namespace, the callable giving every process's lockables
        (``FleetLockable``s: sums over processes, holders ``HOST:PID/THREAD``, one timeline lane
        per process/thread); the per-process figures show under the table, and Reset is off (the
        counters belong to each process).
        """
        self._server = server
        self._fleet = fleet
        self._signature = None
        self.per_process.setVisible(fleet is not None)
        self.lag_note.setVisible(fleet is not None)
        self._sized = False  # the per-process figures come or go: share the height out again
        self._fit_table()
        self.reset_button.setEnabled(fleet is None)
        self.reset_button.setToolTip(
            "Zero every lockable's counters, histograms, timeline and slow waits"
            if fleet is None
            else "Attached: each process keeps its own counters (they reset when it restarts)"
        )
        self._builder.clear()
        self.view.reset()
        self._next_timeline = 0.0
        self.model.clear()
        self.slow_waits.clear()
        self._deadlock_watch.clear()
        self.deadlocks = []
        self.banner.hide()
        self.view.set_deadlocks(())
        if server is None:
            self.summary.setText("No server")
            self._last_snaps, self._last_now = [], clock()
            self.view.set_timeline(build_timeline([], self._last_now, self._view_options()[0]))
        elif self.isVisible():
            self.sample_now()

    def lockables(self) -> list[Lockable]:
        if self._fleet is not None:
            return self._fleet()
        return self._server.all_lockables() if self._server is not None else []

    def sample_now(self) -> None:
        """Read every lockable once (lock-free) and update the table, timeline, slow waits and deadlocks."""
        self._sample(throttle=False)

    def _sample(self, *, throttle: bool = True) -> None:
        if throttle and not self._budget.ready():
            return
        with self._budget.measure():
            self._sample_once(throttle)
        # Under a busy workload the budget spaces samples by seconds: the timer follows, instead of
        # waking the GUI thread (and taking the GIL) eight times a second to find it is not time yet.
        self._timer.set_floor(int(self._budget.gap() * 1000))

    def _sample_once(self, throttle: bool) -> None:
        locks = self.lockables()
        samples = [(lk, lk.stats()) for lk in locks]
        now = clock()
        signature = sample_signature(samples, fleet=self._fleet is not None)
        if throttle and signature == self._signature:
            # Nothing new: no text, table or timeline work, except now and then moving the recent
            # rates and the timeline along (which only repaints if the timeline shows something).
            if now - self._active_at > QUIET_AFTER:
                self._timer.set_base_interval(QUIET_SAMPLE_MS)
            if now >= self._next_quiet_refresh:
                self._next_quiet_refresh = now + paced(int(QUIET_REFRESH * 1000)) / 1000
                self.model.update_rows(samples)
                # A fleet's timeline draws uses TIMELINE_LAG late: the last ones arrive after the news.
                if self.view.timeline().lanes or self._fleet is not None:
                    self._refresh_timeline(locks=locks)
                if self._fleet is not None:
                    self._show_per_process(locks)
            return
        self._signature = signature
        self._active_at = now
        self._next_quiet_refresh = now + QUIET_REFRESH
        self._timer.set_base_interval(SAMPLE_MS)
        self.samples_applied += 1
        self.model.update_rows(samples)
        self._update_summary(samples)
        self._refresh_timeline(locks=locks, force=not throttle)
        self._collect_slow_waits(locks)
        self._check_deadlocks(locks)
        if self._fleet is not None:
            self._show_per_process(locks)

    def _show_per_process(self, locks: list[Any]) -> None:
        """The selected lockable (else the global one) for each process, and their sum."""
        name = self.selected_lock()
        chosen = next((lk for lk in locks if lk.name == name), locks[0] if locks else None)
        self.per_process.show_lock(chosen)

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
        self.slow_waits.clear()
        self.sample_now()

    def export_slow_waits(self, path: str | Path | None = None) -> Path | None:
        """Write the slow waits with both stacks as JSON (see ``SlowWaitsPanel.export_slow_waits``)."""
        return self.slow_waits.export_slow_waits(path)

    # -- sampling -------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._timer.isActive():
            self.sample_now()
            self._timer.set_base_interval(SAMPLE_MS)
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
            + (self.per_process.sizeHint().height() if self._fleet is not None else 0)
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
        set_text(self.summary, summary_text(samples, fleet=self._fleet is not None))
        tip = observer_tip(samples)
        if tip != self.summary.toolTip():
            self.summary.setToolTip(tip)

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
        # a fleet's uses arrive in batches: its timeline shows the present a moment late, complete
        now = clock() - (TIMELINE_LAG if self._fleet is not None else 0.0)
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
        n = self.slow_waits.collect(locks)
        text = f"Slow waits ({n})" if n else "Slow waits"
        if self.tabs.tabText(1) != text:  # setTabText re-lays out and repaints the whole tab widget
            self.tabs.setTabText(1, text)

    def _check_deadlocks(self, locks: list[Lockable]) -> None:
        confirmed, new = self._deadlock_watch.check(locks)
        for cycle in new:
            self.deadlock_found.emit(cycle)
        if confirmed != self.deadlocks:
            self.deadlocks = confirmed
            self.view.set_deadlocks(confirmed)
            self.banner.setText(banner_text(confirmed))
            self.banner.setVisible(bool(confirmed))

    # -- reactions ------------------------------------------------------------------------------

    def _on_table_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.view.set_selected_lock(str(current.data(LOCK_ROLE)) if current.isValid() else None)
        if self._fleet is not None:
            self._show_per_process(self.lockables())  # at once: a quiet fleet is sampled seldom
