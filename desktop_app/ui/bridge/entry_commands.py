"""Undoable edits of one entry or key (set, rename, remove, add entry/child, scopes), run as ``EngineCommand``s."""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

from desktop_app.engine.diff import format_path, quote_name
from desktop_app.engine.state import EntryInfo, SharedState
from desktop_app.ui.bridge.edit_commands import EditError, EngineCommand

if TYPE_CHECKING:
    from desktop_app.engine.server import Server
    from desktop_app.ui.bridge.state_bridge import StateBridge

Path = tuple[Any, ...]

# -- engine-side helpers (run on the "gui-edit" thread, with the global lockable held) ---------------


def _entry(state: SharedState, name: str) -> EntryInfo:
    info = state.entry(name)
    if info is None:
        raise EditError(f"{format_path((name,))} no longer exists")
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
    """JSON, as the tree shows values (the tree passes its own text; this is the fallback)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
        super().__init__(bridge, f"Rename {format_path(path)} to {quote_name(new_key)}", path, **kw)
        self.old_key = path[-1]
        self.new_key = new_key

    def forward(self, server: Server) -> None:
        self._rename(server, self.path, self.old_key, self.new_key)

    def path_after(self, forward: bool) -> Path | None:
        return (*self.path[:-1], self.new_key) if forward else self.path

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
            raise EditError(f"{format_path((*path[:-1], new))} already exists")
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
                raise EditError(f"an entry named {quote_name(name)} exists again; rename or remove it first")
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
        super().__init__(bridge, f"Add entry {quote_name(name)}", (name,), **kw)
        self.name = name
        self.value = copy.deepcopy(value)
        self.scope = list(scope)

    def forward(self, server: Server) -> None:
        state = server.state
        if not self.name:
            raise EditError("a name cannot be empty")
        if state.test(self.name):
            raise EditError(f"an entry named {quote_name(_entry(state, self.name).name)} already exists")
        state.set(self.name, copy.deepcopy(self.value), self.scope)

    def backward(self, server: Server) -> None:
        server.state.remove(_entry(server.state, self.name).name)


class AddChildCommand(EngineCommand):
    """Add a key to a dict (a key already there is refused) or append an item to a list."""

    def __init__(self, bridge: StateBridge, parent_path: Path, key: Any, value: Any, **kw: Any) -> None:
        where = format_path(parent_path)
        text = f"Add {format_path((*parent_path, key))}" if key is not None else f"Append to {where}"
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
                raise EditError(f"{format_path((*self.parent_path, self.key))} already exists")
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
                raise EditError(f"{format_path((*self.parent_path, self.key))} is gone already")
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
        super().__init__(bridge, f"Set scopes of {format_path((name,))} to {shown}", (name,), **kw)
        self.name = name
        self.scope = list(scope)
        self.old: list[str] = []

    def forward(self, server: Server) -> None:
        info = _entry(server.state, self.name)
        self.old = list(info.scope)
        server.state.set_scope(info.name, self.scope)

    def backward(self, server: Server) -> None:
        server.state.set_scope(_entry(server.state, self.name).name, self.old)
