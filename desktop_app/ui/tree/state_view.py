"""The central widget: the live state tree with Find, Live/Paused, typed editing and an inline message line."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.ui.bridge.edit_commands import EditFeedback, EditRunner
from desktop_app.ui.bridge.state_bridge import StateBridge
from desktop_app.ui.common.pace import PacedTimer
from desktop_app.ui.tree.state_edit_actions import StateEditActions
from desktop_app.ui.tree.state_filter import StateFilterModel
from desktop_app.ui.tree.state_model import (
    BY,
    NAME,
    SCOPE,
    TYPE,
    UPDATED,
    VALUE,
    Node,
    StateModel,
    editable_kind,
)
from desktop_app.ui.tree.state_model_chain import ModelChain
from desktop_app.ui.tree.state_tree import StateTree
from desktop_app.ui.tree.state_view_live import FADE_TICK_MS, LiveFollow
from desktop_app.ui.tree.state_view_memory import ViewMemory
from desktop_app.ui.tree.value_delegate import ValueDelegate

COLUMN_WIDTHS = {NAME: 210, VALUE: 320, TYPE: 90, SCOPE: 90, UPDATED: 84, BY: 110}
SORT_LIMIT = 50_000
"""Above this many entries, header sorting is off: each comparison is a Python call, and sorting
needs every entry shown (a root layout costs a few Python calls per shown row)."""
MESSAGE_MS = 8000
FOLLOW_SECONDS = 3.0
"""How long a renamed row's new path waits to show up in the tree to be selected."""

Path = tuple[Any, ...]


class StateView(LiveFollow, ViewMemory, QWidget):
    """The shared state as a live tree: one row per entry, children for dicts/lists/tuples/sets.

    Reads the engine only through ``bridge``; every edit is an undoable command on ``undo_stack``
    that applies off the GUI thread.
    """

    selection_changed = Signal(object)
    """The selected node's path tuple, or None."""

    def __init__(self, bridge: StateBridge, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StateView")
        self.bridge = bridge
        self.undo_stack = undo_stack
        self.model = StateModel(self)
        self._expanded: set[Path] = set()
        self._expanded_tops: set[str] = set()
        self._auto_expanding = False
        self._selected_path: Path | None = None
        self._holding_selection = False
        """True while Find re-filters: rows it hides move the tree's current row, not the person's choice."""
        self._follow: tuple[Path, float] | None = None
        """A renamed row's new path, selected as soon as the tree has it (until the deadline)."""
        self.active_dialog: QWidget | None = None
        self._paged_shown = 0
        self.feedback = EditFeedback(self)
        self.runner = EditRunner(bridge, undo_stack, self.feedback, self)
        # Commands pushed elsewhere (the lead's ReplaceStateCommand) report here too.
        bridge.edit_feedback = self.feedback

        self.tree = StateTree(self)
        self.tree.setObjectName("state_tree")
        self.chain = ModelChain(self.model, self.tree, self)
        self.tree.defer_ranges = True  # the tree shows the model itself: _on_delta repaints changed rows
        self.tree.setUniformRowHeights(True)  # a million rows lay out in O(1)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(
            QAbstractItemView.EditTrigger.EditKeyPressed | QAbstractItemView.EditTrigger.DoubleClicked
        )
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.delegate = ValueDelegate(self.tree)
        self.delegate.name_checker = self._check_name
        self.tree.setItemDelegate(self.delegate)
        header = self.tree.header()
        # Sorting is wired by hand (not setSortingEnabled): the sort proxy joins only while sorted.
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicatorClearable(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        header.sortIndicatorChanged.connect(self._on_sort_changed)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in COLUMN_WIDTHS.items():
            header.resizeSection(col, width)
        self.tree.installEventFilter(self)

        self.edit = StateEditActions(self)
        self._make_view_actions()
        self._make_layout()
        self._connect()
        self._on_selection()

    # -- construction -----------------------------------------------------------------------------------

    def _make_view_actions(self) -> None:
        self.live_action = QAction("Live", self)
        self.live_action.setObjectName("live")
        self.live_action.setCheckable(True)
        self.live_action.setChecked(self.bridge.live)
        self.live_action.setShortcut(QKeySequence("F8"))
        self.live_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.live_action.setStatusTip(
            "Live: the tree follows the state. Paused: frozen, changes are counted (F8)"
        )
        self.live_action.toggled.connect(self.bridge.set_live)
        self.expand_all_action = QAction("Expand all", self)
        self.expand_all_action.setShortcut(QKeySequence("Ctrl+]"))
        self.expand_all_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.expand_all_action.triggered.connect(lambda _c=False: self.expand_all())
        self.collapse_all_action = QAction("Collapse all", self)
        self.collapse_all_action.setShortcut(QKeySequence("Ctrl+["))
        self.collapse_all_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.collapse_all_action.triggered.connect(lambda _c=False: self.collapse_all())
        for act in (self.live_action, self.expand_all_action, self.collapse_all_action):
            self.addAction(act)

    def _make_layout(self) -> None:
        top = QHBoxLayout()
        top.setContentsMargins(4, 4, 4, 0)
        self.live_button = QToolButton(self)
        self.live_button.setObjectName("live_button")
        self.live_button.setDefaultAction(self.live_action)
        self.live_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.live_button.setMinimumWidth(90)
        top.addWidget(self.live_button)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("filter_edit")
        self.filter_edit.setPlaceholderText("Find by name, path or value…  (Esc closes)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setVisible(False)
        self.filter_edit.installEventFilter(self)
        top.addWidget(self.filter_edit, 1)
        top.addStretch(0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(6, 0, 6, 2)
        self.message_label = QLabel(self)
        self.message_label.setObjectName("message_label")
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bottom.addWidget(self.message_label, 1)
        self.lock_label = QLabel(self)
        self.lock_label.setObjectName("lock_label")
        bottom.addWidget(self.lock_label)
        layout.addLayout(bottom)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self._clear_message)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(250)
        self._filter_timer.timeout.connect(self._apply_filter)
        # In the background the tint goes in one step at the end of the fade (see _fade_tick): a
        # change still shows for its 2 s, without the repaints of the steps in between.
        self._fade_timer = PacedTimer(FADE_TICK_MS, self)
        self._fade_timer.timeout.connect(self._fade_tick)
        self._fade_last: list[Node] = []
        """The rows tinted at the last fade step (repainted at the next, in case they ended meanwhile)."""
        self._watch_timer = QTimer(self)
        self._watch_timer.setSingleShot(True)
        self._watch_timer.setInterval(300)
        self._watch_timer.timeout.connect(self._send_watched)
        self._update_live_text()

    def _connect(self) -> None:
        b = self.bridge
        b.entries_reset.connect(self._on_reset)
        b.entries_changed.connect(self._on_delta)
        b.lock_status.connect(self._on_lock_status)
        b.live_changed.connect(self._on_live_changed)
        b.pending_changed.connect(self._on_pending_changed)
        b.load_progress.connect(self._on_progress)
        self.filter_edit.textChanged.connect(lambda _t: self._filter_timer.start())
        self.tree.expanded.connect(self._on_expanded)
        self.tree.collapsed.connect(self._on_collapsed)
        self.tree.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.chain.swapped.connect(self._on_models_swapped)
        self.tree.verticalScrollBar().valueChanged.connect(lambda _v: self._watch_timer.start())
        self.model.rowsInserted.connect(self._on_rows_inserted)
        self.model.modelReset.connect(lambda: self._watch_timer.start())
        self.delegate.value_committed.connect(self._on_value_committed)
        self.delegate.name_committed.connect(self._on_name_committed)
        self.delegate.input_refused.connect(lambda m: self.show_message(m, error=True))
        self.feedback.waiting.connect(self._on_edit_waiting)
        self.feedback.settled.connect(self._on_edit_settled)
        self.feedback.failed.connect(lambda m: self.show_message(m, error=True))
        self.feedback.applied_as.connect(self._on_edit_applied)
        self.feedback.row_moved.connect(self._on_row_moved)
        # Bound methods (not lambdas) on objects that may outlive this view: Qt drops them with the view.
        self.undo_stack.indexChanged.connect(self._on_undo_index)

    def _on_undo_index(self, _index: int) -> None:
        self._on_selection()

    def _on_pending_changed(self, _count: int) -> None:
        self._update_live_text()

    def edit_actions(self) -> list[QAction]:
        """For the Edit menu: add entry, add child, rename, remove, edit as JSON, change type, scopes, copy, find."""
        return self.edit.actions()

    def view_actions(self) -> list[QAction]:
        """For the View menu: Live/Paused, expand all, collapse all."""
        return [self.live_action, self.expand_all_action, self.collapse_all_action]

    # -- index plumbing ---------------------------------------------------------------------------------

    @property
    def filter_model(self) -> StateFilterModel:
        return self.chain.filter_model

    def to_source(self, index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        return self.chain.to_source(index)

    def from_source(self, index: QModelIndex) -> QModelIndex:
        return self.chain.from_source(index)

    def node_of(self, index: QModelIndex | QPersistentModelIndex) -> Node | None:
        return self.model.node_at(self.to_source(index))

    def view_index(self, node: Node, column: int = 0) -> QModelIndex:
        self.model.expose(node)
        return self.from_source(self.model.index_of(node, column))

    def widget(self) -> QWidget:
        """The widget the edit actions attach to (``EditHost``)."""
        return self

    def selected_node(self) -> Node | None:
        rows = self.tree.selectionModel().selectedRows()
        index = rows[0] if rows else self.tree.currentIndex()
        return self.node_of(index)

    def select_path(self, path: Path) -> bool:
        node = self.model.node_for_path(path)
        if node is None:
            return False
        index = self.view_index(node)
        if not index.isValid():
            return False
        parent = index.parent()
        while parent.isValid():
            self.tree.expand(parent)
            parent = parent.parent()
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index)
        return True

    def edit_cell(self, node: Node, column: int) -> None:
        index = self.view_index(node, column)
        if index.isValid():
            self.tree.setCurrentIndex(index)
            self.tree.edit(index)

    def _update_sorting(self) -> None:
        big = self.model.entry_count() > SORT_LIMIT
        header = self.tree.header()
        if big and self.chain.sorting:
            header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # -> _on_sort_changed: unsorted
        header.setToolTip(
            f"Sorting is off above {SORT_LIMIT:,} entries (rows keep the state's order)." if big else ""
        )

    def _on_sort_changed(self, column: int, order: Qt.SortOrder) -> None:
        if column >= 0 and self.model.entry_count() > SORT_LIMIT:
            self.show_message(
                f"Sorting is off above {SORT_LIMIT:,} entries: each comparison is a Python call.", error=True
            )
            QTimer.singleShot(0, lambda: self.tree.header().setSortIndicator(-1, Qt.SortOrder.AscendingOrder))
            return
        if column >= 0 and not self.chain.sorting:
            self._paged_shown = self.model.shown_count()
            self.model.show_all()  # a sort orders every entry, not just the first page
        self.chain.set_sort(column, order)
        if column < 0 and not self.chain.filtering:
            self.model.limit_shown(self._paged_shown)

    def _on_models_swapped(self) -> None:
        self.tree.defer_ranges = self.tree.model() is self.model
        self.tree.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self._restore_expanded()
        if self._selected_path is not None:
            self.select_path(self._selected_path)
        else:
            self._on_selection()

    # -- editing ----------------------------------------------------------------------------------------

    def _check_name(self, index: QModelIndex | QPersistentModelIndex, text: str) -> str | None:
        node = self.node_of(index)
        return self.edit.check_name(node, text) if node is not None else "This row is gone."

    def _on_value_committed(self, index: QPersistentModelIndex, value: Any) -> None:
        node = self.node_of(index)
        if node is not None:
            self.edit.commit_value(node, value)

    def _on_name_committed(self, index: QPersistentModelIndex, text: str) -> None:
        node = self.node_of(index)
        if node is not None:
            self.edit.commit_name(node, text)

    def _on_edit_waiting(self, path: Path | None, text: str) -> None:
        if path is not None:
            self.model.set_status(path, text)
        self.show_message(f"{text.capitalize()}. Press Esc to cancel.", error=False, timeout=0)

    def _on_edit_settled(self, path: Path | None) -> None:
        if path is not None:
            self.model.set_status(path, None)
        if not self.runner.in_flight and self.message_label.text().startswith("Waiting for lock"):
            self._clear_message()

    def _on_edit_applied(self, verb: str, text: str) -> None:
        # "Undone: Remove x" after Ctrl+Z: a bare "Done: Remove x" would read as if x had just gone.
        if self.bridge.live:
            self.show_message(f"{verb}: {text}")
        else:
            self.show_message(f"{verb}: {text}. Paused: the tree shows it when you go Live.")

    def _on_row_moved(self, path: Path) -> None:
        # A renamed dict key reaches the tree as a removal and an insert, which moves the selection
        # to the row above: select the row under its new name once the tree has it.
        self._follow = (path, time.monotonic() + FOLLOW_SECONDS)
        self._select_followed()

    def _select_followed(self) -> None:
        if self._follow is None:
            return
        path, deadline = self._follow
        if self.tree.state() == QAbstractItemView.State.EditingState:
            # The person has moved on to edit another cell: moving the current cell now would make
            # the view commit (half-typed text) and close their editor under them, and an Enter
            # already pressed in it would then commit an editor the view no longer has.
            self._follow = None
            return
        if self.model.node_for_path(path, fetch=False) is not None and self.select_path(path):
            self._follow = None
        elif time.monotonic() > deadline:
            self._follow = None

    def cancel_waiting_edits(self) -> bool:
        cancelled = self.runner.cancel_waiting()
        if cancelled:
            self.model.clear_statuses()
        return bool(cancelled)

    # -- messages -------------------------------------------------------------------------------------------

    def show_message(self, text: str, *, error: bool = False, timeout: int = MESSAGE_MS) -> None:
        """A line under the tree for inline feedback (refused input, waiting edits, copies)."""
        self.message_label.setText(("⚠ " if error else "") + text)
        self.message_label.setProperty("error", error)
        self.message_label.setStyleSheet("color: #c62828;" if error else "")
        if timeout:
            self._message_timer.start(timeout)
        else:
            self._message_timer.stop()

    def message_text(self) -> str:
        return self.message_label.text()

    def _clear_message(self) -> None:
        self.message_label.clear()
        self.message_label.setStyleSheet("")

    # -- events -------------------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if watched is self.filter_edit and key == Qt.Key.Key_Escape:
                self.hide_filter()
                return True
            if watched is self.filter_edit and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Down):
                self._apply_filter()
                self.tree.setFocus()
                return True
            if watched is self.tree and key == Qt.Key.Key_Escape:
                if self.cancel_waiting_edits():
                    return True
                if self.filter_edit.isVisible():
                    self.hide_filter()
                    return True
            if (
                watched is self.tree
                and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
                and self.tree.state() != QAbstractItemView.State.EditingState
                and self._enter_row()
            ):
                return True
            if (
                watched is self.tree
                and key == Qt.Key.Key_F2
                and self.tree.state() != QAbstractItemView.State.EditingState
            ):
                index = self.tree.currentIndex()
                if index.isValid() and not (index.flags() & Qt.ItemFlag.ItemIsEditable):
                    node = self.node_of(index)
                    if node is not None:
                        self.edit.edit_value(node)
                        return True
        return super().eventFilter(watched, event)

    def _enter_row(self) -> bool:
        """Enter on a row: open or close a container, edit anything else (in place, or as JSON)."""
        index = self.tree.currentIndex()
        node = self.node_of(index)
        if node is None:
            return False
        first = index.siblingAtColumn(0)
        if self.tree.model().hasChildren(first):
            self.tree.setExpanded(first, not self.tree.isExpanded(first))
        elif editable_kind(node) is not None:
            self.edit_cell(node, VALUE)
        elif self.edit.edit_json.isEnabled():
            self.edit.edit_as_json()
        else:
            self.show_message(
                "This value cannot be edited here: a tuple item or set member, or a value still being copied.",
                error=True,
            )
        return True

    def _context_menu(self, pos: Any) -> None:
        menu = QMenu(self)
        for act in self.edit_actions()[:-1]:
            menu.addAction(act)
            if act in (self.edit.edit_scopes, self.edit.remove):
                menu.addSeparator()
        menu.addSeparator()
        for act in self.view_actions():
            menu.addAction(act)
        menu.popup(self.tree.viewport().mapToGlobal(pos))
