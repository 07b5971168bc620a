"""How the model follows the bridge: resets, and deltas applied as minimal row inserts, removals and changes."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from itertools import islice, pairwise
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex

from desktop_app.ui.bridge.entry_snapshot import EntrySnapshot, StateDelta, fold, strict_equal
from desktop_app.ui.common.value_text import child_count, child_items
from desktop_app.ui.tree.state_node import (
    BATCH,
    COLUMNS,
    DEAD,
    GRAVE_SECONDS,
    ROOT_PAGE,
    Node,
    container_kind,
)

LIVE_ROOT_LIMIT = 10_000
"""While every entry is shown and there are at most this many, new entries show at once."""

ROW_GAP = 64
"""Changed rows this close are announced as one range: fewer signals, and the proxy scans little more."""

# Typed as a model for readers and checkers; at run time a plain mixin (StateModel adds the Qt base).
_Model = QAbstractItemModel if TYPE_CHECKING else object


class LiveUpdates(_Model):  # type: ignore[misc,valid-type]
    """Mixed into StateModel: everything that changes rows. Never a reset, except ``reset_entries``."""

    def reset_entries(self, snapshots: Iterable[EntrySnapshot]) -> None:
        """A new full picture (a new server, a clear, a replacing restore): the one place the model resets."""
        self.beginResetModel()
        self._bury(self._root.children or [])
        root = self._root
        nodes = [Node(root, s.name, s.value, s) for s in snapshots]
        for i, node in enumerate(nodes):
            node.row = i
        root.children = nodes
        self._shown = min(len(nodes), ROOT_PAGE)
        self._by_key = {fold(n.key): n for n in nodes}
        self._highlighted.clear()
        self._shown_steps.clear()
        self.endResetModel()

    def apply_delta(self, delta: StateDelta) -> None:
        """Apply a bridge delta with row-level signals only (expansion, selection and scroll survive)."""
        now = time.monotonic()
        self._flush_graveyard(now)
        mark = 0.0 if delta.loading else now
        touched: dict[Node, bool] = {}
        for old, new in delta.renamed:
            node = self._by_key.get(fold(old))
            if node is None:
                continue
            other = self._by_key.get(fold(new))
            if other is not None and other is not node:
                del self._by_key[fold(new)]
                self._remove_top([other])
            del self._by_key[fold(old)]
            node.key = new
            if node.entry is not None:
                node.entry = node.entry._replace(name=new)
            self._by_key[fold(new)] = node
            self._mark(node, now)
            touched.setdefault(node, False)
        gone = [self._by_key.pop(k) for k in map(fold, delta.removed) if k in self._by_key]
        self._remove_top(gone)
        appended: list[Node] = []
        for snap in delta.upserted:
            key = snap.key
            node = self._by_key.get(key)
            if node is None:
                node = Node(self._root, snap.name, snap.value, snap)
                self._by_key[key] = node
                appended.append(node)
                self._mark(node, mark)
                continue
            self._update_top(node, snap, now, touched)
        if appended:
            children = self._root.children
            assert children is not None
            start = len(children)
            for i, node in enumerate(appended, start):
                node.row = i
            # New entries show at once while everything is shown and the page is not full;
            # otherwise they wait at the end, behind canFetchMore, like the rest of a huge state.
            end = start + len(appended)
            visible = self._shown
            if self._shown == start:
                visible = end if end <= LIVE_ROOT_LIMIT else min(end, max(start, ROOT_PAGE))
            children.extend(appended)
            if visible > self._shown:
                self.beginInsertRows(QModelIndex(), self._shown, visible - 1)
                self._shown = visible
                self.endInsertRows()
        self._emit_rows(touched)
        self.changed_nodes = list(touched)

    def _update_top(self, node: Node, snap: EntrySnapshot, now: float, touched: dict[Node, bool]) -> None:
        old = node.entry
        node.entry = snap
        if node.key != snap.name:
            node.key = snap.name
        changed = self._set_value(node, snap.value, now, touched)
        if old is None or old.version != snap.version or old.scope != snap.scope or old.thread != snap.thread:
            touched.setdefault(node, False)
            if changed or old is None or old.version != snap.version:
                self._mark(node, now)

    def _set_value(self, node: Node, new: Any, now: float, touched: dict[Node, bool]) -> bool:
        """Point ``node`` at ``new``; emit the minimal row changes below it. True when the value differs."""
        old = node.value
        if old is new:
            return False
        if strict_equal(old, new):
            self._repoint(node, new)
            return False
        node.value = new
        node.preview = None
        # A row that gains or loses children needs its own dataChanged (see _emit_rows).
        touched[node] = touched.get(node, False) or ((child_count(old) > 0) != (child_count(new) > 0))
        self._mark(node, now)
        if node.children is not None:
            self._sync_children(node, old, new, now, touched)
        return True

    def _repoint(self, node: Node, new: Any) -> None:
        # Strictly equal values (same types, same key order, so the same rows): drop the old copy without
        # signals, so two copies are never kept, and the text cached from it with it.
        node.value = new
        node.preview = None
        children = node.children
        if not children:
            return
        if isinstance(new, dict):
            for child in children:
                if child.key in new:
                    self._repoint(child, new[child.key])
        elif isinstance(new, list | tuple):
            for child in children:
                if isinstance(child.key, int) and child.key < len(new):
                    self._repoint(child, new[child.key])
        else:
            members = [v for _, v in child_items(new)]
            for child in children:
                if child.key < len(members):
                    self._repoint(child, members[child.key])

    def _sync_children(self, node: Node, old: Any, new: Any, now: float, touched: dict[Node, bool]) -> None:
        children = node.children
        assert children is not None
        index = self.index_of(node)
        old_kind, new_kind = container_kind(old), container_kind(new)
        have = len(children)
        fully = have >= child_count(old)
        total = child_count(new)
        if old_kind != new_kind or new_kind == "set" or old_kind == "set" or not children:
            if children:
                self._remove_children(node, index, 0, have)
            if new_kind is None:
                return
            # Keep about as many rows as before; a fully shown container shows its new items too.
            self._fetch(node, max(have, BATCH) if (fully or not have) else have, index, now=now)
            return
        target = min(total, max(have, BATCH)) if fully else min(total, have)
        if new_kind == "seq":
            if target < have:
                self._remove_children(node, index, target, have)
            for child in children[: min(have, target)]:
                self._set_value(child, new[child.key], now, touched)
            if target > have:
                self._fetch(node, target - have, index, now=now)
            return
        new_keys = list(islice(new, target))
        position = {k: i for i, k in enumerate(new_keys)}
        # A key Python calls equal but of another type (1 -> True) is another key: its row goes.
        drop = [
            i
            for i, c in enumerate(children)
            if c.key not in position or type(c.key) is not type(new_keys[position[c.key]])
        ]
        for first, last in _runs_descending(drop):
            self._remove_children(node, index, first, last + 1)
        order = [position[c.key] for c in children]
        if any(b < a for a, b in pairwise(order)):
            # Keys were reordered: rebuild this level (rare; order-preserving renames keep positions).
            self._remove_children(node, index, 0, len(children))
            self._fetch(node, target, index, now=now)
            return
        survivors = list(children)
        for child in survivors:
            self._set_value(child, new[child.key], now, touched)
        row = 0
        i = 0
        while i < len(new_keys):
            if row < len(children) and children[row].key == new_keys[i]:
                row += 1
                i += 1
                continue
            j = i
            while j < len(new_keys) and not (row < len(children) and children[row].key == new_keys[j]):
                j += 1
            fresh = [Node(node, k, new[k]) for k in new_keys[i:j]]
            for n in fresh:
                self._mark(n, now)
            self.beginInsertRows(index, row, row + len(fresh) - 1)
            children[row:row] = fresh
            for r in range(row, len(children)):
                children[r].row = r
            self.endInsertRows()
            row += len(fresh)
            i = j

    def _remove_children(self, node: Node, index: QModelIndex, first: int, end: int) -> None:
        children = node.children
        assert children is not None
        if end <= first:
            return
        self.beginRemoveRows(index, first, end - 1)
        self._bury(children[first:end])
        del children[first:end]
        for r in range(first, len(children)):
            children[r].row = r
        self.endRemoveRows()

    def _remove_top(self, nodes: list[Node]) -> None:
        if not nodes:
            return
        root = self._root
        rows = sorted({r for r in map(self._row_of, nodes) if r >= 0})
        children = root.children
        assert children is not None
        hidden = [r for r in rows if r >= self._shown]
        for first, last in _runs_descending(hidden):
            self._bury(children[first : last + 1])  # not shown: no signals
            del children[first : last + 1]
        for first, last in _runs_descending([r for r in rows if r < self._shown]):
            self.beginRemoveRows(QModelIndex(), first, last)
            self._bury(children[first : last + 1])
            del children[first : last + 1]
            self._shown -= last - first + 1
            self.endRemoveRows()
        if rows and rows[0] < len(children):
            root.stale_from = rows[0] if root.stale_from < 0 else min(root.stale_from, rows[0])
        for n in nodes:
            self._highlighted.pop(n, None)
            self._shown_steps.pop(n, None)

    def _bury(self, nodes: list[Node]) -> None:
        if nodes:
            for n in nodes:
                n.stale_from = DEAD
            self._graveyard.append((time.monotonic(), list(nodes)))

    def _flush_graveyard(self, now: float) -> None:
        while self._graveyard and now - self._graveyard[0][0] > GRAVE_SECONDS:
            self._graveyard.pop(0)

    def _emit_rows(self, nodes: Mapping[Node, bool]) -> None:
        """dataChanged for changed rows: ranges of nearby rows per parent, and a row of its own for a row
        whose expand arrow may change (QTreeView re-asks hasChildren only on single-row changes)."""
        last = len(COLUMNS) - 1
        by_parent: dict[Node, list[tuple[int, Node]]] = {}
        root = self._root
        for node, shape in nodes.items():
            if node.parent is None:
                continue
            row = self._row_of(node)
            if row < 0 or (node.parent is root and row >= self._shown):
                continue  # removed, or an entry not shown yet
            if shape:
                self.dataChanged.emit(self.createIndex(row, 0, node), self.createIndex(row, last, node))
            else:
                by_parent.setdefault(node.parent, []).append((row, node))
        for rows in by_parent.values():
            rows.sort(key=lambda rn: rn[0])
            first = end = rows[0]
            for rn in rows[1:]:
                if rn[0] - end[0] > ROW_GAP:
                    self.dataChanged.emit(
                        self.createIndex(first[0], 0, first[1]), self.createIndex(end[0], last, end[1])
                    )
                    first = rn
                end = rn
            self.dataChanged.emit(
                self.createIndex(first[0], 0, first[1]), self.createIndex(end[0], last, end[1])
            )


def _runs_descending(rows: list[int]) -> list[tuple[int, int]]:
    """Contiguous (first, last) runs of sorted rows, last run first (so earlier rows stay valid)."""
    runs: list[tuple[int, int]] = []
    for r in rows:
        if runs and r == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    return list(reversed(runs))
