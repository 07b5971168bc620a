"""What a row of the state tree says: cell text, tooltips, sort keys and value colours."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtGui import QColor, QGuiApplication

from desktop_app.engine.diff import format_path
from desktop_app.ui.bridge.entry_snapshot import Opaque, Pending
from desktop_app.ui.common.value_text import (
    format_time,
    format_timestamp,
    full_text,
    preview,
    sort_key,
    type_label,
    type_name,
)
from desktop_app.ui.tree.state_node import BY, NAME, SCOPE, TYPE, UPDATED, VALUE, Node, container_kind

# At run time a plain mixin (StateModel adds the Qt base); typed as a model for readers and checkers.
_Model = QAbstractItemModel if TYPE_CHECKING else object


class RowText(_Model):  # type: ignore[misc,valid-type]
    """Mixed into StateModel: text and colours per cell, cached where painting asks often."""

    def _display(self, node: Node, col: int) -> str:
        if col == NAME:
            return self.key_text(node)
        if col == VALUE:
            if node.status is not None:
                return node.status
            text = node.preview
            if text is None:
                text = node.preview = preview(node.value)
            return text
        if col == TYPE:
            return type_label(node.value)
        entry = node.entry
        if entry is None:
            return ""
        if col == SCOPE:
            return ", ".join(entry.scope)
        if col == UPDATED:
            text = self._time_text.get(entry.time)
            if text is None:
                if len(self._time_text) > 20_000:
                    self._time_text.clear()
                text = self._time_text[entry.time] = format_time(entry.time)
            return "● " + text if self.is_fresh(node) else text
        if col == BY:
            return entry.thread
        return ""

    @staticmethod
    def key_text(node: Node) -> str:
        parent = node.parent
        if parent is None:
            return ""
        if parent.parent is None:
            return str(node.key)
        pv = parent.value
        if isinstance(pv, list | tuple):
            return f"[{node.key}]"
        if isinstance(pv, frozenset | set):
            return "·"
        return node.key if isinstance(node.key, str) else preview(node.key, 80)

    def _tooltip(self, node: Node, col: int) -> str | None:
        if col == NAME:
            return format_path(node.path())
        if col == VALUE:
            if node.status is not None:
                return f"{node.status}\nPress Esc to cancel the edit."
            if type(node.value) is Pending:
                return "The global lock is busy; the value is copied as soon as the bridge gets it."
            return full_text(node.value)
        entry = node.entry
        if entry is None:
            return None
        if col == UPDATED:
            return f"{format_timestamp(entry.time)}\nversion {entry.version}"
        if col == BY:
            if entry.thread.startswith("("):
                return "Changed in place without state.touch(): found by the bridge's rescan"
            return f"Last written by thread {entry.thread}"
        return None

    def _sort_value(self, node: Node, col: int) -> Any:
        if col == NAME:
            return node.key if isinstance(node.key, int) and not node.is_top else str(node.key).casefold()
        if col == VALUE:
            return sort_key(node.value)
        if col == TYPE:
            return type_name(node.value)
        entry = node.entry
        if entry is None:
            return ""
        if col == SCOPE:
            return ", ".join(entry.scope).casefold()
        if col == UPDATED:
            return entry.time
        return entry.thread.casefold()

    def _colour(self, name: str) -> QColor:
        if self._colours is None:
            palette = QGuiApplication.palette()
            dark = palette.base().color().lightnessF() < 0.5
            self._colours = {
                # Amber, not the selection colour: a changed row must not look selected.
                "flash": QColor("#c88a00" if dark else "#ffc53d"),
                "number": QColor("#8cb8ff" if dark else "#1c56b0"),
                "string": QColor("#9ad79a" if dark else "#1d7431"),
                "keyword": QColor("#d8a6e8" if dark else "#8a3aa8"),
                "dim": QColor(palette.placeholderText().color()),
            }
        return self._colours[name]

    def _foreground(self, node: Node, col: int) -> QColor | None:
        if col != VALUE:
            return None
        if node.status is not None:
            return self._colour("dim")
        v = node.value
        t = type(v)
        if t is int or t is float:
            return self._colour("number")
        if t is str:
            return self._colour("string")
        if v is None or t is bool:
            return self._colour("keyword")
        if t is Pending or t is Opaque or container_kind(v) is not None:
            return self._colour("dim")
        return None
