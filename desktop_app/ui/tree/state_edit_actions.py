"""The tree's edit actions: add, add child, rename, remove, edit as JSON, change type, scopes, copy value/path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDialog

from desktop_app.engine.diff import format_path, quote_name
from desktop_app.ui.bridge.edit_commands import EngineCommand
from desktop_app.ui.bridge.entry_commands import (
    AddChildCommand,
    AddEntryCommand,
    RemoveCommand,
    RenameCommand,
    SetScopeCommand,
    SetValueCommand,
)
from desktop_app.ui.bridge.entry_snapshot import Opaque, Pending, fold
from desktop_app.ui.common.value_text import to_json_text, type_name
from desktop_app.ui.tree.add_entry_dialog import AddEntryDialog, ChangeTypeDialog, ScopeDialog
from desktop_app.ui.tree.json_dialog import JsonEditDialog
from desktop_app.ui.tree.state_model import NAME, VALUE, Node, editable_kind, renamable

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from desktop_app.ui.bridge.edit_commands import EditRunner
    from desktop_app.ui.bridge.state_bridge import Bridge
    from desktop_app.ui.tree.state_model import StateModel


class EditHost(Protocol):
    """What the actions need of the view they serve (the view implements it; neither imports the other)."""

    bridge: Bridge
    runner: EditRunner
    model: StateModel
    active_dialog: QWidget | None

    def widget(self) -> QWidget: ...
    def selected_node(self) -> Node | None: ...
    def edit_cell(self, node: Node, column: int) -> None: ...
    def show_filter(self) -> None: ...
    def show_message(self, text: str, *, error: bool = False, timeout: int = ...) -> None: ...


def _copyable(node: Node) -> bool:
    return type(node.value) is not Pending


class StateEditActions(QObject):
    """Owns the QActions of the Edit menu and what they do; the view asks it to act on the selected node."""

    def __init__(self, view: EditHost) -> None:
        super().__init__(view.widget())
        self.view = view

        def make(text: str, slot: Any, shortcut: str | None = None, tip: str = "") -> QAction:
            act = QAction(text, view.widget())
            act.setObjectName(text.rstrip("…").lower().replace(" ", "_"))
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
                # Only while the tree has focus: other docks keep their own Ctrl+C, Del…
                act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.setStatusTip(tip)
            act.setToolTip(f"{tip} ({shortcut})" if shortcut and tip else tip)
            act.triggered.connect(lambda _checked=False: slot())
            view.widget().addAction(act)
            return act

        self.add_entry = make("Add entry…", self.add_entry_dialog, "Ins", "Add a new top-level entry")
        self.add_child = make(
            "Add child…", self.add_child_dialog, "Alt+Ins", "Add a key to a dict or an item to a list"
        )
        self.rename = make(
            "Rename", self.start_rename, None, "Rename the entry or dict key (F2 on the Name column)"
        )
        self.remove = make(
            "Remove", self.remove_selected, "Del", "Remove the entry, key or list item (undoable)"
        )
        self.edit_json = make(
            "Edit as JSON…", self.edit_as_json, "Ctrl+J", "Edit a dict or list (or any value) as JSON text"
        )
        self.change_type = make(
            "Change type…", self.change_type_dialog, None, "Store the value as another type"
        )
        self.edit_scopes = make(
            "Edit scopes…", self.edit_scopes_dialog, None, "Change a top-level entry's scopes"
        )
        self.copy_value = make("Copy value", self.copy_selected_value, "Ctrl+C", "Copy the value as JSON")
        self.copy_path = make(
            "Copy path", self.copy_selected_path, "Ctrl+Shift+C", 'Copy the path, e.g. hash["values"][3]'
        )
        self.find = make("Find…", view.show_filter, "Ctrl+F", "Filter by name, path or value text")

    def actions(self) -> list[QAction]:
        return [
            self.add_entry,
            self.add_child,
            self.rename,
            self.remove,
            self.edit_json,
            self.change_type,
            self.edit_scopes,
            self.copy_value,
            self.copy_path,
            self.find,
        ]

    def update_enabled(self, node: Node | None) -> None:
        has_server = self.view.bridge.server is not None
        container = node is not None and isinstance(node.value, dict | list)
        parent_container = (
            node is not None and node.parent is not None and isinstance(node.parent.value, dict | list)
        )
        settled = node is not None and node.status is None and type(node.value) is not Pending
        self.add_entry.setEnabled(has_server)
        self.add_child.setEnabled(has_server and settled and (container or parent_container))
        self.rename.setEnabled(has_server and node is not None and renamable(node))
        self.remove.setEnabled(has_server and settled and (node.is_top or parent_container))  # type: ignore[union-attr]
        self.edit_json.setEnabled(has_server and settled and (node.is_top or parent_container))  # type: ignore[union-attr]
        self.change_type.setEnabled(self.edit_json.isEnabled())
        self.edit_scopes.setEnabled(has_server and node is not None and node.is_top and node.status is None)
        self.copy_value.setEnabled(node is not None and _copyable(node))
        self.copy_path.setEnabled(node is not None)

    # -- actions ----------------------------------------------------------------------------------------

    def _submit(self, cmd: EngineCommand) -> None:
        self.view.runner.submit(cmd)

    def _open(self, dialog: QDialog, on_accept: Any) -> None:
        self.view.active_dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(on_accept)
        dialog.finished.connect(lambda _r: self._closed(dialog))
        dialog.open()

    def _closed(self, dialog: QDialog) -> None:
        if self.view.active_dialog is dialog:
            self.view.active_dialog = None

    def add_entry_dialog(self) -> None:
        if self.view.bridge.server is None:
            self.view.show_message("No server: load a server script first.", error=True)
            return
        dialog = AddEntryDialog("Add entry", self.view.model.has_entry, self.view)

        def done() -> None:
            name, value, scopes = dialog.result_entry()
            assert name is not None
            self._submit(AddEntryCommand(self.view.bridge, name, value, scopes))

        self._open(dialog, done)

    def add_child_dialog(self) -> None:
        node = self.view.selected_node()
        if node is None:
            return
        target = node if isinstance(node.value, dict | list) else node.parent
        if target is None or target.parent is None or not isinstance(target.value, dict | list):
            self.view.show_message("Children can only be added to a dict or a list.", error=True)
            return
        path = target.path()
        frozen = target.value
        if isinstance(frozen, dict):
            dialog = AddEntryDialog(
                f"Add a key to {format_path(path)}",
                lambda k: k in frozen,
                self.view,
                key_label="Key",
                with_scope=False,
            )
        else:
            dialog = AddEntryDialog(
                f"Append to {format_path(path)}",
                lambda _k: False,
                self.view,
                key_label=None,
                with_scope=False,
            )

        def done() -> None:
            key, value, _scopes = dialog.result_entry()
            self._submit(AddChildCommand(self.view.bridge, path, key, value))

        self._open(dialog, done)

    def start_rename(self) -> None:
        node = self.view.selected_node()
        if node is not None and renamable(node):
            self.view.edit_cell(node, NAME)

    def check_name(self, node: Node, text: str) -> str | None:
        """Why ``text`` cannot be ``node``'s new name (duplicate…), or None."""
        if not text.strip():
            return "A name cannot be empty."
        if node.is_top:
            if fold(text) != fold(str(node.key)) and self.view.model.has_entry(text):
                return f"An entry named {quote_name(text)} already exists: choose another name."
            return None
        parent_value = node.parent.value if node.parent is not None else None
        if isinstance(parent_value, dict) and text != node.key and text in parent_value:
            return f"{format_path((*node.parent.path(), text))} already exists: choose another key."  # type: ignore[union-attr]
        return None

    def commit_name(self, node: Node, text: str) -> None:
        problem = self.check_name(node, text)
        if problem:
            self.view.show_message(problem, error=True)
            return
        if text != node.key:
            self._submit(RenameCommand(self.view.bridge, node.path(), text))

    def commit_value(self, node: Node, value: Any) -> None:
        kind = editable_kind(node)
        if kind is None:
            return
        self._submit(SetValueCommand(self.view.bridge, node.path(), value))

    def remove_selected(self) -> None:
        node = self.view.selected_node()
        if node is None or node.status is not None:
            return
        if not (node.is_top or (node.parent is not None and isinstance(node.parent.value, dict | list))):
            self.view.show_message("Tuple items and set members cannot be removed one by one.", error=True)
            return
        self._submit(RemoveCommand(self.view.bridge, node.path()))

    def edit_as_json(self) -> None:
        node = self.view.selected_node()
        if node is None:
            return
        if type(node.value) is Pending or node.status is not None:
            self.view.show_message(
                "This value is not copied yet (the global lock is busy); try again shortly.", error=True
            )
            return
        if type(node.value) is Opaque:
            self.view.show_message(
                f"A {node.value.type_name} is not data: it cannot be edited as JSON.", error=True
            )
            return
        path = node.path()
        dialog = JsonEditDialog(f"Edit {format_path(path)} as JSON", node.value, self.view)

        def done() -> None:
            self._submit(
                SetValueCommand(self.view.bridge, path, dialog.value(), f"Edit {format_path(path)} as JSON")
            )

        self._open(dialog, done)

    def change_type_dialog(self) -> None:
        node = self.view.selected_node()
        if node is None or type(node.value) is Pending:
            return
        path = node.path()
        dialog = ChangeTypeDialog(format_path(path), node.value, self.view)

        def done() -> None:
            value = dialog.new_value()
            text = f"Change type of {format_path(path)} to {type_name(value)}"
            self._submit(SetValueCommand(self.view.bridge, path, value, text))

        self._open(dialog, done)

    def edit_scopes_dialog(self) -> None:
        node = self.view.selected_node()
        if node is None or not node.is_top or node.entry is None:
            return
        name = str(node.key)
        dialog = ScopeDialog(name, node.entry.scope, self.view)

        def done() -> None:
            self._submit(SetScopeCommand(self.view.bridge, name, dialog.scopes()))

        self._open(dialog, done)

    def copy_selected_value(self) -> None:
        node = self.view.selected_node()
        if node is None:
            return
        if not _copyable(node):
            self.view.show_message("This value is not copied yet (the global lock is busy).", error=True)
            return
        QGuiApplication.clipboard().setText(to_json_text(node.value))
        self.view.show_message(f"Copied the value of {format_path(node.path())} as JSON.")

    def copy_selected_path(self) -> None:
        node = self.view.selected_node()
        if node is None:
            return
        QGuiApplication.clipboard().setText(format_path(node.path()))
        self.view.show_message(f"Copied the path {format_path(node.path())}.")

    def edit_value(self, node: Node) -> None:
        """F2 anywhere on a row: the value's in-place editor, or the JSON dialog for containers."""
        if editable_kind(node) is not None:
            self.view.edit_cell(node, VALUE)
        elif isinstance(node.value, dict | list | tuple | frozenset) or node.value is None:
            if node.is_top or (node.parent is not None and isinstance(node.parent.value, dict | list)):
                self.edit_as_json()
