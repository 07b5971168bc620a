"""The diff tree: added / removed / changed paths nested under their parents, marked by colour and by a glyph."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.engine.diff import Change, diff_states, format_path
from desktop_app.ui.common.plural import count
from desktop_app.ui.common.row_table import header_text
from desktop_app.ui.common.value_text import full_text, preview, type_name

ModelIndex = QModelIndex | QPersistentModelIndex

ADDED, REMOVED, CHANGED, PARENT = "added", "removed", "changed", "parent"
GLYPHS = {ADDED: "+", REMOVED: "−", CHANGED: "~"}
COLOURS = {ADDED: QColor("#2e7d32"), REMOVED: QColor("#c62828"), CHANGED: QColor("#b26a00")}
EXPAND_ALL_BELOW = 400
"""Diffs with fewer changes than this open fully expanded; bigger ones show their top level only."""

PREVIEW_CHARS = 120
"""Values as the tree shows them (ui/common/value_text: JSON, so ``1``, ``1.0`` and ``true`` differ)."""


def value_text(c: Change) -> str:
    """``"ann" → "bob"`` for a change, the new value for an addition, the old one for a removal."""
    if c.kind == ADDED:
        return preview(c.new, PREVIEW_CHARS)
    if c.kind == REMOVED:
        return preview(c.old, PREVIEW_CHARS)
    return f"{preview(c.old, PREVIEW_CHARS // 2)} → {preview(c.new, PREVIEW_CHARS // 2)}"


def value_tooltip(c: Change) -> str:
    if c.kind == ADDED:
        return f"added:\n{full_text(c.new)}"
    if c.kind == REMOVED:
        return f"removed:\n{full_text(c.old)}"
    return f"old ({type_name(c.old)}):\n{full_text(c.old)}\n\nnew ({type_name(c.new)}):\n{full_text(c.new)}"


# -- the tree (plain Python, built off the GUI thread) ------------------------------------------------


class DiffNode:
    """One row of the diff tree: a change (a leaf) or a parent of changes. The model keeps them alive."""

    __slots__ = ("by_key", "change", "children", "counts", "key", "kind", "parent", "path", "row")

    def __init__(self, key: Any, kind: str, path: tuple[Any, ...], parent: DiffNode | None) -> None:
        self.key = key
        self.kind = kind
        self.path = path
        self.parent = parent
        self.change: Change | None = None
        self.children: list[DiffNode] = []
        self.by_key: dict[Any, DiffNode] = {}
        self.counts = {ADDED: 0, REMOVED: 0, CHANGED: 0}
        self.row = 0

    def add(self, key: Any, kind: str) -> DiffNode:
        node = DiffNode(key, kind, (*self.path, key), self)
        node.row = len(self.children)
        self.children.append(node)
        self.by_key[key] = node
        return node

    @property
    def label(self) -> str:
        if self.parent is not None and self.parent.parent is None:
            return str(self.key)  # an entry name, bare
        return (
            f"[{self.key}]" if isinstance(self.key, int) and not isinstance(self.key, bool) else str(self.key)
        )

    def find(self, path: tuple[Any, ...]) -> DiffNode | None:
        """The node at ``path`` below this one, or None."""
        node: DiffNode | None = self
        for part in path:
            node = node.by_key.get(part) if node is not None else None
        return node

    def walk(self) -> list[DiffNode]:
        out: list[DiffNode] = []
        stack = list(reversed(self.children))
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(node.children))
        return out


def build_diff_tree(changes: list[Change]) -> DiffNode:
    """Nest changes under their parents: ``hash["values"][3]`` goes under ``hash`` -> ``values``."""
    root = DiffNode(None, PARENT, (), None)
    for c in changes:
        node = root
        for part in c.path[:-1]:
            node.counts[c.kind] += 1
            child = node.by_key.get(part)
            node = child if child is not None else node.add(part, PARENT)
        node.counts[c.kind] += 1
        leaf = node.add(c.path[-1] if c.path else "", c.kind)
        leaf.change = c
    return root


@dataclass
class DiffResult:
    """A finished diff: the changes, their tree, and where and how long it was computed."""

    title: str
    changes: list[Change]
    root: DiffNode
    seconds: float
    thread_name: str
    thread_ident: int
    entries: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        c = self.counts
        if not self.changes:
            return f"{self.title}: no differences"
        parts = [f"{GLYPHS[kind]} {c[kind]:,} {kind}" for kind in (ADDED, REMOVED, CHANGED) if c.get(kind)]
        return f"{self.title}:   " + "   ".join(parts)

    @property
    def details(self) -> str:
        return (
            f"{count(self.entries, 'entry')} compared in {self.seconds * 1000:.0f} ms on thread {self.thread_name}"
        )


class DiffCancelled(Exception):
    """A newer diff replaced this one before it finished."""


def compute_diff(
    title: str,
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> DiffResult:
    """Diff two ``{name: value}`` maps and build the tree. Heavy: call it on a worker thread.

    Raises:
        DiffCancelled: ``cancelled()`` turned true while it ran.
    """
    start = time.perf_counter()

    def report(done: int, total: int) -> None:
        if cancelled is not None and cancelled():
            raise DiffCancelled
        if progress is not None:
            progress(done, total)

    changes = diff_states(a, b, progress=report)
    root = build_diff_tree(changes)
    me = threading.current_thread()
    return DiffResult(
        title,
        changes,
        root,
        time.perf_counter() - start,
        me.name,
        me.ident or 0,
        entries=len(set(a) | set(b)),
        counts=dict(root.counts),
    )


# -- the model --------------------------------------------------------------------------------------

COLUMNS = ("Path", "Change", "Value (old → new)")
COL_PATH, COL_KIND, COL_VALUE = range(len(COLUMNS))


def glyph_icon(kind: str, size: int = 14) -> QIcon:
    """A rounded square in the change's colour with its glyph: readable without colour too."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(COLOURS[kind])
    p.drawRoundedRect(QRectF(0.5, 0.5, size - 1, size - 1), 3, 3)
    p.setPen(QColor("white"))
    font = QFont()
    font.setBold(True)
    font.setPixelSize(size - 2)
    p.setFont(font)
    p.drawText(QRectF(0, -1, size, size), Qt.AlignmentFlag.AlignCenter, GLYPHS[kind])
    p.end()
    return QIcon(pix)


class DiffModel(QAbstractItemModel):
    """A read-only tree over a DiffNode tree. Each index points at its node (kept alive by the root)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.root = DiffNode(None, PARENT, (), None)
        self._icons: dict[str, QIcon] = {}
        self._tints = {kind: QColor(c.red(), c.green(), c.blue(), 28) for kind, c in COLOURS.items()}

    def set_root(self, root: DiffNode) -> None:
        # A new diff is a new document: a reset is right (it never happens on a live refresh).
        self.beginResetModel()
        self.root = root
        self.endResetModel()

    def clear(self) -> None:
        self.set_root(DiffNode(None, PARENT, (), None))

    def node(self, index: ModelIndex) -> DiffNode:
        return index.internalPointer() if index.isValid() else self.root

    def index_of(self, path: tuple[Any, ...]) -> QModelIndex:
        """The index of the node at ``path`` (entry name first), or an invalid index."""
        node = self.root.find(path)
        if node is None or node is self.root:
            return QModelIndex()
        return self.createIndex(node.row, 0, node)

    # Qt overrides ------------------------------------------------------------------------------

    def index(self, row: int, column: int, parent: ModelIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        node = self.node(parent)
        if 0 <= row < len(node.children) and 0 <= column < len(COLUMNS):
            return self.createIndex(row, column, node.children[row])
        return QModelIndex()

    def parent(self, index: ModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        up = index.internalPointer().parent
        if up is None or up is self.root:
            return QModelIndex()
        return self.createIndex(up.row, 0, up)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self.node(parent).children)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def hasChildren(self, parent: ModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return self.rowCount(parent) > 0

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return header_text(COLUMNS, section, orientation, role)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node: DiffNode = index.internalPointer()
        col = index.column()
        c = node.change
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_PATH:
                return node.label
            if col == COL_KIND:
                return self._kind_text(node)
            if c is None or col != COL_VALUE:
                return None
            return value_text(c)
        if role == Qt.ItemDataRole.DecorationRole and col == COL_PATH and node.kind in GLYPHS:
            return self._icon(node.kind)
        if role == Qt.ItemDataRole.ForegroundRole and node.kind in COLOURS and col in (COL_PATH, COL_KIND):
            return QBrush(COLOURS[node.kind])
        if role == Qt.ItemDataRole.BackgroundRole and node.kind in self._tints:
            return QBrush(self._tints[node.kind])
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_PATH:
                return format_path(node.path)
            if c is not None and col == COL_VALUE:
                return value_tooltip(c)
        if role == Qt.ItemDataRole.AccessibleTextRole and col == COL_PATH:
            return f"{node.kind}: {format_path(node.path)}"
        return None

    @staticmethod
    def _kind_text(node: DiffNode) -> str:
        if node.kind in GLYPHS:
            return f"{GLYPHS[node.kind]} {node.kind}"
        parts = [f"{GLYPHS[k]}{n}" for k, n in node.counts.items() if n]
        return "  ".join(parts)

    def _icon(self, kind: str) -> QIcon:
        if kind not in self._icons:
            self._icons[kind] = glyph_icon(kind)
        return self._icons[kind]


# -- the widget -------------------------------------------------------------------------------------


class DiffView(QWidget):
    """A summary line, a progress bar while a diff runs, and the diff tree."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        top = QHBoxLayout()
        self.summary = QLabel(
            "Select a snapshot and choose Diff to compare it with the live state or another snapshot."
        )
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top.addWidget(self.summary, 1)
        self.expand_button = QPushButton("Expand all")
        self.expand_button.setEnabled(False)
        self.collapse_button = QPushButton("Collapse")
        self.collapse_button.setEnabled(False)
        top.addWidget(self.expand_button)
        top.addWidget(self.collapse_button)
        layout.addLayout(top)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("Comparing… %p%")
        self.progress.hide()
        layout.addWidget(self.progress)
        self.model = DiffModel(self)
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(False)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.header().setStretchLastSection(True)
        fm = self.fontMetrics()
        self.tree.setColumnWidth(COL_PATH, fm.horizontalAdvance("a-long-entry-name[12]") + 60)
        self.tree.setColumnWidth(COL_KIND, fm.horizontalAdvance("~ changed  +99") + 20)
        self.tree.header().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.tree, 1)
        self.expand_button.clicked.connect(self.tree.expandAll)
        self.collapse_button.clicked.connect(self.tree.collapseAll)
        self.result: DiffResult | None = None

    def start(self, title: str) -> None:
        """A diff called ``title`` began (the bar shows once it reports progress)."""
        self.summary.setText(f"{title}: comparing…")
        self.progress.setRange(0, 0)
        self.progress.setValue(0)

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.show()

    def show_result(self, result: DiffResult) -> None:
        self.progress.hide()
        self.result = result
        self.summary.setText(result.summary)
        self.summary.setToolTip(result.details)
        self.model.set_root(result.root)
        small = len(result.changes) < EXPAND_ALL_BELOW
        if small:
            self.tree.expandAll()
        self.expand_button.setEnabled(bool(result.changes))
        self.collapse_button.setEnabled(bool(result.changes))

    def show_error(self, message: str) -> None:
        self.progress.hide()
        self.summary.setText(message)

    def clear(self) -> None:
        self.progress.hide()
        self.result = None
        self.model.clear()
        self.expand_button.setEnabled(False)
        self.collapse_button.setEnabled(False)
