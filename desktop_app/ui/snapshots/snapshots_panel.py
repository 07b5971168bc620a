"""The Snapshots dock's widgets: the list, the action bar, auto-snapshot settings, the diff tree and a status line."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QSplitter,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop_app.ui.snapshots.diff_view import DiffView
from desktop_app.ui.snapshots.snapshot_list_model import (
    COL_ENTRIES,
    COL_LABEL,
    COL_SIZE,
    COL_TIME,
    SnapshotListModel,
)


class StatusLabel(QLabel):
    """The dock's last message; takes no room while there is none."""

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setVisible(bool(text.strip()))


class SnapshotsPanel(QWidget):
    """The dock's body. The dock fills ``toolbar`` with its actions and drives everything else."""

    def __init__(self, model: SnapshotListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list_view = QTableView()
        self.list_view.horizontalHeader().setDefaultAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        )
        self.list_view.setModel(model)
        self.list_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list_view.verticalHeader().hide()
        self.list_view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.list_view.setWordWrap(False)
        self.list_view.horizontalHeader().setStretchLastSection(False)
        fm = self.fontMetrics()
        self.list_view.setColumnWidth(COL_TIME, fm.horizontalAdvance("2026-11-28 23:59:59") + 16)
        self.list_view.setColumnWidth(COL_LABEL, fm.horizontalAdvance("before the deploy") + 16)
        self.list_view.setColumnWidth(COL_ENTRIES, fm.horizontalAdvance("Entries 99") + 16)
        self.list_view.setColumnWidth(COL_SIZE, fm.horizontalAdvance("999.9 KB") + 16)
        self.list_view.horizontalHeader().setSectionResizeMode(
            COL_LABEL, self.list_view.horizontalHeader().ResizeMode.Stretch
        )
        self.diff_view = DiffView()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.setSpacing(4)
        self.toolbar = QToolBar("Snapshot actions")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        layout.addWidget(self.toolbar)

        auto = QHBoxLayout()
        self.auto_check = QCheckBox("Auto-snapshot every")
        self.auto_check.setToolTip(
            "Take a snapshot every N minutes when the state changed since the last one"
        )
        self.auto_minutes = QSpinBox()
        self.auto_minutes.setRange(1, 24 * 60)
        self.auto_minutes.setValue(5)
        self.auto_minutes.setSuffix(" min")
        self.auto_keep = QSpinBox()
        self.auto_keep.setRange(1, 1000)
        self.auto_keep.setValue(10)
        auto.addWidget(self.auto_check)
        auto.addWidget(self.auto_minutes)
        auto.addWidget(QLabel("keep the last"))
        auto.addWidget(self.auto_keep)
        auto.addStretch(1)
        layout.addLayout(auto)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.list_view)
        splitter.addWidget(self.diff_view)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(splitter, 1)
        self.status = StatusLabel()
        self.status.setText("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)

    def sizeHint(self) -> QSize:
        # Room for the diff's path, change and "old → new" columns when docked beside the tree.
        return QSize(self.fontMetrics().horizontalAdvance("x") * 84, 520)
