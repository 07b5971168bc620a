"""Changed rows: a tint that fades with the age of the change, stronger for the rows the last frame changed."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtGui import QColor

from desktop_app.ui.tree.state_node import FADE, Node

# At run time a plain mixin (StateModel adds the Qt base); typed as a model for readers and checkers.
_Model = QAbstractItemModel if TYPE_CHECKING else object

FADE_STEPS = 4
"""The fade is drawn in steps of FADE / FADE_STEPS seconds, so it needs few repaints: 2 a second
(at 8 steps the fade alone cost a quiet studio, whose demo changes every 2 s, ~0.5 % of a core)."""
FRESH = 0.25
"""A row changed by the latest delta (the last frame) is "fresh" for at most this long: the strong
tint and ● in Updated. Under load that tells what is changing now from what changed a moment ago,
which the fading tint alone cannot when every row changes several times a second."""
FRESH_ALPHA = 170
TINT_ALPHA = 90
TINT_DECAY = 0.75
"""After the fresh frame the tint starts at TINT_ALPHA and keeps this share per step until FADE."""


class ChangeHighlight(_Model):  # type: ignore[misc,valid-type]
    """Mixed into StateModel: which rows changed how recently. One clock read per painted cell, no timers."""

    def _init_highlight(self) -> None:
        self._highlighted: dict[Node, None] = {}
        """Highlighted rows, oldest change first."""
        self.highlight_enabled = True
        flash = self._colour("flash")
        # step 0: none; 1..FADE_STEPS: fading by age; FADE_STEPS + 1: fresh (changed in the last frame)
        self._flash_colours = [QColor(flash) for _ in range(FADE_STEPS + 2)]
        for step, colour in enumerate(self._flash_colours):
            colour.setAlpha(round(TINT_ALPHA * TINT_DECAY ** (FADE_STEPS - step)) if step else 0)
        self._flash_colours[-1].setAlpha(FRESH_ALPHA)
        self._frame = 0.0
        """When the latest delta that changed rows was applied (all its marks carry this time)."""
        self._frame_marks: dict[Node, None] = {}
        self._previous_marks: dict[Node, None] = {}
        self._shown_steps: dict[Node, int] = {}
        """The tint step each row was last painted with (rows painted without a tint are not listed)."""

    def _highlight_step(self, node: Node) -> int:
        """0 (not highlighted), 1 .. FADE_STEPS by the age of the row's last change, FADE_STEPS + 1 fresh."""
        changed = node.changed_at
        if not changed or not self.highlight_enabled:
            return 0
        age = time.monotonic() - changed
        if age >= FADE:
            return 0
        if changed == self._frame and age < FRESH:
            return FADE_STEPS + 1
        return FADE_STEPS - int(age / FADE * FADE_STEPS)

    # -- highlights -----------------------------------------------------------------------------------

    def highlight_level(self, node: Node) -> float:
        """1.0 changed in the last frame .. 0.0 faded out (in FADE_STEPS steps)."""
        return self._highlight_step(node) / (FADE_STEPS + 1)

    def is_highlighted(self, node: Node) -> bool:
        return self._highlight_step(node) > 0

    def is_fresh(self, node: Node) -> bool:
        """Changed by the latest delta, less than FRESH ago: the strong tint and ● in Updated."""
        return self._highlight_step(node) > FADE_STEPS

    def unfreshened(self) -> list[Node]:
        """Rows the latest delta left alone that were fresh before it: their tint steps down now."""
        frame = self._frame
        return [n for n in self._previous_marks if n.changed_at != frame]

    def _note_shown(self, node: Node, step: int) -> None:
        """A paint asked for ``node``'s tint: remember which one is on screen."""
        if step:
            self._shown_steps[node] = step
        elif self._shown_steps:
            self._shown_steps.pop(node, None)

    def stale_tints(self, nodes: Iterable[Node], *, coarse: bool = False) -> list[Node]:
        """Of ``nodes``, the rows whose tint on screen is not the one they have now.

        ``coarse``: only a tint that appeared or ended counts, not a step of its fade. A row last
        painted after its tint changed (by a delta's repaint, say) needs no repaint of its own.
        """
        shown, out = self._shown_steps, []
        for node in nodes:
            now, was = self._highlight_step(node), shown.get(node, 0)
            if (bool(now) != bool(was)) if coarse else now != was:
                out.append(node)
            if not now:
                shown.pop(node, None)  # repainted now, or off screen: painted untinted when it shows
        return out

    def highlighted_nodes(self) -> list[Node]:
        """The rows with a tint now (some may have just faded out: ``fading()`` drops those)."""
        return list(self._highlighted)

    def fading(self) -> bool:
        """True while some row is still highlighted (the view repaints until the fade is over)."""
        highlighted = self._highlighted
        if not highlighted:
            return False
        # Oldest change first (``_mark`` moves a re-marked node to the end): only the expired
        # front is looked at, so this costs what expired, not every highlighted row, per frame.
        cutoff = time.monotonic() - FADE
        done = []
        for n in highlighted:
            if n.changed_at >= cutoff:
                break
            done.append(n)
        for n in done:
            del highlighted[n]
            n.changed_at = 0.0
        return bool(highlighted)

    def _mark(self, node: Node, now: float) -> None:
        if now and self.highlight_enabled:
            if now != self._frame:  # the first mark of a new delta
                self._previous_marks, self._frame_marks = self._frame_marks, {}
                self._frame = now
            self._frame_marks[node] = None
            node.changed_at = now
            self._highlighted.pop(node, None)
            self._highlighted[node] = None
