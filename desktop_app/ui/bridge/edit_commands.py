"""Undoable edits: each QUndoCommand applies through ``bridge.run_edit`` (off the GUI thread, under the global lockable)."""

from __future__ import annotations

import copy
import logging
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from desktop_app.ui.bridge.entry_snapshot import fold

if TYPE_CHECKING:
    from desktop_app.engine.server import Server
    from desktop_app.ui.bridge.state_bridge import EditHandle, StateBridge

log = logging.getLogger("desktop_app.ui.bridge.edit_commands")

Path = tuple[Any, ...]
Entries = dict[str, tuple[Any, list[str]]]


class EditError(Exception):
    """An edit the engine refused (a name taken, an entry gone); the message is for the person."""


class EditFeedback(QObject):
    """How commands report back to the view (all emitted on the GUI thread)."""

    waiting = Signal(object, str)
    """(path or None, "waiting for lock — held by <thread>")."""
    settled = Signal(object)
    """path or None: the edit finished, failed or was cancelled (clear the row's status)."""
    failed = Signal(str)
    applied = Signal(str)
    """The command's text: it was applied to the engine (first time, undo or redo)."""
    applied_as = Signal(str, str)
    """("Done" | "Undone" | "Redone", the command's text), emitted with ``applied``."""
    row_moved = Signal(object)
    """The path an applied edit moved its row to (a rename, or its undo): the view keeps it selected."""


def describe_error(err: BaseException) -> str:
    if isinstance(err, EditError):
        return str(err)
    if isinstance(err, KeyError):
        return f"{err.args[0] if err.args else err} no longer exists"
    return f"{type(err).__name__}: {err}" if not isinstance(err, ValueError) else str(err)


# -- the commands ---------------------------------------------------------------------------------


class EngineCommand(QUndoCommand):
    """A command whose redo/undo run ``forward``/``backward`` on the edit thread, asynchronously.

    Pushed by ``EditRunner.submit`` only once the first application succeeded, so the undo stack
    never holds an edit the engine refused. Pushing it directly (``stack.push``) also works.
    """

    def __init__(
        self, bridge: StateBridge, text: str, path: Path | None = None, feedback: EditFeedback | None = None
    ) -> None:
        super().__init__(text)
        self.bridge = bridge
        self.path = path
        self.server = bridge.server
        self.feedback = feedback if feedback is not None else getattr(bridge, "edit_feedback", None)
        self.applied = False
        # Weak: the stack owns its commands; a command holding its stack back would make a reference
        # cycle that Python's GC may tear down in an order PySide does not survive (QUndoStack::clear).
        self._stack: weakref.ref[QUndoStack] | None = None
        self._runner: weakref.ref[EditRunner] | None = None
        self.handles: list[EditHandle[Any]] = []
        self._skip_redo = False
        self._silent = False
        self._engine_applied = False
        self._done_once = False  # a forward step after the first one is a redo

    @property
    def stack(self) -> QUndoStack | None:
        return self._stack() if self._stack is not None else None

    @stack.setter
    def stack(self, stack: QUndoStack | None) -> None:
        self._stack = weakref.ref(stack) if stack is not None else None

    @property
    def runner(self) -> EditRunner | None:
        return self._runner() if self._runner is not None else None

    @runner.setter
    def runner(self, runner: EditRunner | None) -> None:
        self._runner = weakref.ref(runner) if runner is not None else None

    # Subclasses: both run on the edit thread with the global lockable held.
    def forward(self, server: Server) -> None:
        raise NotImplementedError

    def backward(self, server: Server) -> None:
        raise NotImplementedError

    def path_after(self, forward: bool) -> Path | None:
        """Where the edited row is after ``forward``/``backward``, when that is not where it was."""
        return None

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        if not self._silent:
            self.start(forward=True)

    def undo(self) -> None:
        if not self._silent:
            self.start(forward=False)

    def start(self, *, forward: bool, on_applied: Callable[[], None] | None = None) -> EditHandle[Any]:
        step = self.forward if forward else self.backward

        def run(server: Server) -> None:
            # Runs serially on the edit thread: an undo queued behind a redo still in flight sees
            # whether that redo really happened, and does nothing if it did not.
            if self.server is not None and server is not self.server:
                raise EditError("this edit belongs to a server that is no longer shown")
            if self._engine_applied == forward:
                return
            step(server)
            self._engine_applied = forward

        handle = self.bridge.run_edit(run, on_waiting=self._on_waiting)
        self.handles.append(handle)
        runner = self.runner
        if runner is not None:
            runner.in_flight[self] = None
        handle.when_done(lambda fut: self._done(handle, fut, forward, on_applied))
        return handle

    def _on_waiting(self, who: str) -> None:
        if self.feedback is not None and any(not h.done() for h in self.handles):
            self.feedback.waiting.emit(self.path, f"waiting for lock — {who}")

    def _done(
        self, handle: EditHandle[Any], fut: Future[Any], forward: bool, on_applied: Callable[[], None] | None
    ) -> None:
        if handle in self.handles:
            self.handles.remove(handle)
        runner = self.runner
        if runner is not None and not self.handles:
            runner.in_flight.pop(self, None)
        fb = self.feedback
        if fb is not None:
            fb.settled.emit(self.path)
        if fut.cancelled():
            self._realign(forward)
            if fb is not None:
                fb.failed.emit(f"Cancelled: {self.text()} (nothing changed)")
            return
        err = fut.exception()
        if err is not None:
            self._realign(forward)
            message = describe_error(err)
            log.info("edit refused: %s: %s", self.text(), message)
            if fb is not None:
                fb.failed.emit(f"{self.text()}: {message}")
            return
        self.applied = forward
        verb = "Undone" if not forward else "Redone" if self._done_once else "Done"
        self._done_once = self._done_once or forward
        if on_applied is not None:
            on_applied()
        if fb is not None:
            fb.applied.emit(self.text())
            fb.applied_as.emit(verb, self.text())
            moved = self.path_after(forward)
            if moved is not None:
                fb.row_moved.emit(moved)

    def _realign(self, forward: bool) -> None:
        """An undo/redo the stack already counted did not happen: move the stack's index back."""
        stack = self.stack
        if stack is None:
            return
        try:
            idx = stack.index()
            self._silent = True
            if forward and idx > 0 and stack.command(idx - 1) is self:
                stack.undo()
            elif not forward and idx < stack.count() and stack.command(idx) is self:
                stack.redo()
        except RuntimeError:  # the stack was cleared meanwhile
            pass
        finally:
            self._silent = False

    def cancel(self) -> bool:
        """Cancel what still waits for the lock; True if anything was cancelled."""
        return any([h.cancel() for h in list(self.handles)])


class EditRunner(QObject):
    """Applies a command, then pushes it on the undo stack; ``cancel_waiting`` backs out of edits waiting for the lock."""

    def __init__(
        self, bridge: StateBridge, stack: QUndoStack, feedback: EditFeedback, parent: QObject | None = None
    ):
        super().__init__(parent)
        self.bridge = bridge
        self.stack = stack
        self.feedback = feedback
        self.in_flight: dict[EngineCommand, None] = {}
        self.submitted = 0

    def submit(self, cmd: EngineCommand) -> EditHandle[Any]:
        cmd.feedback = self.feedback
        cmd.runner = self
        cmd.stack = self.stack
        self.submitted += 1

        def push() -> None:
            cmd._skip_redo = True
            self.stack.push(cmd)

        return cmd.start(forward=True, on_applied=push)

    def waiting(self) -> list[EngineCommand]:
        return list(self.in_flight)

    def cancel_waiting(self) -> int:
        """Cancel every edit still waiting for the lock; returns how many were cancelled."""
        return sum(1 for cmd in list(self.in_flight) if cmd.cancel())


class ReplaceStateCommand(EngineCommand):
    """Load ``after`` into the state (replace, or merge per key); undo restores ``before``.

    Args:
        before: the state before, ``{name: (value, scope)}``: the whole state for a replace; for a
            merge, at least the entries ``after`` overwrites (an entry of ``after`` missing from
            ``before`` is removed on undo).
        after: what to load.
        merge: upsert per key (True) or replace the whole state (False).
    """

    def __init__(
        self,
        bridge: StateBridge,
        before: Entries,
        after: Entries,
        merge: bool,
        text: str,
        *,
        feedback: EditFeedback | None = None,
    ) -> None:
        super().__init__(bridge, text, None, feedback)
        self.before = before
        self.after = after
        self.merge = merge

    def forward(self, server: Server) -> None:
        server.state.load_entries(_copy_entries(self.after), merge=self.merge)

    def backward(self, server: Server) -> None:
        state = server.state
        if not self.merge:
            state.load_entries(_copy_entries(self.before), merge=False)
            return
        before = {fold(name): (name, item) for name, item in self.before.items()}
        restore: Entries = {}
        for name in self.after:
            found = before.get(fold(name))
            if found is not None:
                restore[found[0]] = found[1]
            elif state.test(name):
                state.remove(name)
        if restore:
            state.load_entries(_copy_entries(restore), merge=True)


def _copy_entries(entries: Entries) -> Entries:
    # The engine stores values by reference; our copies must stay as they were for the next undo/redo.
    return {name: (copy.deepcopy(value), list(scope)) for name, (value, scope) in entries.items()}
