"""How the state tree follows the bridge: resets, deltas, repaints of changed rows, the highlight fade, Live/Paused."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QPoint, QRect
from PySide6.QtGui import QRegion
from PySide6.QtWidgets import QWidget

from desktop_app.ui.bridge.entry_snapshot import LockStatus, StateDelta
from desktop_app.ui.common.pace import in_background
from desktop_app.ui.tree.state_model import FADE, FADE_STEPS, Node

# At run time a plain mixin (StateView adds QWidget); typed as a widget for readers and checkers.
_View = QWidget if TYPE_CHECKING else object

FADE_TICK_MS = int(FADE / FADE_STEPS * 1000)
FADE_ROWS_REPAINT = 200
"""Up to this many tinted rows a fade step repaints just them; more, and the whole viewport (cheaper)."""


class LiveFollow(_View):  # type: ignore[misc,valid-type]
    """Mixed into StateView: what the bridge's signals do to the tree, the lock line and the Live button."""

    # -- bridge data ------------------------------------------------------------------------------------

    def _on_reset(self, snapshots: tuple[Any, ...]) -> None:
        selected = self._selected_path
        self.model.reset_entries(snapshots)
        self._update_sorting()
        self._restore_expanded()
        if selected is not None:
            self.select_path(selected)
        self._select_followed()

    def _on_delta(self, delta: StateDelta) -> None:
        self.model.apply_delta(delta)
        if self.tree.full_repaint_coming():
            # Rows were inserted where they show: the whole viewport repaints anyway. Lay out now,
            # as finding the changed rows on screen did, so that editors and indexes are current.
            self.tree.executeDelayedItemsLayout()
        elif self.tree.defer_ranges:
            # and the rows the last frame marked fresh that this one did not: they step down now
            self._repaint_rows([*self.model.changed_nodes, *self.model.unfreshened()])
        if delta.loading or len(delta.upserted) > 1000:
            self._update_sorting()
        if self.model.fading() and not self._fade_timer.isActive():
            self._fade_timer.start()
        self._select_followed()

    def _repaint_rows(self, nodes: list[Node]) -> None:
        """Repaint just the changed rows that are on screen (the tree shows the model directly)."""
        viewport = self.tree.viewport()
        first = self.tree.indexAt(QPoint(1, 1))
        last = self.tree.indexAt(QPoint(1, max(1, viewport.height() - 2)))
        if not first.isValid():
            return
        lo = self._top_row(first)
        hi = self._top_row(last) if last.isValid() else self.model.entry_count() - 1
        region = QRegion()
        width = viewport.width()
        for node in nodes:
            top = node.top()
            row = self.model.row_of(top)
            if lo <= row <= hi:
                rect = self.tree.visualRect(self.model.index_of(node))
                if rect.isValid():
                    region += QRect(0, rect.top(), width, rect.height())
        if not region.isEmpty():
            self.tree.schedule_region(region)

    @staticmethod
    def _top_row(index: QModelIndex) -> int:
        while index.parent().isValid():
            index = index.parent()
        return index.row()

    def _on_progress(self, done: int, total: int) -> None:
        if done < total:
            self.show_message(f"Loading {done:,} of {total:,} entries…", timeout=0)
        elif self.message_label.property("loading"):
            shown = self.model.shown_count()
            more = f"; showing {shown:,}, scroll down for more" if shown < total else ""
            self.show_message(f"Loaded {total:,} entries{more}.")
        self.message_label.setProperty("loading", done < total)

    def _fade_tick(self) -> None:
        # One timer for all rows, one repaint per fade step (4 a second at most, within the tree's
        # paint budget). Also while deltas keep coming: they repaint only the rows they change,
        # and a row that stopped changing must still be seen to fade, or under load every row
        # that ever changed stays lit. The timer stops once nothing is tinted.
        nodes = self.model.highlighted_nodes()  # before fading() forgets the ones that just ended
        # and the ones tinted at the last step: fading() in a delta may have ended them since
        last, self._fade_last = self._fade_last, nodes
        if not self.model.fading():
            self._fade_timer.stop()
            self._fade_last = []
        if not self.tree.defer_ranges or len(nodes) + len(last) > FADE_ROWS_REPAINT:
            self.tree.schedule_repaint()
            return
        # Just the rows whose tint on screen is out of date: a full repaint of the tree costs ~15 ms
        # with software rendering, and a quiet demo fades a row or three, which a delta's repaint
        # often drew already. In the background only a tint that ended counts, not its steps.
        stale = self.model.stale_tints(dict.fromkeys([*last, *nodes]), coarse=in_background())
        if stale:
            self._repaint_rows(stale)

    def _on_lock_status(self, status: LockStatus) -> None:
        holder = status.holder
        if holder is not None and status.held_for >= 0.5:
            waiting = f" — {len(status.waiting)} waiting" if status.waiting else ""
            self.lock_label.setText(
                f"⏳ global lock held by {holder.thread} for {status.held_for:.1f} s{waiting}"
            )
            self.lock_label.setToolTip(
                f"held at {holder.site}\nEdits wait for it (Esc cancels a waiting edit)."
            )
        else:
            self.lock_label.clear()
            self.lock_label.setToolTip("")

    # -- live / paused ----------------------------------------------------------------------------------

    def _on_live_changed(self, live: bool) -> None:
        if self.live_action.isChecked() != live:
            self.live_action.setChecked(live)
        self._update_live_text()

    def _update_live_text(self) -> None:
        if self.bridge.live:
            self.live_action.setText("● Live")
            self.live_action.setToolTip("Live: the tree follows the state. Click (F8) to pause.")
        else:
            n = self.bridge.pending
            self.live_action.setText(f"❚❚ Paused — {n:,} change{'s' if n != 1 else ''}")
            self.live_action.setToolTip("Paused: the tree is frozen. Click (F8) to catch up.")
