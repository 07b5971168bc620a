"""The state as a Qt tree model: one row per entry, lazily fetched children, incremental live updates, stable nodes."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, Qt, QTimer
from PySide6.QtGui import QColor, QFont

from desktop_app.engine.diff import format_path
from desktop_app.ui.bridge.entry_snapshot import Pending, fold
from desktop_app.ui.common.value_text import (
    child_count,
    child_items,
)
from desktop_app.ui.tree.state_model_highlight import FADE_STEPS, ChangeHighlight
from desktop_app.ui.tree.state_model_sync import LiveUpdates
from desktop_app.ui.tree.state_model_text import RowText
from desktop_app.ui.tree.state_node import (
    BATCH,
    BY,
    COLUMN_TIPS,
    COLUMNS,
    DEAD,
    FADE,
    NAME,
    ROOT_PAGE,
    SCOPE,
    TYPE,
    UPDATED,
    VALUE,
    Index,
    Node,
    Path,
    Role,
    container_kind,
    editable_kind,
    renamable,
)

__all__ = [
    "BATCH",
    "BY",
    "COLUMNS",
    "FADE",
    "FADE_STEPS",
    "NAME",
    "SCOPE",
    "TYPE",
    "UPDATED",
    "VALUE",
    "Node",
    "Role",
    "StateModel",
    "editable_kind",
    "renamable",
]


_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_EDIT = int(Qt.ItemDataRole.EditRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ROLES = frozenset({_DISPLAY, _EDIT, _FONT, _BACKGROUND, _FOREGROUND, _TOOLTIP, *(int(r) for r in Role)})

_NO_FLAGS = Qt.ItemFlag.NoItemFlags
_READ = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_FLAGS = {
    False: {False: _READ, True: _READ | Qt.ItemFlag.ItemNeverHasChildren},
    True: {
        False: _READ | Qt.ItemFlag.ItemIsEditable,
        True: _READ | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemNeverHasChildren,
    },
}
_CONTAINERS = frozenset({dict, list, tuple, set, frozenset})


class StateModel(RowText, LiveUpdates, ChangeHighlight, QAbstractItemModel):
    """Rows are entries; dict/list/tuple/set values have children, fetched ``BATCH`` at a time.

    Updates are incremental (inserts, removals, ``dataChanged`` per changed row, recursing into
    containers); only ``reset_entries`` (a new server, a clear, a replacing restore) resets the model.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root = Node(None, None, None)
        self._root.children = []
        self._by_key: dict[str, Node] = {}
        self._graveyard: list[tuple[float, list[Node]]] = []
        self._colours: dict[str, QColor] | None = None
        self._italic = QFont()
        self._italic.setItalic(True)
        self._shown = 0
        """Entries exposed at the root. QTreeView lays out every root row (a Python call or three
        each) on any root insert or removal, so a huge state is shown in pages as it scrolls."""
        self._init_highlight()
        self._time_text: dict[float, str] = {}
        self.changed_nodes: list[Node] = []
        """Rows whose data the last delta changed (the view repaints just those)."""
        self._to_fetch: dict[Node, None] = {}
        self._fetch_timer = QTimer(self)
        self._fetch_timer.setSingleShot(True)
        self._fetch_timer.setInterval(0)
        self._fetch_timer.timeout.connect(self._fetch_queued)

    # -- structure ------------------------------------------------------------------------------------

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if row < 0 or column < 0 or column >= len(COLUMNS):
            return QModelIndex()
        if parent.isValid():
            children = parent.internalPointer().children
            if children is None or row >= len(children):
                return QModelIndex()
        else:
            children = self._root.children
            if row >= self._shown:
                return QModelIndex()
        node = children[row]
        node.row = row
        return self.createIndex(row, column, node)

    def parent(self, index: Index | None = None) -> Any:  # type: ignore[override]
        if index is None:
            return super().parent()  # QObject.parent()
        if not index.isValid():
            return QModelIndex()
        node: Node = index.internalPointer()
        p = node.parent
        if p is None or p is self._root or p.parent is None:
            return QModelIndex()
        return self.createIndex(self._row_of(p), 0, p)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return self._shown
        if parent.column() > 0:
            return 0
        children = parent.internalPointer().children
        return len(children) if children is not None else 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        if not parent.isValid():
            return bool(self._root.children)
        if parent.column() > 0:
            return False
        node: Node = parent.internalPointer()
        # Rows still shown count too: while a container shrinks, its rows go before hasChildren says so.
        return bool(node.children) or child_count(node.value) > 0

    def canFetchMore(self, parent: Index) -> bool:
        if not parent.isValid():
            return self._shown < len(self._root.children or ())
        if parent.column() > 0:
            return False
        node: Node = parent.internalPointer()
        have = len(node.children) if node.children is not None else 0
        return have < child_count(node.value)

    def fetchMore(self, parent: Index) -> None:
        # Deferred to the next event-loop turn: views (and QAbstractItemModelTester) call fetchMore
        # while they handle a reset or an insert, when new rows must not be announced yet.
        if parent.column() > 0:
            return
        node: Node = parent.internalPointer() if parent.isValid() else self._root
        if node not in self._to_fetch:
            self._to_fetch[node] = None
            self._fetch_timer.start()

    def _fetch_queued(self) -> None:
        queued, self._to_fetch = self._to_fetch, {}
        for node in queued:
            if node is self._root:
                self.show_more(ROOT_PAGE)
            elif node.stale_from != DEAD and (node.parent is None or node.parent.stale_from != DEAD):
                self._fetch(node, BATCH)

    def show_more(self, count: int) -> int:
        """Show up to ``count`` more entries at the root; returns how many rows were added."""
        total = len(self._root.children or ())
        n = min(count, total - self._shown)
        if n <= 0:
            return 0
        self.beginInsertRows(QModelIndex(), self._shown, self._shown + n - 1)
        self._shown += n
        self.endInsertRows()
        return n

    def show_all(self) -> None:
        self.show_more(len(self._root.children or ()))

    def limit_shown(self, count: int) -> None:
        """Show only the first ``count`` entries again (at least one page), e.g. after a Find."""
        count = max(count, ROOT_PAGE)
        if count < self._shown:
            self.beginRemoveRows(QModelIndex(), count, self._shown - 1)
            self._shown = count
            self.endRemoveRows()

    def shown_count(self) -> int:
        """Entries the view can see now (the rest of a huge state follows as it scrolls)."""
        return self._shown

    def expose(self, node: Node) -> None:
        """Make sure ``node``'s entry is among the shown rows (for select/edit of a far entry)."""
        row = self._row_of(node.top())
        if row >= self._shown:
            self.show_more(row - self._shown + 1)

    def fetch(self, index: Index, count: int = BATCH) -> int:
        """Fetch up to ``count`` more children of ``index`` now; returns how many rows were added."""
        node = self.node_at(index)
        return self._fetch(node, count) if node is not None else 0

    def _fetch(self, node: Node, count: int, index: Index | None = None, *, now: float = 0.0) -> int:
        """Materialise up to ``count`` more children of ``node`` from its frozen value; returns how many."""
        if node.children is None:
            node.children = []
        have = len(node.children)
        n = min(count, child_count(node.value) - have)
        if n <= 0:
            return 0
        fresh = [Node(node, k, v) for k, v in islice(child_items(node.value), have, have + n)]
        for i, child in enumerate(fresh, have):
            child.row = i
            if now:
                self._mark(child, now)
        self.beginInsertRows(index if index is not None else self.index_of(node), have, have + n - 1)
        node.children.extend(fresh)
        self.endInsertRows()
        return n

    def _row_of(self, node: Node) -> int:
        p = node.parent
        if p is None or p.children is None or node.stale_from == DEAD:
            return -1
        children = p.children
        r = node.row
        if r < len(children) and children[r] is node:
            return r
        # Rows after a removal are renumbered lazily, from the first stale one.
        start = p.stale_from if 0 <= p.stale_from < len(children) else 0
        for i in range(start, len(children)):
            children[i].row = i
        p.stale_from = -1
        if node.row < len(children) and children[node.row] is node:
            return node.row
        return children.index(node) if node in children else -1

    def row_of(self, node: Node) -> int:
        """The node's row under its parent (-1 if it was removed)."""
        return self._row_of(node)

    def index_of(self, node: Node | None, column: int = 0) -> QModelIndex:
        if node is None or node.parent is None:
            return QModelIndex()
        row = self._row_of(node)
        if row < 0 or (node.parent is self._root and row >= self._shown):
            return QModelIndex()
        return self.createIndex(row, column, node)

    def node_at(self, index: Index) -> Node | None:
        """The node behind a source-model index (None for the root or an invalid index)."""
        if not index.isValid() or index.model() is not self:
            return None
        node = index.internalPointer()
        return node if isinstance(node, Node) else None

    def node_for_path(self, path: Path, *, fetch: bool = True) -> Node | None:
        """The node at ``path`` (entry name, then keys/indexes), fetching children on the way if needed."""
        if not path:
            return None
        node = self._by_key.get(fold(str(path[0])))
        for key in path[1:]:
            if node is None:
                return None
            node = self._child(node, key, fetch)
        return node

    def _child(self, node: Node, key: Any, fetch: bool) -> Node | None:
        while True:
            for child in node.children or ():
                if child.key == key and type(child.key) is type(key):
                    return child
            if not fetch or not self._fetch(node, BATCH):
                return None

    def top_nodes(self) -> list[Node]:
        return list(self._root.children or ())

    def entry_count(self) -> int:
        return len(self._root.children or ())

    def has_entry(self, name: str) -> bool:
        return fold(name) in self._by_key

    # -- data -----------------------------------------------------------------------------------------

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return COLUMN_TIPS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        # Views call this for every row of a changed range: the flag sets are built once (enum | is slow).
        if not index.isValid():
            return _NO_FLAGS
        node: Node = index.internalPointer()
        col = index.column()
        editable = (col == NAME and renamable(node)) or (col == VALUE and editable_kind(node) is not None)
        leaf = type(node.value) not in _CONTAINERS and container_kind(node.value) is None
        return _FLAGS[editable][leaf]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called ~7 times per painted cell: plain int roles, and the roles we never answer leave first.
        if role not in _ROLES or not index.isValid():
            return None
        node: Node = index.internalPointer()
        col = index.column()
        if role == _DISPLAY:
            return self._display(node, col)
        if role == _BACKGROUND:
            step = self._highlight_step(node)
            self._note_shown(node, step)
            return self._flash_colours[step] if step else None
        if role == _FOREGROUND:
            return self._foreground(node, col) if col == VALUE else None
        if role == _FONT:
            # No bold for changed rows: under load it flickers and shifts text; the ● marks them.
            if col == VALUE and (node.status is not None or type(node.value) is Pending):
                return self._italic
            return None
        if role == _EDIT:
            if col == NAME:
                return str(node.key)
            if col == VALUE:
                return node.value if editable_kind(node) is not None else None
            return self._display(node, col)
        if role == _TOOLTIP:
            return self._tooltip(node, col)
        if role == Role.SORT:
            return self._sort_value(node, col)
        if role == Role.EDIT_KIND:
            if col == NAME:
                return "name" if renamable(node) else None
            if col == VALUE:
                return editable_kind(node)
            return None
        if role == Role.PATH_TEXT:
            return format_path(node.path())
        return None

    def multiData(self, index: Index, roleDataSpan: Any) -> None:
        # Qt 6 delegates ask for all paint roles of a cell in one call: one Python call instead of
        # seven. Every role is written, also the empty ones: the span may hold the last cell's data.
        if not index.isValid():
            for item in roleDataSpan:
                item.clearData()
            return
        node: Node = index.internalPointer()
        col = index.column()
        for item in roleDataSpan:
            role = item.role()
            if role == _DISPLAY:
                value: Any = self._display(node, col)
            elif role == _FOREGROUND:
                value = self._foreground(node, col) if col == VALUE else None
            elif role == _BACKGROUND or role == _FONT:
                busy = node.changed_at or node.status is not None or type(node.value) is Pending
                value = self.data(index, role) if busy else None
                if not busy and role == _BACKGROUND and self._shown_steps:
                    self._shown_steps.pop(node, None)
            elif role in _ROLES:
                value = self.data(index, role)
            else:
                value = None
            if value is None:
                item.clearData()
            else:
                item.setData(value)

    # -- row status (edits waiting for the lock) ------------------------------------------------------

    def set_status(self, path: Path, text: str | None) -> None:
        node = self.node_for_path(path, fetch=False)
        if node is None or node.status == text:
            return
        node.status = text
        self._emit_rows({node: True})

    def clear_statuses(self) -> None:
        stack = list(self._root.children or ())
        touched = []
        while stack:
            node = stack.pop()
            if node.status is not None:
                node.status = None
                touched.append(node)
            stack.extend(node.children or ())
        self._emit_rows(dict.fromkeys(touched, True))

    def iter_nodes(self) -> Iterator[Node]:
        """Every materialised node, depth first."""
        stack = list(reversed(self._root.children or ()))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children or ()))
