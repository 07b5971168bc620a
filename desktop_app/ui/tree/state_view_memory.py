"""What the state tree remembers and finds: expanded paths, the selection, watched entries, Find, settings."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QItemSelection, QModelIndex, QSettings, QTimer
from PySide6.QtWidgets import QWidget

from desktop_app.engine.diff import quote_name
from desktop_app.ui.bridge.entry_snapshot import fold

# At run time a plain mixin (StateView adds QWidget); typed as a widget for readers and checkers.
_View = QWidget if TYPE_CHECKING else object

EXPAND_ALL_LIMIT = 5_000
AUTO_EXPAND_LIMIT = 200
FIND_ALL_LIMIT = 50_000
"""Up to this many entries, Find searches all of them; above, the entries shown so far."""
SETTINGS_GROUP = "state_view"

Path = tuple[Any, ...]


class ViewMemory(_View):  # type: ignore[misc,valid-type]
    """Mixed into StateView. Expansion is remembered by path (not by index), so it survives model
    resets, a Find or a sort being switched on and off, and entries that arrive later."""

    # -- expansion and selection memory ------------------------------------------------------------------

    def _on_expanded(self, index: QModelIndex) -> None:
        node = self.node_of(index)
        if node is not None and not self._auto_expanding:
            path = node.path()
            self._expanded.add(path)
            self._expanded_tops.add(fold(str(path[0])))
        self._watch_timer.start()

    def _on_collapsed(self, index: QModelIndex) -> None:
        node = self.node_of(index)
        if node is not None:
            self._expanded.discard(node.path())
        self._watch_timer.start()

    def _on_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        if parent.isValid() or not self._expanded_tops:
            return
        children = self.model.top_nodes()[first : last + 1]
        if any(fold(str(n.key)) in self._expanded_tops for n in children):
            QTimer.singleShot(0, self._restore_expanded)

    def expanded_paths(self) -> list[Path]:
        return sorted(self._expanded, key=lambda p: (len(p), [str(k) for k in p]))

    def _restore_expanded(self) -> None:
        for path in self.expanded_paths():
            node = self.model.node_for_path(path)
            if node is None:
                continue
            index = self.view_index(node)
            if index.isValid() and not self.tree.isExpanded(index):
                self.tree.expand(index)

    def expand_all(self) -> None:
        if self.model.entry_count() > EXPAND_ALL_LIMIT:
            self.show_message(
                f"Expand all is off above {EXPAND_ALL_LIMIT:,} entries: expand rows, or use Find.", error=True
            )
            return
        count = 0
        shown = self.chain.top()
        stack = [shown.index(r, 0) for r in range(shown.rowCount())]
        while stack and count < EXPAND_ALL_LIMIT:
            index = stack.pop()
            if shown.hasChildren(index):
                node = self.node_of(index)
                if node is not None and not node.children:
                    self.model.fetch(self.model.index_of(node))
                self.tree.expand(index)
                count += 1
                stack.extend(shown.index(r, 0, index) for r in range(shown.rowCount(index)))

    def collapse_all(self) -> None:
        self.tree.collapseAll()
        self._expanded.clear()
        self._expanded_tops.clear()

    def _on_selection_changed(self, _sel: QItemSelection, _desel: QItemSelection) -> None:
        self._on_selection()

    def _on_selection(self) -> None:
        node = self.selected_node()
        path = node.path() if node is not None else None
        self.edit.update_enabled(node)
        if self._holding_selection:
            return
        if path != self._selected_path:
            self._selected_path = path
            self.selection_changed.emit(path)

    def _send_watched(self) -> None:
        names: list[str] = []
        seen: set[str] = set()
        viewport = self.tree.viewport()
        index = self.tree.indexAt(viewport.rect().topLeft())
        bottom = viewport.rect().bottom()
        while index.isValid() and len(names) < 200:
            node = self.node_of(index)
            if node is not None:
                name = str(node.top().key)
                if fold(name) not in seen:
                    seen.add(fold(name))
                    names.append(name)
            if self.tree.visualRect(index).top() > bottom:
                break
            index = self.tree.indexBelow(index)
        for path in list(self._expanded)[:200]:
            if fold(str(path[0])) not in seen:
                seen.add(fold(str(path[0])))
                names.append(str(path[0]))
        self.bridge.set_watched(names)

    # -- find -------------------------------------------------------------------------------------------

    def show_filter(self) -> None:
        self.filter_edit.setVisible(True)
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def hide_filter(self) -> None:
        self.filter_edit.clear()
        self._apply_filter()
        self.filter_edit.setVisible(False)
        self.tree.setFocus()

    def _apply_filter(self) -> None:
        self._filter_timer.stop()
        needle = self.filter_edit.text().strip()
        if needle.casefold() == self.filter_model.needle:
            return
        selected = self._selected_path
        if needle and not self.chain.filtering and not self.chain.sorting:
            self._paged_shown = self.model.shown_count()
            if self.model.entry_count() <= FIND_ALL_LIMIT:
                self.model.show_all()
        # A row this needle hides is still the one the person chose: the next needle, or Esc, shows
        # it selected again. Qt moves the current row to a neighbour meanwhile; that is not a choice.
        self._holding_selection = True
        try:
            self.chain.set_needle(needle)
            if not needle and not self.chain.sorting:
                self.model.limit_shown(self._paged_shown)
            self._restore_expanded()
            if needle:
                self._expand_to_matches()
            if selected is not None and not self.select_path(selected):
                self.tree.selectionModel().clear()
        finally:
            self._holding_selection = False
        self.edit.update_enabled(self.selected_node())
        # Painted only while no row is left, so a live change that brings a match hides it again.
        self.tree.set_placeholder(f"No entry, key or value matches {quote_name(needle)}" if needle else "")
        if needle and self.model.shown_count() < self.model.entry_count():
            self.show_message(
                f"Find looks at the {self.model.shown_count():,} entries shown so far "
                f"(of {self.model.entry_count():,}); scroll down to load more."
            )

    def empty_text(self) -> str:
        """The line the empty tree shows now (a Find without matches), or ""."""
        return self.tree.placeholder_shown()

    def _expand_to_matches(self) -> None:
        """Open rows down to matches hidden inside them (bounded), without remembering them as expanded."""
        self._auto_expanding = True
        try:
            budget = AUTO_EXPAND_LIMIT
            shown = self.chain.top()
            stack = [shown.index(r, 0) for r in range(min(shown.rowCount(), 300))]
            while stack and budget > 0:
                index = stack.pop()
                node = self.node_of(index)
                if node is None or self.filter_model.matches(node) or not shown.hasChildren(index):
                    continue
                if not node.children:
                    self.model.fetch(self.model.index_of(node))  # now, so the hit below can be opened too
                self.tree.expand(index)
                budget -= 1
                if len(node.path()) < 4:
                    stack.extend(shown.index(r, 0, index) for r in range(min(shown.rowCount(index), 50)))
        finally:
            self._auto_expanding = False

    # -- settings -----------------------------------------------------------------------------------------

    def save_settings(self, s: QSettings) -> None:
        """Column widths and sort (the header state), expanded paths, Live/Paused."""
        s.beginGroup(SETTINGS_GROUP)
        try:
            s.setValue("header", self.tree.header().saveState())
            paths = [list(p) for p in self.expanded_paths() if all(isinstance(k, str | int) for k in p)]
            s.setValue("expanded", json.dumps(paths[:2000]))
            s.setValue("live", bool(self.bridge.live))
        finally:
            s.endGroup()

    def restore_settings(self, s: QSettings) -> None:
        s.beginGroup(SETTINGS_GROUP)
        try:
            header = s.value("header")
            if isinstance(header, QByteArray) and not header.isEmpty():
                self.tree.header().restoreState(header)
            raw = s.value("expanded")
            if isinstance(raw, str) and raw:
                try:
                    paths = json.loads(raw)
                except ValueError:
                    paths = []
                for p in paths:
                    if isinstance(p, list) and p:
                        path = tuple(p)
                        self._expanded.add(path)
                        self._expanded_tops.add(fold(str(path[0])))
            live = s.value("live")
            if live is not None:
                self.bridge.set_live(live not in (False, "false", "0", 0))
        finally:
            s.endGroup()
        self._restore_expanded()
