"""The Processes dock: the processes of the attached namespace, live; selecting one shows its jobs."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.ui.bridge.fleet_monitor import ProcessInfo
from desktop_app.ui.common.plural import count
from desktop_app.ui.processes.processes_model import COL_PROCESS, KEY_ROLE, ProcessesModel

NOT_ATTACHED = (
    "Not attached. File → Attach to shared state… lists every process that runs on a Redis namespace "
    "(started with state-studio run SCRIPT --headless --store URL --namespace NS)."
)


class ProcessesDock(QDockWidget):
    """Every process with a heartbeat on the namespace; a stopped one stays, marked, until you detach.

    Signals:
        process_selected(str | None): ``HOST:PID`` of the selected process, or None.
    """

    process_selected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Processes", parent)
        self.setObjectName("ProcessesDock")
        self.model = ProcessesModel(self)
        self._where = ""
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.setSpacing(4)
        self.summary = QLabel(NOT_ATTACHED)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        fm = self.table.fontMetrics()
        for col, sample in enumerate(
            (
                "my-host-name:123456",
                "✕ stopped beating (99 s)",
                "server.py",
                "00:00:00",
                "99 s ago",
                "1 timer · 2 routes",
                "99,999",
                "999",
            )
        ):
            self.table.setColumnWidth(col, fm.horizontalAdvance(sample) + 16)
        self.table.selectionModel().currentRowChanged.connect(self._on_row)
        layout.addWidget(self.table, 1)
        self.setWidget(body)

    def set_attached(self, where: str | None) -> None:
        """Attached to ``where`` (URL and namespace, as shown), or not attached (None): rows are cleared."""
        self._where = where or ""
        self.model.clear()
        self._update_summary()

    def show_processes(self, infos: Sequence[ProcessInfo]) -> None:
        """The fleet's processes as the monitor last saw them (selection and scroll survive)."""
        self.model.update_processes(infos)
        self._update_summary()

    def select_process(self, key: str) -> bool:
        row = self.model.row_of(key)
        if row < 0:
            return False
        self.table.selectRow(row)
        return True

    def selected_process(self) -> str | None:
        index = self.table.selectionModel().currentIndex()
        return str(index.data(KEY_ROLE)) if index.isValid() else None

    def _update_summary(self) -> None:
        if not self._where:
            self.summary.setText(NOT_ATTACHED)
            return
        n, alive = self.model.rowCount(), self.model.alive_count()
        if n == 0:
            self.summary.setText(
                f"No process beats on {self._where} yet: one started with --store and this namespace "
                "appears here within 2 s."
            )
            return
        stopped = n - alive
        text = f"{count(alive, 'process')} alive" + (f", {stopped} stopped" if stopped else "")
        self.summary.setText(f"{text} on {self._where}. Select one to see its jobs (read-only).")

    def _on_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        key = current.siblingAtColumn(COL_PROCESS).data(KEY_ROLE) if current.isValid() else None
        self.process_selected.emit(key)
