"""The tree's rows: ``Node`` objects the model keeps alive, its columns and roles, and what a row allows."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from desktop_app.engine.diff import format_path
from desktop_app.ui.bridge.entry_snapshot import EntrySnapshot

COLUMNS = ("Name", "Value", "Type", "Scope", "Updated", "By")
NAME, VALUE, TYPE, SCOPE, UPDATED, BY = range(len(COLUMNS))
COLUMN_TIPS = (
    "Entry name, dict key or [list index]",
    "The value (long values are cut; the tooltip shows more)",
    "Python type, with the number of items for containers",
    "The entry's scopes (used by save/restore filters)",
    "When the entry last changed (● right after a change; the row's tint fades over two seconds)",
    "The thread that wrote it last",
)
BATCH = 500
"""Children are fetched this many at a time (``canFetchMore``/``fetchMore``)."""
ROOT_PAGE = 2_000
"""Entries shown at first and added per scroll-to-the-end at the root (see StateModel._shown)."""
FADE = 2.0
"""Seconds a changed row stays tinted, fading with age: brighter means more recent, also under load."""
GRAVE_SECONDS = 2.0
"""Removed nodes stay alive this long: a QModelIndex still in flight must never point at freed memory."""

DEAD = -2
"""``Node.stale_from`` of a removed node (kept alive in the graveyard, no longer in its parent)."""

Index = QModelIndex | QPersistentModelIndex
Path = tuple[Any, ...]


class Role(IntEnum):
    """Custom data roles."""

    SORT = Qt.ItemDataRole.UserRole + 1
    EDIT_KIND = Qt.ItemDataRole.UserRole + 2
    PATH_TEXT = Qt.ItemDataRole.UserRole + 3


class Node:
    """One row. The model keeps every node alive; a QModelIndex points at its node (never at an int or str)."""

    __slots__ = (
        "changed_at",
        "children",
        "entry",
        "key",
        "parent",
        "preview",
        "row",
        "stale_from",
        "status",
        "value",
    )

    def __init__(self, parent: Node | None, key: Any, value: Any, entry: EntrySnapshot | None = None) -> None:
        self.parent = parent
        self.key = key
        self.value = value
        self.entry = entry
        self.children: list[Node] | None = None
        self.row = 0
        self.stale_from = -1
        self.changed_at = 0.0
        self.status: str | None = None
        self.preview: str | None = None

    @property
    def is_top(self) -> bool:
        return self.parent is not None and self.parent.parent is None

    def path(self) -> Path:
        keys: list[Any] = []
        node: Node | None = self
        while node is not None and node.parent is not None:
            keys.append(node.key)
            node = node.parent
        return tuple(reversed(keys))

    def top(self) -> Node:
        node = self
        while node.parent is not None and node.parent.parent is not None:
            node = node.parent
        return node

    def __repr__(self) -> str:
        return f"<Node {format_path(self.path())}>"


def container_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, list | tuple):
        return "seq"
    if isinstance(value, frozenset | set):
        return "set"
    return None


def editable_kind(node: Node) -> str | None:
    """What the delegate may edit in place for this node's value: "bool", "int", "float", "str" or None."""
    if node.status is not None or node.parent is None:
        return None
    if not node.is_top:
        parent_value = node.parent.value
        if not isinstance(parent_value, dict | list):
            return None  # tuple items and set members cannot change in place
    v = node.value
    t = type(v)
    if t is bool:
        return "bool"
    if t is int:
        return "int"
    if t is float:
        return "float"
    if t is str and "\n" not in v and "\r" not in v:
        return "str"
    return None


def renamable(node: Node) -> bool:
    if node.parent is None or node.status is not None:
        return False
    return node.is_top or (isinstance(node.parent.value, dict) and isinstance(node.key, str))
