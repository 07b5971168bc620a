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

from desktop_app.engine.diff import format_path
from desktop_app.engine.state import EntryInfo, SharedState
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


def describe_error(err: BaseException) -> str:
    if isinstance(err, EditError):
        return str(err)
    if isinstance(err, KeyError):
        return f"{err.args[0] if err.args else err} no longer exists"
    return f"{type(err).__name__}: {err}" if not isinstance(err, ValueError) else str(err)


# -- engine-side helpers (run on the "gui-edit" thread, with the global lockable held) ---------------


def _entry(state: SharedState, name: str) -> EntryInfo:
    info = state.entry(name)
    if info is None:
        raise EditError(f"the entry “{name}” no longer exists")
    return info


def _container(state: SharedState, path: Path) -> tuple[EntryInfo, Any, Any]:
    """(the entry, the live container holding ``path[-1]``, that key) for a nested path."""
    info = _entry(state, path[0])
    node = info.value
    for depth, key in enumerate(path[1:-1], 1):
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            raise EditError(f"{format_path(path[: depth + 1])} no longer exists") from None
    if not isinstance(node, dict | list):
        raise EditError(f"{format_path(path[:-1])} is a {type(node).__name__}, which cannot change in place")
    return info, node, path[-1]


def _check_key(container: Any, key: Any, path: Path) -> None:
    if isinstance(container, dict):
        if key not in container:
            raise EditError(f"{format_path(path)} no longer exists")
    elif not (isinstance(key, int) and 0 <= key < len(container)):
        raise EditError(f"{format_path(path)} no longer exists (the list has {len(container)} items)")


def _reorder_insert(d: dict[Any, Any], position: int, key: Any, value: Any) -> None:
    """Insert ``key`` at ``position`` in the live dict itself (its identity is what workers hold)."""
    items = list(d.items())
    items.insert(min(position, len(items)), (key, value))
    d.clear()
    d.update(items)


def _rename_key(d: dict[Any, Any], old: Any, new: Any) -> None:
    items = [(new if k == old else k, v) for k, v in d.items()]
    d.clear()
    d.update(items)


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
        if on_applied is not None:
            on_applied()
        if fb is not None:
            fb.applied.emit(self.text())

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


class SetValueCommand(EngineCommand):
    """Set an entry's value (keeping its scope) or a nested key/index (in place, then ``touch``)."""

    def __init__(
        self, bridge: StateBridge, path: Path, value: Any, text: str | None = None, **kw: Any
    ) -> None:
        super().__init__(bridge, text or f"Set {format_path(path)} to {_short(value)}", path, **kw)
        self.value = copy.deepcopy(value)
        self.old: Any = None

    def forward(self, server: Server) -> None:
        state = server.state
        if len(self.path) == 1:
            info = _entry(state, self.path[0])
            self.old = copy.deepcopy(info.value)
            state.set(info.name, copy.deepcopy(self.value), list(info.scope))
            return
        info, container, key = _container(state, self.path)
        _check_key(container, key, self.path)
        self.old = copy.deepcopy(container[key])
        container[key] = copy.deepcopy(self.value)
        state.touch(info.name)

    def backward(self, server: Server) -> None:
        state = server.state
        if len(self.path) == 1:
            info = _entry(state, self.path[0])
            state.set(info.name, copy.deepcopy(self.old), list(info.scope))
            return
        info, container, key = _container(state, self.path)
        _check_key(container, key, self.path)
        container[key] = copy.deepcopy(self.old)
        state.touch(info.name)


class RenameCommand(EngineCommand):
    """Rename an entry (``state.rename``: value and scope kept, one step) or a dict key (order kept)."""

    def __init__(self, bridge: StateBridge, path: Path, new_key: str, **kw: Any) -> None:
        super().__init__(bridge, f"Rename {format_path(path)} to “{new_key}”", path, **kw)
        self.old_key = path[-1]
        self.new_key = new_key

    def forward(self, server: Server) -> None:
        self._rename(server, self.path, self.old_key, self.new_key)

    def backward(self, server: Server) -> None:
        self._rename(server, (*self.path[:-1], self.new_key), self.new_key, self.old_key)

    @staticmethod
    def _rename(server: Server, path: Path, old: Any, new: Any) -> None:
        state = server.state
        if not isinstance(new, str) or not new:
            raise EditError("a name cannot be empty")
        if len(path) == 1:
            state.rename(_entry(state, old).name, new)
            return
        info, container, key = _container(state, path)
        if not isinstance(container, dict):
            raise EditError("only dict keys and entries can be renamed")
        _check_key(container, key, path)
        if new != old and new in container:
            raise EditError(f"the key “{new}” already exists in {format_path(path[:-1])}")
        _rename_key(container, old, new)
        state.touch(info.name)


class RemoveCommand(EngineCommand):
    """Remove an entry, a dict key or a list item; undo puts back the same value where it was."""

    def __init__(self, bridge: StateBridge, path: Path, **kw: Any) -> None:
        super().__init__(bridge, f"Remove {format_path(path)}", path, **kw)
        self.old: Any = None
        self.scope: list[str] = []
        self.position = 0

    def forward(self, server: Server) -> None:
        state = server.state
        if len(self.path) == 1:
            info = _entry(state, self.path[0])
            self.old, self.scope = copy.deepcopy(info.value), list(info.scope)
            state.remove(info.name)
            return
        info, container, key = _container(state, self.path)
        _check_key(container, key, self.path)
        if isinstance(container, dict):
            self.position = list(container).index(key)
            self.old = copy.deepcopy(container.pop(key))
        else:
            self.old = copy.deepcopy(container.pop(key))
        state.touch(info.name)

    def backward(self, server: Server) -> None:
        state = server.state
        if len(self.path) == 1:
            name = self.path[0]
            if state.test(name):
                raise EditError(f"an entry named “{name}” exists again; rename or remove it first")
            state.set(name, copy.deepcopy(self.old), self.scope)
            return
        info, container, key = _container(state, self.path)
        if isinstance(container, dict):
            if key in container:
                raise EditError(f"{format_path(self.path)} exists again")
            _reorder_insert(container, self.position, key, copy.deepcopy(self.old))
        else:
            if key > len(container):
                raise EditError(f"{format_path(self.path[:-1])} has only {len(container)} items now")
            container.insert(key, copy.deepcopy(self.old))
        state.touch(info.name)


class AddEntryCommand(EngineCommand):
    """Add a new entry; a name already taken (case-insensitively) is refused."""

    def __init__(self, bridge: StateBridge, name: str, value: Any, scope: list[str], **kw: Any) -> None:
        super().__init__(bridge, f"Add entry “{name}”", (name,), **kw)
        self.name = name
        self.value = copy.deepcopy(value)
        self.scope = list(scope)

    def forward(self, server: Server) -> None:
        state = server.state
        if not self.name:
            raise EditError("a name cannot be empty")
        if state.test(self.name):
            raise EditError(f"an entry named “{_entry(state, self.name).name}” already exists")
        state.set(self.name, copy.deepcopy(self.value), self.scope)

    def backward(self, server: Server) -> None:
        server.state.remove(_entry(server.state, self.name).name)


class AddChildCommand(EngineCommand):
    """Add a key to a dict (a key already there is refused) or append an item to a list."""

    def __init__(self, bridge: StateBridge, parent_path: Path, key: Any, value: Any, **kw: Any) -> None:
        where = format_path(parent_path)
        text = f"Add {where}[“{key}”]" if key is not None else f"Append to {where}"
        super().__init__(bridge, text, parent_path, **kw)
        self.parent_path = parent_path
        self.key = key
        self.value = copy.deepcopy(value)
        self.index = -1

    def _target(self, state: SharedState) -> tuple[EntryInfo, Any]:
        if len(self.parent_path) == 1:
            info = _entry(state, self.parent_path[0])
            return info, info.value
        info, container, key = _container(state, self.parent_path)
        _check_key(container, key, self.parent_path)
        return info, container[key]

    def forward(self, server: Server) -> None:
        state = server.state
        info, target = self._target(state)
        if isinstance(target, dict):
            if self.key is None or self.key == "":
                raise EditError("a key cannot be empty")
            if self.key in target:
                raise EditError(f"the key “{self.key}” already exists in {format_path(self.parent_path)}")
            target[self.key] = copy.deepcopy(self.value)
        elif isinstance(target, list):
            self.index = len(target)
            target.append(copy.deepcopy(self.value))
        else:
            raise EditError(
                f"{format_path(self.parent_path)} is a {type(target).__name__}: children can only be added to a dict or a list"
            )
        state.touch(info.name)

    def backward(self, server: Server) -> None:
        state = server.state
        info, target = self._target(state)
        if isinstance(target, dict):
            if self.key not in target:
                raise EditError(f"the key “{self.key}” is gone already")
            del target[self.key]
        elif isinstance(target, list):
            if self.index >= len(target):
                raise EditError(f"{format_path(self.parent_path)} has only {len(target)} items now")
            del target[self.index]
        state.touch(info.name)


class SetScopeCommand(EngineCommand):
    """Replace a top-level entry's scopes (its value is kept)."""

    def __init__(self, bridge: StateBridge, name: str, scope: list[str], **kw: Any) -> None:
        shown = ", ".join(scope) if scope else "none"
        super().__init__(bridge, f"Set scopes of “{name}” to {shown}", (name,), **kw)
        self.name = name
        self.scope = list(scope)
        self.old: list[str] = []

    def forward(self, server: Server) -> None:
        info = _entry(server.state, self.name)
        self.old = list(info.scope)
        server.state.set_scope(info.name, self.scope)

    def backward(self, server: Server) -> None:
        server.state.set_scope(_entry(server.state, self.name).name, self.old)


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
