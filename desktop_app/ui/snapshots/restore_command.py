"""Restoring a snapshot as one undoable step when the dock has no bridge (tests, tools)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QUndoCommand

from desktop_app.ui.snapshots.snapshot_store import Entries


class RestoreStateCommand(QUndoCommand):
    """Restore entries (replace or merge) as one undo step without a bridge; undo puts back ``before``.

    The dock uses ``edit_commands.ReplaceStateCommand`` when it has a bridge; this is the same step
    for a dock used on its own (tests, tools). Both directions run through ``run_edit(fn, text)``,
    which applies ``fn`` on the dock's edit thread, in order, holding the global lockable there:
    the GUI thread never takes it. Values are deep-copied on every apply, so a redo after in-place
    changes still restores exactly what the snapshot held. Undoing a merge puts back only the
    entries the merge touched (and removes those it added), as ReplaceStateCommand does.
    """

    def __init__(
        self,
        server: Any,
        before: Entries,
        after: Entries,
        merge: bool,
        text: str,
        run_edit: Callable[[Callable[[], None], str], None],
    ) -> None:
        super().__init__(text)
        self.server = server
        self.before = before
        self.after = after
        self.merge = merge
        self._run_edit = run_edit

    def _forward(self) -> None:
        fresh = copy.deepcopy(self.after)
        with self.server.lockable:
            self.server.state.load_entries(fresh, merge=self.merge)

    def _backward(self) -> None:
        state = self.server.state
        with self.server.lockable:
            if not self.merge:
                state.load_entries(copy.deepcopy(self.before), merge=False)
                return
            before = {name.casefold(): (name, item) for name, item in self.before.items()}
            put_back: Entries = {}
            for name in self.after:
                found = before.get(name.casefold())
                if found is not None:
                    put_back[found[0]] = found[1]
                else:
                    state.remove(name)
            if put_back:
                state.load_entries(copy.deepcopy(put_back), merge=True)

    def redo(self) -> None:
        self._run_edit(self._forward, self.text())

    def undo(self) -> None:
        text = self.text()
        self._run_edit(self._backward, f"Undo {text[:1].lower()}{text[1:]}")
