"""Dialogs that create or reshape entries: add an entry or a child, edit scopes, change a value's type."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop_app.engine.diff import format_path, quote_name
from desktop_app.ui.common.value_text import to_json_text, type_name
from desktop_app.ui.tree.json_dialog import (
    ENTER_HINT,
    JsonCheck,
    JsonInputError,
    add_error_and_buttons,
    make_hint_label,
    make_json_editor,
    parse_json,
    show_json_error,
)


def parse_scopes(text: str) -> list[str]:
    """``"a, b ,,c"`` -> ``["a", "b", "c"]``."""
    return [s.strip() for s in text.split(",") if s.strip()]


class AddEntryDialog(QDialog):
    """Name (or key), value as JSON, scopes. Refuses an empty or taken name and bad JSON, inline.

    Args:
        taken: ``fn(name) -> bool``: the name is already used (the check the engine repeats).
        key_label: "Name" for an entry, "Key" for a dict child; None for a list item (no name).
        with_scope: show the scopes field (entries only).
    """

    def __init__(
        self,
        title: str,
        taken: Callable[[str], bool],
        parent: QWidget | None = None,
        *,
        key_label: str | None = "Name",
        with_scope: bool = True,
        value_text: str = "null",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("add_entry_dialog")
        self.setWindowTitle(title)
        self.resize(480, 340)
        self._taken = taken
        self._result: tuple[str | None, Any, list[str]] | None = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name_edit: QLineEdit | None = None
        if key_label is not None:
            self.name_edit = QLineEdit(self)
            self.name_edit.setObjectName("name_edit")
            self.name_edit.setPlaceholderText("not empty, not taken")
            form.addRow(f"{key_label}:", self.name_edit)
        self.value_edit = make_json_editor(self, value_text, select_on_focus=True)
        self.value_edit.setToolTip(
            'JSON: 42, 1.5, "text", true, null, [1, 2], {"key": "value"}. Ctrl+Enter accepts.'
        )
        self.value_edit.setPlaceholderText('JSON, e.g. 42, "text", true, [1, 2], {"key": "value"}')
        form.addRow("Value (JSON):", self.value_edit)
        # Enter in the value box is a newline (JSON spans lines): say which key accepts.
        self.hint_label = make_hint_label(self, ENTER_HINT)
        form.addRow("", self.hint_label)
        self.scope_edit: QLineEdit | None = None
        if with_scope:
            self.scope_edit = QLineEdit(self)
            self.scope_edit.setObjectName("scope_edit")
            self.scope_edit.setPlaceholderText("comma-separated, e.g. users, cache")
            form.addRow("Scopes:", self.scope_edit)
        layout.addLayout(form, 1)
        self.error_label = add_error_and_buttons(self, layout)
        self.json_check = JsonCheck(self.value_edit, self.error_label)
        if self.name_edit is not None:
            self.name_edit.textChanged.connect(self._name_changed)

    def _refuse(self, message: str, widget: QWidget) -> None:
        self.error_label.setText(f"⚠ {message}")
        self.error_label.setProperty("source", "name")
        self.error_label.setVisible(True)
        widget.setFocus()

    def _name_changed(self, _text: str) -> None:
        # A refused name's message goes once the name is edited; OK checks it again.
        if self.error_label.property("source") == "name":
            self.error_label.setVisible(False)
            self.error_label.setProperty("source", None)

    def accept(self) -> None:
        name: str | None = None
        if self.name_edit is not None:
            name = self.name_edit.text()
            if not name.strip():
                self._refuse("The name cannot be empty.", self.name_edit)
                return
            if self._taken(name):
                self._refuse(f"{quote_name(name)} is already taken: choose another name.", self.name_edit)
                return
        if not self.json_check.check(move=True):
            return
        value = self.json_check.value
        scopes = parse_scopes(self.scope_edit.text()) if self.scope_edit is not None else []
        self._result = (name, value, scopes)
        super().accept()

    def done(self, result: int) -> None:
        self.json_check.stop()
        super().done(result)

    def result_entry(self) -> tuple[str | None, Any, list[str]]:
        """(name or None, value, scopes) after the dialog was accepted."""
        assert self._result is not None
        return self._result


class ScopeDialog(QDialog):
    """Edit a top-level entry's scopes as a comma-separated list."""

    def __init__(self, name: str, scopes: list[str] | tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scope_dialog")
        self.setWindowTitle(f"Scopes of {format_path((name,))}")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Scopes (comma-separated; empty for none):", self))
        self.scope_edit = QLineEdit(", ".join(scopes), self)
        self.scope_edit.setObjectName("scope_edit")
        layout.addWidget(self.scope_edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, parent=self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def scopes(self) -> list[str]:
        return parse_scopes(self.scope_edit.text())


TYPE_CHOICES = ("str", "int", "float", "bool", "None", "list", "dict")


def convert(value: Any, target: str) -> tuple[Any, str | None]:
    """``value`` turned into ``target`` where that is obvious; (suggestion, None) or (None, why not)."""
    try:
        if target == "str":
            return (
                value
                if isinstance(value, str)
                else json.dumps(value)
                if isinstance(value, dict | list)
                else str(value)
            ), None
        if target == "int":
            if isinstance(value, bool):
                return int(value), None
            if isinstance(value, float) and value.is_integer():
                return int(value), None
            return int(str(value).strip()), None
        if target == "float":
            return float(str(value).strip()) if not isinstance(value, bool) else float(value), None
        if target == "bool":
            if isinstance(value, str):
                return value.strip().lower() in ("true", "1", "yes", "on"), None
            return bool(value), None
        if target == "None":
            return None, None
        if target == "list":
            if isinstance(value, list | tuple | set | frozenset):
                return list(value), None
            if isinstance(value, dict):
                return list(value.items()), None
            return [value], None
        if target == "dict":
            if isinstance(value, dict):
                return dict(value), None
            return {}, None
    except (TypeError, ValueError):
        return None, f"{type_name(value)} {value!r} has no obvious {target}: type the new value"
    return None, f"unknown type {target}"


class ChangeTypeDialog(QDialog):
    """The explicit "Change type…" action: pick a type, check (or type) the converted value as JSON."""

    def __init__(self, path_text: str, value: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("change_type_dialog")
        self.setWindowTitle(f"Change type of {path_text}")
        self.resize(460, 300)
        self._value = value
        self._result: Any = None
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(f"Now: {type_name(value)}. Choose the new type; the value is converted as shown.", self)
        )
        self.type_combo = QComboBox(self)
        self.type_combo.setObjectName("type_combo")
        self.type_combo.addItems(list(TYPE_CHOICES))
        layout.addWidget(self.type_combo)
        self.value_edit = make_json_editor(self, "")
        layout.addWidget(self.value_edit, 1)
        self.error_label = add_error_and_buttons(self, layout)
        self.type_combo.currentTextChanged.connect(self._suggest)
        current = type_name(value)
        self.type_combo.setCurrentIndex(1 if current == "str" else 0)
        self._suggest(self.type_combo.currentText())

    def _suggest(self, target: str) -> None:
        suggestion, problem = convert(self._value, target)
        if problem is not None:
            self.value_edit.setPlainText("")
            self.error_label.setText(f"⚠ {problem}")
            self.error_label.setVisible(True)
            return
        self.error_label.setVisible(False)
        self.value_edit.setPlainText(
            to_json_text(suggestion, indent=2 if target in ("list", "dict") else None)
        )

    def accept(self) -> None:
        target = self.type_combo.currentText()
        try:
            value = parse_json(self.value_edit.toPlainText())
        except JsonInputError as err:
            show_json_error(self.value_edit, self.error_label, err, move=True)
            return
        ok = {
            "str": isinstance(value, str),
            "int": type(value) is int,
            "float": isinstance(value, int | float) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "None": value is None,
            "list": isinstance(value, list),
            "dict": isinstance(value, dict),
        }[target]
        if not ok:
            self.error_label.setText(f"⚠ That JSON is a {type_name(value)}, not a {target}.")
            self.error_label.setVisible(True)
            return
        self._result = float(value) if target == "float" else value
        super().accept()

    def new_value(self) -> Any:
        return self._result
